/* The Summary view (S): during a what-if, its difference to the normal run
 * first; then the model summary (per layer shape, parameters, FLOPs,
 * receptive field, activation memory; totals; what grouping saves) and the
 * net's diagram with the two towers side by side, as `alexscope summary`
 * prints them. */
#include "teach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alexscope/teach.h"

typedef struct {
    char *text;       /* table and diagram, made for one pane width */
    int width;        /* the width text was made for */
    int top;
    int left;         /* 0: the table fitted to the pane; > 0: the whole table, scrolled right this far */
    char left_out[80];   /* the columns the fitted table leaves out */
} summary_state;

static summary_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_SUMMARY); }

static void release(ax_ui *u)
{
    summary_state *S = state_of(u);
    free(S->text);
}

static void reset(ax_ui *u)
{
    summary_state *S = state_of(u);
    S->top = 0;
    S->left = 0;
}

/* The table fitted to width (or whole, when scrolled right: width 0), then the diagram. */
static void make_text(ax_ui *u, int width)
{
    summary_state *S = state_of(u);
    free(S->text);
    S->text = NULL;
    S->width = width;
    ax_summary *s = malloc(sizeof *s);
    ax_error err = { 0 };
    if (!s) return;
    if (ax_summary_build(s, &u->net->spec, &err)) {
        free(s);
        return;
    }
    size_t a = ax_summary_table_fit(s, NULL, 0, width, NULL, 0), b = ax_summary_diagram(s, NULL, 0);
    S->text = malloc(a + b + 2);
    if (S->text) {
        ax_summary_table_fit(s, S->text, a + 1, width, S->left_out, sizeof S->left_out);
        S->text[a] = '\n';
        ax_summary_diagram(s, S->text + a + 1, b + 1);
    }
    free(s);
}

static void draw(ax_ui *u, ax_rect r)
{
    summary_state *S = state_of(u);
    int want = S->left > 0 ? 0 : r.w - 2;
    if (!S->text || S->width != want) make_text(u, want);
    if (S->left > 0)
        ax_ui_title(u, r, "Summary", "%s %s the whole table, from column %d %s Left goes back", u->net->spec.name,
                    ax_ui_sym(u, AX_S_DOT), S->left + 1, ax_ui_sym(u, AX_S_DOT));
    else if (S->left_out[0])
        ax_ui_title(u, r, "Summary", "%s %s left out: %s (Right shows them)", u->net->spec.name, ax_ui_sym(u, AX_S_DOT),
                    S->left_out);
    else
        ax_ui_title(u, r, "Summary", "%s %s no image or weights needed %s L T what-if", u->net->spec.name,
                    ax_ui_sym(u, AX_S_DOT), ax_ui_sym(u, AX_S_DOT));
    char wl[40][160];
    int nw = ax_ui_whatif_lines(u, wl, 40);
    int total = nw + (nw ? 1 : 0);
    for (const char *p = S->text; p && *p; p++) total += *p == '\n';
    int avail = r.h - 1;
    if (S->top > total - avail) S->top = total - avail;
    if (S->top < 0) S->top = 0;
    int y = r.y + 1, line = 0, x0 = r.x + 1, w = r.w - 2;
    for (int i = 0; i < nw; i++, line++)
        if (line >= S->top && y < r.y + r.h) ax_ui_put(u, y++, x0, w, i == 0 ? AX_R_WARN : AX_R_ACCENT, wl[i]);
    if (nw) {
        if (line >= S->top && y < r.y + r.h) y++;
        line++;
    }
    for (const char *p = S->text; p && *p && y < r.y + r.h; line++) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        if (line >= S->top) {
            char buf[256];
            int from = S->left < len ? S->left : len;
            snprintf(buf, sizeof buf, "%.*s", len - from < 255 ? len - from : 255, p + from);
            int tl = line - (nw ? nw + 1 : 0);
            ax_role role = tl == 1 ? AX_R_HEADER : !strncmp(buf, "total", 5) || !strncmp(buf, "grouping", 8)
                           ? AX_R_ACCENT : AX_R_NORMAL;
            ax_ui_put(u, y++, x0, w, role, buf);
        }
        p += len + (nl != NULL);
    }
}

static int key_scroll(ax_ui *u, int k)
{
    ax_ui_scroll_key(&state_of(u)->top, k, 10);
    return 1;
}

/* Right: the whole table, 16 columns further right each time; Left back,
 * to the table fitted to the pane at 0. */
static int key_side(ax_ui *u, int k)
{
    summary_state *S = state_of(u);
    if (k == KEY_RIGHT) S->left += 16;
    else S->left = S->left > 16 ? S->left - 16 : 0;
    if (S->left > 120) S->left = 120;
    return 1;
}

static void open_view(ax_ui *u)
{
    state_of(u)->top = 0;
    state_of(u)->left = 0;
}

static const ax_key keys[] = {
    { .codes = { KEY_UP, KEY_DOWN, KEY_PPAGE, KEY_NPAGE }, .keys = "Up Down PgUp PgDn", .what = "scroll",
      .fn = key_scroll, .bar = "Up/Down scroll" },
    { .codes = { KEY_HOME, KEY_END }, .keys = "Home End", .what = "top / bottom", .fn = key_scroll },
    { .codes = { KEY_LEFT, KEY_RIGHT }, .keys = "Left Right", .what = "the whole table, scrolled sideways / the "
      "table fitted to the pane", .fn = key_side, .bar = "Left/Right columns" },
    { .codes = { 0 }, .keys = "L T", .what = "what-ifs: LRN off, a tower zeroed (Everywhere)", .bar = "L LRN off/on  T towers" },
    { .codes = { 0 }, .keys = "Esc Backspace q", .what = "back to the view it was opened from", .bar = "Esc back" },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_summary = {
    .name = "Summary", .draw = draw, .keys = keys, .state = sizeof(summary_state), .reset = reset,
    .release = release, .open = open_view,
};
