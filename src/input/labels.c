/* Class label lists: a text file with one class name per line, line 1 being
 * class 0. Loading only; which list a net uses is the spec's business. */
#include "alexscope/image.h"
#include "alexscope/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/text.h"

static int is_trailing_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

ax_status ax_labels_load(ax_labels *l, const char *path, ax_error *err)
{
    l->count = 0;
    l->names = NULL;
    char *text;
    size_t len;
    ax_status st = ax_file_slurp(path, "label list", AX_LABELS_MAX_BYTES, &text, &len, err);
    if (st) return st;
    st = ax_labels_parse(l, text, len, path, err);
    free(text);
    return st;
}

ax_status ax_labels_parse(ax_labels *l, const char *text, size_t len, const char *path, ax_error *err)
{
    l->count = 0;
    l->names = NULL;
    if (len > AX_LABELS_MAX_BYTES)
        return ax_fail(err, AX_ERR_FORMAT, "%s: the label list is %zu bytes; at most %d MiB are read",
                       path, len, AX_LABELS_MAX_BYTES >> 20);
    size_t start = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) start = 3;   /* UTF-8 BOM */

    /* Count lines, then drop blank lines at the end (a final newline, an
     * editor's trailing blank line) so they do not become classes. */
    size_t nlines = 0, last_nonblank = 0;
    for (size_t i = start, line_start = start; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            if (i > line_start || i < len) {
                nlines++;
                size_t e = i;
                while (e > line_start && is_trailing_space(text[e - 1])) e--;
                if (e > line_start) last_nonblank = nlines;
            }
            line_start = i + 1;
        }
    }
    if (last_nonblank == 0) {
        return ax_fail(err, AX_ERR_FORMAT, "%s: label list has no labels (expected one class "
                       "name per line)", path);
    }
    if (last_nonblank > 1000000) {
        return ax_fail(err, AX_ERR_FORMAT, "%s: label list has %zu lines; not a label list?",
                       path, last_nonblank);
    }

    /* One block: the pointer table, then the names with their terminators. */
    size_t count = last_nonblank;
    char **names = malloc(count * sizeof *names + (len - start) + count + 1);
    if (!names) {
        return ax_fail(err, AX_ERR_NOMEM, "%s: no memory for %zu labels", path, count);
    }
    char *dst = (char *)(names + count);
    size_t k = 0;
    for (size_t i = start, line_start = start; i <= len && k < count; i++) {
        if (i == len || text[i] == '\n') {
            size_t e = i;
            while (e > line_start && is_trailing_space(text[e - 1])) e--;
            memcpy(dst, text + line_start, e - line_start);
            dst[e - line_start] = '\0';
            ax_text_clean_inplace(dst);   /* labels are only ever shown */
            names[k++] = dst;
            dst += e - line_start + 1;
            line_start = i + 1;
        }
    }
    l->count = (int)count;
    l->names = names;
    return AX_OK;
}

void ax_labels_free(ax_labels *l)
{
    if (!l) return;
    free(l->names);
    l->names = NULL;
    l->count = 0;
}

const char *ax_label(const ax_labels *l, int i)
{
    if (l && l->names && i >= 0 && i < l->count && l->names[i][0])
        return l->names[i];
    /* Several fallbacks may sit in one printf, so they rotate through slots. */
    static _Thread_local char slots[8][32];
    static _Thread_local unsigned next;
    char *s = slots[next++ % 8];
    snprintf(s, sizeof slots[0], "class %d", i);
    return s;
}
