/* The key help overlay (? or F1): every key, global ones first, then each
 * view's own, built from the same tables the loop and the views dispatch on,
 * and how maps are coloured (sequential, or diverging for signed maps).
 * A view's heading always stays in the same column as its keys. */
#include "loop.h"

#include <stdio.h>
#include <string.h>

#define MAX_LINES 200

typedef struct { const char *keys, *what; int header; char title[48]; } line;

/* All lines; starts[] receives where each section begins (returns lines). */
static int build(const ax_ui *u, line *out, int *starts, int *nsec)
{
    int n = 0, s = 0;
    starts[s++] = n;
    out[n] = (line){ NULL, NULL, 1, "Everywhere" };
    n++;
    for (const ax_key *k = u->keys; k && (k->keys || k->modes) && n < MAX_LINES; k++) {
        if (!k->modes) {
            out[n++] = (line){ k->keys, k->what, 0, "" };
            continue;
        }
        for (int m = 0; m < AX_M_COUNT; m++)
            for (const ax_key *r = u->modes[m]->keys; r && r->keys && n < MAX_LINES; r++)
                out[n++] = (line){ r->keys, r->what, 0, "" };
    }
    for (int v = 0; v < AX_V_COUNT && n < MAX_LINES - 1; v++) {
        starts[s++] = n;
        out[n] = (line){ NULL, NULL, 1, "" };
        if (v < 9) snprintf(out[n].title, sizeof out[n].title, "%d %s view", v + 1, ax_views[v]->name);
        else snprintf(out[n].title, sizeof out[n].title, "%s%s view", v == AX_V_DIFF ? "D " : "", ax_views[v]->name);
        if (v == AX_V_SALIENCY) snprintf(out[n].title, sizeof out[n].title, "0 %s view", ax_views[v]->name);
        n++;
        int any = 0;
        for (const ax_key *k = ax_views[v]->keys; k && k->keys && n < MAX_LINES; k++, any = 1)
            out[n++] = (line){ k->keys, k->what, 0, "" };
        if (!any && n < MAX_LINES) out[n++] = (line){ "", "(no keys of its own)", 0, "" };
    }
    /* how maps are coloured (Heatmap, Groups, Diff, Channels, ...) */
    static const struct { const char *keys, *what; } scales[] = {
        { "one sign", "sequential, dark to bright" },
        { "", "mono: \" .:-=+*#%@\"" },
        { "both signs", "diverging about 0, scale max |v|" },
        { "", "blue < grey 0 < red" },
        { "", "mono: @%o=- < blank 0 < .:+*#" },
        { NULL, NULL },
    };
    if (n < MAX_LINES - 1) {
        starts[s++] = n;
        out[n++] = (line){ NULL, NULL, 1, "Map colour scales" };
        for (int i = 0; scales[i].keys && n < MAX_LINES; i++) out[n++] = (line){ scales[i].keys, scales[i].what, 0, "" };
    }
    starts[s] = n;
    *nsec = s;
    return n;
}

void ax_ui_help_draw(ax_ui *u)
{
    line l[MAX_LINES];
    int starts[AX_V_COUNT + 3], nsec;
    int n = build(u, l, starts, &nsec);
    int bw = COLS < 118 ? COLS : 116, bh = LINES - 2;
    int ncol = bw >= 100 ? 2 : 1;
    int colw = (bw - 2) / ncol;
    /* two columns split between sections, as evenly as that allows */
    int split = nsec;
    if (ncol == 2) {
        int best = n + 1;
        for (int k = 1; k < nsec; k++) {
            int a = starts[k], b = n - starts[k], m = a > b ? a : b;
            if (m < best) best = m, split = k;
        }
    }
    int col_first[2] = { 0, starts[split] }, col_len[2] = { starts[split], n - starts[split] };
    if (ncol == 1) col_len[0] = n;
    int per_col = col_len[0] > col_len[1] || ncol == 1 ? col_len[0] : col_len[1];
    int inner = bh - 3;
    if (inner < 1) return;
    if (per_col < inner) bh = per_col + 3, inner = per_col;
    int by = (LINES - bh) / 2, bx = (COLS - bw) / 2;
    int pages = per_col - inner;
    if (u->help_top > pages) u->help_top = pages;
    if (u->help_top < 0) u->help_top = 0;
    for (int r = 0; r < bh; r++) ax_ui_fill(u, by + r, bx, bw, AX_R_NORMAL);
    ax_ui_fill(u, by, bx, bw, AX_R_TITLE);
    ax_ui_put(u, by, bx + 1, bw - 2, AX_R_TITLE,
              pages > 0 ? "Help: keys (Up Down PgUp PgDn Home End scroll, any other key closes)"
                        : "Help: keys (any key closes)");
    ax_ui_vline(u, by + 1, bx, bh - 1, AX_R_DIM);
    ax_ui_vline(u, by + 1, bx + bw - 1, bh - 1, AX_R_DIM);
    ax_ui_hline(u, by + bh - 1, bx, bw, AX_R_DIM);
    int kw = 20;
    for (int c = 0; c < ncol; c++)
        for (int r = 0; r < inner; r++) {
            int j = u->help_top + r;
            if (j >= col_len[c]) break;
            const line *li = &l[col_first[c] + j];
            int y = by + 1 + r, x = bx + 2 + c * colw;
            if (li->header) {
                ax_ui_put(u, y, x, colw - 2, AX_R_HEADER, li->title);
                continue;
            }
            ax_ui_put(u, y, x + 1, kw - 1, AX_R_ACCENT, li->keys);
            ax_ui_put(u, y, x + kw, colw - kw - 1, AX_R_NORMAL, li->what);
        }
    if (pages > 0)
        ax_ui_printf(u, by + bh - 1, bx + 2, bw - 4, AX_R_DIM, " lines %d-%d of %d ", u->help_top + 1, u->help_top + inner,
                     per_col);
}

int ax_ui_help_key(ax_ui *u, int k)
{
    switch (k) {
    case KEY_UP: u->help_top--; return 1;
    case KEY_DOWN: u->help_top++; return 1;
    case KEY_PPAGE: u->help_top -= 10; return 1;
    case KEY_NPAGE: u->help_top += 10; return 1;
    case KEY_HOME: u->help_top = 0; return 1;
    case KEY_END: u->help_top = MAX_LINES; return 1;
    default: return 0;
    }
}
