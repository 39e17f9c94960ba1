/* Darknet .weights: not read yet (placeholder so the binding dispatch links). */
#include "alexscope/weights.h"
#include "wfile_internal.h"

ax_status ax_darknet_bind(ax_wfile *f, const struct ax_net *net, char *notes, size_t notes_size,
                          ax_error *err)
{
    return ax_fail(err, AX_ERR_UNSUPPORTED, "%s: Darknet weights are not supported yet", f->path);
}
