/* A reader of the plain HDF5 layout that h5py writes by default (libhdf5's
 * "earliest" file format): superblock version 0 or 1 at offset 0 with 8-byte
 * offsets and lengths, version-1 object headers (with continuation blocks),
 * groups kept as symbol tables (a version-1 B-tree of symbol-table nodes
 * over a local heap of names), attributes stored in the object header, and
 * contiguous datasets. It reads metadata only: a dataset is described by its
 * type, shape and the place of its bytes in the file.
 *
 * It is the fast path of the Keras reader (keras_h5.c), which falls back to
 * libhdf5 for anything this reader does not know. So every function answers
 * -1 both for a malformed file and for a layout outside the plain one (shared
 * or dense attributes, new-style link groups, soft links, filters, chunks,
 * compact or external storage, non-IEEE types, ...): the caller never has to
 * tell them apart. Every offset, length and count read from the file is
 * checked against the buffer before use; walks are bounded. Nothing here
 * allocates more than the file's size in total. */
#ifndef ALEXSCOPE_H5_PLAIN_H
#define ALEXSCOPE_H5_PLAIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct h5p_file h5p_file;

/* The address of an object header in the file. */
typedef uint64_t h5p_obj;

/* Opens buf (the whole file, which must outlive the handle): 0 and *out,
 * else -1 (not the plain layout, or malformed). */
int h5p_open(h5p_file **out, const void *buf, size_t size);
void h5p_close(h5p_file *f);
h5p_obj h5p_root(const h5p_file *f);

/* Follows a relative path of '/'-separated link names from group g: 1 with
 * *out when it names an object, 0 when some name on the way is absent (or an
 * object on the way is not a group), -1 otherwise. */
int h5p_find(h5p_file *f, h5p_obj g, const char *path, h5p_obj *out);

enum { H5P_GROUP = 1, H5P_DATASET = 2, H5P_OTHER = 3 };
/* What an object is: H5P_GROUP, H5P_DATASET, H5P_OTHER, or -1. */
int h5p_kind(h5p_file *f, h5p_obj o);

/* The names of group g's links, each malloc'd, in a malloc'd array (*names,
 * *n; free both): 0, else -1. The order is the file's. */
int h5p_children(h5p_file *f, h5p_obj g, char ***names, size_t *n);

/* A string attribute of object o (fixed-length strings, one or an array):
 * 1 with count malloc'd strings, each the raw bytes of its element up to the
 * first NUL, in a malloc'd array of count + 1 (the last NULL); 0 when o has
 * no attribute of that name; -1 otherwise (also when it is not a string). */
int h5p_attr_strings(h5p_file *f, h5p_obj o, const char *name, char ***out, size_t *count);

/* A dataset whose values lie in the file as they are: contiguous, no
 * filters, IEEE little-endian float32 or float64, every byte allocated. */
typedef struct {
    int ndim;
    uint64_t dims[32];
    int elem_size;        /* 4 or 8 */
    uint64_t offset;      /* of the first value in the file */
    uint64_t nbytes;      /* product of dims times elem_size, all inside the file */
} h5p_dataset;

/* Describes dataset d: 0, else -1 (not a dataset, or not stored as above). */
int h5p_dataset_info(h5p_file *f, h5p_obj d, h5p_dataset *out);

#endif
