/* libFuzzer harness: the label list parser on arbitrary bytes; every label
 * is read back through ax_label. */
#include <string.h>
#include "alexscope/image.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ax_labels l;
    ax_error err;
    if (ax_labels_parse(&l, (const char *)data, size, "fuzz.txt", &err) != AX_OK) return 0;
    size_t total = 0;
    for (int i = -1; i <= l.count; i++) total += strlen(ax_label(&l, i));
    ax_labels_free(&l);
    return total == 0;   /* keeps the loop */
}
