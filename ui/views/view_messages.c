/* View 9, Messages: what loading the weights said (conversions made, tensors
 * ignored with --lenient), then every message the bottom line has shown,
 * oldest first. Reads u->log; keeps only its scroll position. */
#include "core.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    int top;       /* first message on screen; -1: the newest in view */
    int shown;     /* the first message drawn last time */
} messages_state;

static messages_state *state_of(const ax_ui *u) { return ax_ui_view_state(u, AX_V_MESSAGES); }

static void reset(ax_ui *u)
{
    messages_state *S = state_of(u);
    S->top = -1;
}

static void draw(ax_ui *u, ax_rect r)
{
    messages_state *S = state_of(u);
    ax_ui_title(u, r, "Messages", "%d message%s%s", u->log_total, u->log_total == 1 ? "" : "s",
                u->log_total > u->nlog ? " (the oldest dropped)" : "");
    int x0 = r.x + 1, w = r.w - 2, y = r.y + 1;
    if (!u->nlog) {
        ax_ui_notice(u, r, y + 1, "Nothing to say yet: loading raised no note or warning. Messages S->shown on the "
                                  "bottom line (runs, saves, errors) are kept here.");
        return;
    }
    int rows = r.h - 1, first = u->log_total - u->nlog, t = S->top;
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
    S->shown = t;
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

static int key_scroll(ax_ui *u, int k)
{
    messages_state *S = state_of(u);
    int page = ax_ui_pane(u).h - 1;
    if (page < 1) page = 1;
    if (S->top < 0) S->top = S->shown;   /* was following the newest */
    switch (k) {
    case KEY_UP: S->top--; break;
    case KEY_DOWN: S->top++; break;
    case KEY_PPAGE: S->top -= page; break;
    case KEY_NPAGE: S->top += page; break;
    case KEY_HOME: S->top = 0; break;
    default: S->top = -1; return 1;   /* End: follow the newest */
    }
    if (S->top < 0) S->top = 0;
    if (S->top >= u->nlog) S->top = -1;
    return 1;
}

static const ax_key keys[] = {
    { .codes = { KEY_UP, KEY_DOWN, KEY_PPAGE, KEY_NPAGE }, .keys = "Up Down PgUp PgDn", .what = "scroll",
      .fn = key_scroll, .bar = "Up/Down PgUp/PgDn Home/End scroll" },
    { .codes = { KEY_HOME, KEY_END }, .keys = "Home End", .what = "first / last message", .fn = key_scroll },
    { .codes = { 0 }, .keys = NULL },
};

const ax_view ax_view_messages = {
    .name = "Messages", .draw = draw, .keys = keys, .state = sizeof(messages_state), .reset = reset,
};
