/* Tensor views: shape bookkeeping only; tensors never own memory. */
#include "alexscope/tensor.h"

#include <stdio.h>
#include <string.h>

size_t ax_tensor_numel(const ax_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    return t->ndim ? n : 0;
}

void ax_tensor_set(ax_tensor *t, const char *name, int ndim, int d0, int d1, int d2, int d3)
{
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    int d[4] = {d0, d1, d2, d3};
    for (int i = 0; i < 4; i++) t->shape[i] = i < ndim ? d[i] : 1;
}

char *ax_shape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
    if (!size) return buf;
    size_t len = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < size) snprintf(buf + len, size - len, ")");
    return buf;
}

char *ax_tensor_shape_str(const ax_tensor *t, char *buf, size_t size)
{
    int64_t d[4];
    for (int i = 0; i < t->ndim && i < 4; i++) d[i] = t->shape[i];
    return ax_shape_str(buf, size, t->ndim < 4 ? t->ndim : 4, d);
}

void ax_tensor_nchw(const ax_tensor *t, int *n, int *c, int *h, int *w)
{
    *n = t->ndim > 0 ? t->shape[0] : 1;
    *c = t->ndim > 1 ? t->shape[1] : 1;
    *h = t->ndim > 2 ? t->shape[2] : 1;
    *w = t->ndim > 3 ? t->shape[3] : 1;
}
