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

static const ax_keyhelp keys[] = {
    { "Up Down PgUp PgDn", "scroll" },
    { "Home End", "top / bottom" },
    { NULL, NULL },
};

static struct {
    char *text;       /* table and diagram, made once */
    int top;
} S;

static void release(void)
{
    free(S.text);
    memset(&S, 0, sizeof S);
}

static void reset(ax_ui *u)
{
    (void)u;
    S.top = 0;
}

static void make_text(ax_ui *u)
{
    ax_summary *s = malloc(sizeof *s);
    ax_error err = { 0 };
    if (!s) return;
    if (ax_summary_build(s, &u->net->spec, &err)) {
        free(s);
        return;
    }
    size_t a = ax_summary_table(s, NULL, 0), b = ax_summary_diagram(s, NULL, 0);
    S.text = malloc(a + b + 2);
    if (S.text) {
        ax_summary_table(s, S.text, a + 1);
        S.text[a] = '\n';
        ax_summary_diagram(s, S.text + a + 1, b + 1);
    }
    free(s);
}

static void draw(ax_ui *u, ax_rect r)
{
    if (!S.text) make_text(u);
    ax_ui_title(u, r, "Summary", "%s %s no image or weights needed %s L T what-if", u->net->spec.name,
                ax_ui_sym(u, AX_S_DOT), ax_ui_sym(u, AX_S_DOT));
    char wl[40][160];
    int nw = ax_ui_whatif_lines(u, wl, 40);
    int total = nw + (nw ? 1 : 0);
    for (const char *p = S.text; p && *p; p++) total += *p == '\n';
    int avail = r.h - 1;
    if (S.top > total - avail) S.top = total - avail;
    if (S.top < 0) S.top = 0;
    int y = r.y + 1, line = 0, x0 = r.x + 1, w = r.w - 2;
    for (int i = 0; i < nw; i++, line++)
        if (line >= S.top && y < r.y + r.h) ax_ui_put(u, y++, x0, w, i == 0 ? AX_R_WARN : AX_R_ACCENT, wl[i]);
    if (nw) {
        if (line >= S.top && y < r.y + r.h) y++;
        line++;
    }
    for (const char *p = S.text; p && *p && y < r.y + r.h; line++) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        if (line >= S.top) {
            char buf[256];
            snprintf(buf, sizeof buf, "%.*s", len < 255 ? len : 255, p);
            int tl = line - (nw ? nw + 1 : 0);
            ax_role role = tl == 1 ? AX_R_HEADER : !strncmp(buf, "total", 5) || !strncmp(buf, "grouping", 8)
                           ? AX_R_ACCENT : AX_R_NORMAL;
            ax_ui_put(u, y++, x0, w, role, buf);
        }
        p += len + (nl != NULL);
    }
}

static int key(ax_ui *u, int k)
{
    (void)u;
    switch (k) {
    case AX_KEY_OPEN: S.top = 0; return 1;
    case AX_KEY_BACK: return 0;
    case KEY_UP: S.top--; return 1;
    case KEY_DOWN: S.top++; return 1;
    case KEY_PPAGE: S.top -= 10; return 1;
    case KEY_NPAGE: S.top += 10; return 1;
    case KEY_HOME: S.top = 0; return 1;
    case KEY_END: S.top = 1 << 20; return 1;
    default: return 0;
    }
}

const ax_view ax_view_summary = {
    "Summary", draw, key, keys, "Up/Down scroll  L LRN off/on  T towers  Esc back", reset, release,
};
