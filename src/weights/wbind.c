/* Binding a weight file's entries to a net's tensor names, for the formats
 * whose own names cannot match (see ax_wfile_bind). Dispatch only: each
 * format's mapping lives beside its reader. */
#include "alexscope/weights.h"
#include "wfile_internal.h"
#include "caffe.h"

#include <string.h>

ax_status ax_wfile_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                        ax_error *err)
{
    if (f->format && !strcmp(f->format, "darknet"))
        return ax_darknet_bind(f, net, notes, notes_size, err);
    if (f->format && !strncmp(f->format, "torch-", 6))
        return ax_torch_bind(f, net, notes, notes_size, err);
    if (f->format && !strcmp(f->format, "caffemodel"))
        return ax_caffe_bind(f, net, notes, notes_size, err);
    if (f->format && !strcmp(f->format, "keras-h5"))
        return ax_keras_bind(f, net, notes, notes_size, err);
    return AX_OK;
}
