/* View 9, Messages: what loading the weights said (conversions made, tensors
 * ignored with --lenient), then every message the bottom line has shown,
 * oldest first. Reads u->log; keeps only its scroll position. */
#include "draw.h"

#include <stdio.h>

static const ax_keyhelp keys[] = {
    { "Up Down PgUp PgDn", "scroll" },
    { "Home End", "first / last message" },
    { NULL, NULL },
};

static int top;       /* first message on screen; -1: the newest in view */

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
    int rows = r.h - 1, first = u->log_total - u->nlog;
    if (top < 0 || top > u->nlog - rows) top = u->nlog - rows;
    if (top < 0) top = 0;
    for (int k = 0; k < rows && top + k < u->nlog; k++) {
        int slot = (first + top + k) % AX_LOG_MAX;
        ax_ui_printf(u, y + k, x0, 5, AX_R_DIM, "%4d", first + top + k + 1);
        ax_ui_put(u, y + k, x0 + 5, w - 5, u->log_role[slot], u->log[slot]);
    }
}

static int key(ax_ui *u, int k)
{
    int page = ax_ui_pane(u).h - 1;
    if (page < 1) page = 1;
    if (top < 0) top = u->nlog > page ? u->nlog - page : 0;   /* was following the newest */
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
    return 1;
}

const ax_view ax_view_messages = {
    "Messages", draw, key, keys, "Up/Down PgUp/PgDn Home/End scroll", reset, NULL,
};
