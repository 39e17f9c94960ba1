/* The key help overlay (? or F1): every key, global ones first, then each
 * view's own, built from the same tables the loop and the views dispatch on. */
#include "draw.h"

#include <stdio.h>
#include <string.h>

#define MAX_LINES 160

typedef struct { const char *keys, *what; int header; char title[48]; } line;

static int build(line *out)
{
    int n = 0;
    out[n] = (line){ NULL, NULL, 1, "Everywhere" };
    n++;
    for (const ax_keyhelp *k = ax_global_keys; k->keys && n < MAX_LINES; k++) out[n++] = (line){ k->keys, k->what, 0, "" };
    for (int v = 0; v < AX_V_COUNT && n < MAX_LINES; v++) {
        out[n] = (line){ NULL, NULL, 1, "" };
        snprintf(out[n].title, sizeof out[n].title, "%d %s view", v + 1, ax_views[v]->name);
        n++;
        int any = 0;
        for (const ax_keyhelp *k = ax_views[v]->keys; k && k->keys && n < MAX_LINES; k++, any = 1)
            out[n++] = (line){ k->keys, k->what, 0, "" };
        if (!any && n < MAX_LINES) out[n++] = (line){ "", "(no keys of its own)", 0, "" };
    }
    return n;
}

void ax_ui_help_draw(ax_ui *u)
{
    line l[MAX_LINES];
    int n = build(l);
    int bw = COLS < 118 ? COLS : 116, bh = LINES - 2;
    int ncol = bw >= 100 ? 2 : 1;
    int colw = (bw - 2) / ncol;
    int inner = bh - 3;
    if (inner < 1) return;
    int per_col = (n + ncol - 1) / ncol;
    if (per_col < inner) bh = per_col + 3, inner = per_col;
    int by = (LINES - bh) / 2, bx = (COLS - bw) / 2;
    int pages = per_col - inner;
    if (u->help_top > pages) u->help_top = pages;
    if (u->help_top < 0) u->help_top = 0;
    for (int r = 0; r < bh; r++) ax_ui_fill(u, by + r, bx, bw, AX_R_NORMAL);
    ax_ui_fill(u, by, bx, bw, AX_R_TITLE);
    ax_ui_put(u, by, bx + 1, bw - 2, AX_R_TITLE,
              pages > 0 ? "Help: keys (Up/Down scroll, any other key closes)" : "Help: keys (any key closes)");
    ax_ui_vline(u, by + 1, bx, bh - 1, AX_R_DIM);
    ax_ui_vline(u, by + 1, bx + bw - 1, bh - 1, AX_R_DIM);
    ax_ui_hline(u, by + bh - 1, bx, bw, AX_R_DIM);
    int kw = 20;
    for (int c = 0; c < ncol; c++)
        for (int r = 0; r < inner; r++) {
            int i = c * per_col + u->help_top + r;
            if (i >= n || (c + 1) * per_col <= u->help_top + r) break;
            int y = by + 1 + r, x = bx + 2 + c * colw;
            if (l[i].header) {
                ax_ui_put(u, y, x, colw - 2, AX_R_HEADER, l[i].title);
                continue;
            }
            ax_ui_put(u, y, x + 1, kw - 1, AX_R_ACCENT, l[i].keys);
            ax_ui_put(u, y, x + kw, colw - kw - 1, AX_R_NORMAL, l[i].what);
        }
    if (pages > 0)
        ax_ui_printf(u, by + bh - 1, bx + 2, bw - 4, AX_R_DIM, " lines %d-%d of %d ", u->help_top + 1,
                     u->help_top + inner, per_col);
}
