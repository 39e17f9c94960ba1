/* View 9, Messages: what loading the weights said (conversions made, tensors
 * ignored with --lenient), then every message the bottom line has shown,
 * oldest first. Reads u->log; keeps only its scroll position. */
#include "core.h"

#include <stdio.h>
#include <string.h>

static const ax_keyhelp keys[] = {
    { "Up Down PgUp PgDn", "scroll" },
    { "Home End", "first / last message" },
    { NULL, NULL },
};

static int top;       /* first message on screen; -1: the newest in view */
static int shown;     /* the first message drawn last time */

static void reset(ax_ui *u)
{
    (void)u;
    top = -1;
}

static void draw(ax_ui *u, ax_rect r)
{
    ax_ui_title(u, r, "Messages", "%d message%s%s", u->log_total, u->log_total == 1 ? "" : "s",
                u->log_total > u->nlog ? " (the oldest dropped)" : "");
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    if (!u->nlog) {
        ax_ui_notice(u, r, y + 1, "Nothing to say yet: loading raised no note or warning. Messages shown on the "
                                  "bottom line (runs, saves, errors) are kept here.");
        return;
    }
    int rows = r.h - 1, first = u->log_total - u->nlog, t = top;
    if (t > u->nlog - 1) t = u->nlog - 1;
    if (t < 0) {
        /* the newest messages in view: as many as fit, counting wrapped lines */
        int used = 0;
        t = u->nlog;
        while (t > 0) {
            int len = (int)strlen(u->log[(first + t - 1) % AX_LOG_MAX]);
            int need = w - 5 > 0 ? (len + w - 6) / (w - 5) : 1;
            if (need < 1) need = 1;
            if (used + need > rows) break;
            used += need;
            t--;
        }
        if (t == u->nlog) t = u->nlog - 1;
    }
    shown = t;
    /* long messages wrap under their own text */
    int yy = y;
    for (int k = t; k < u->nlog && yy < r.y + r.h; k++) {
        int slot = (first + k) % AX_LOG_MAX;
        const char *m = u->log[slot];
        ax_ui_printf(u, yy, x0, 5, AX_R_DIM, "%4d", first + k + 1);
        do {
            char part[400];
            int take = 0, c = 0;
            while (m[take] && c < w - 5) {
                take++;
                while ((m[take] & 0xC0) == 0x80) take++;
                c++;
            }
            if (take == 0) break;
            if (m[take]) {
                /* break after the last blank that fits, when there is one */
                int b = take;
                while (b > 0 && m[b] != ' ') b--;
                if (b > 0) take = b + 1;
            }
            snprintf(part, sizeof part, "%.*s", take, m);
            ax_ui_put(u, yy++, x0 + 5, w - 5, u->log_role[slot], part);
            m += take;
        } while (*m && yy < r.y + r.h);
    }
}

static int key(ax_ui *u, int k)
{
    int page = ax_ui_pane(u).h - 1;
    if (page < 1) page = 1;
    if (top < 0) top = shown;   /* was following the newest */
    switch (k) {
    case KEY_UP: top--; break;
    case KEY_DOWN: top++; break;
    case KEY_PPAGE: top -= page; break;
    case KEY_NPAGE: top += page; break;
    case KEY_HOME: top = 0; break;
    case KEY_END: top = -1; return 1;
    default: return 0;
    }
    if (top < 0) top = 0;
    if (top >= u->nlog) top = -1;
    return 1;
}

const ax_view ax_view_messages = {
    "Messages", draw, key, keys, "Up/Down PgUp/PgDn Home/End scroll", reset, NULL,
};
