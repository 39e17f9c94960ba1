/* The services at the bottom of ui/: the message line and its log, opening
 * a view, the pane's geometry, the list keys and key-table lookup. Views and
 * modes call these; they reach tables only through u, never by name, so no
 * arrow runs from here up to a view, a mode or the frame. */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ax_ui_log(ax_ui *u, ax_role r, const char *text)
{
    int slot = u->log_total % AX_LOG_MAX;
    size_t n = strlen(text);
    if (n > sizeof u->log[slot] - 1) n = sizeof u->log[slot] - 1;
    memcpy(u->log[slot], text, n);
    u->log[slot][n] = 0;
    u->log_role[slot] = r;
    u->log_total++;
    if (u->nlog < AX_LOG_MAX) u->nlog++;
}

void ax_ui_say(ax_ui *u, ax_role r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->msg, sizeof u->msg, fmt, ap);
    va_end(ap);
    u->msg_role = r;
    ax_ui_log(u, r, u->msg);
}

void ax_ui_open_view(ax_ui *u, int v, int drill)
{
    if (drill) {
        if (u->nback == AX_BACK_MAX) memmove(u->back, u->back + 1, sizeof u->back - sizeof u->back[0]), u->nback--;
        u->back[u->nback++] = u->view;
    } else {
        u->nback = 0;
    }
    u->view = v;
    if (drill && u->views[v]->open) u->views[v]->open(u);
}

const ax_view *ax_ui_view_on_show(const ax_ui *u)
{
    for (int m = 0; m < AX_M_COUNT; m++) {
        const ax_view *v = u->modes[m]->stand_in ? u->modes[m]->stand_in(u, u->view) : NULL;
        if (v) return v;
    }
    return u->views[u->view];
}

int ax_ui_shown_layer(ax_ui *u, int i, ax_ui_shown *out)
{
    for (int m = 0; m < AX_M_COUNT; m++)
        if (u->modes[m]->shows && u->modes[m]->shows(u, i, out)) {
            out->mode = m;
            return 1;
        }
    *out = (ax_ui_shown){ ax_ui_data(u, i), ax_ui_cache(u, i), ax_ui_layer_name(u, i), -1 };
    return 0;
}

void ax_ui_shown_notice(ax_ui *u, const ax_ui_shown *s, ax_rect r, int y, int i)
{
    if (s->mode >= 0 && u->modes[s->mode]->notice && ax_ui_tensor(u, i)) u->modes[s->mode]->notice(u, r, y, i);
    else ax_ui_notice(u, r, y, "Not computed yet. Press n to compute this layer, or a to run all.");
}

const ax_key *ax_ui_view_key(ax_ui *u, int k)
{
    const ax_key *r = ax_ui_key_find(ax_ui_view_on_show(u)->keys, k);
    return r && r->fn && r->fn(u, k) ? r : NULL;
}

void *ax_ui_view_state(const ax_ui *u, int v)
{
    return u->view_state[v];
}

void *ax_ui_mode_state(const ax_ui *u, int m)
{
    return u->mode_state[m];
}

const ax_key *ax_ui_key_find(const ax_key *t, int k)
{
    for (; t && (t->keys || t->modes); t++)
        for (int j = 0; j < AX_KEY_CODES && t->codes[j]; j++)
            if (t->codes[j] == k) return t;
    return NULL;
}

int ax_ui_list_key(int k, int sel, int n, int page)
{
    if (page < 1) page = 1;
    switch (k) {
    case KEY_UP: case 'k': sel--; break;
    case KEY_DOWN: case 'j': sel++; break;
    case KEY_PPAGE: sel -= page; break;
    case KEY_NPAGE: sel += page; break;
    case KEY_HOME: sel = 0; break;
    case KEY_END: sel = n - 1; break;
    default: return -1;
    }
    if (n < 1) return -1;
    if (sel < 0) sel = 0;
    if (sel >= n) sel = n - 1;
    return sel;
}

int ax_ui_name_width(const ax_ui *u)
{
    int nw = 5;
    for (int i = 0; i < u->net->nlayers; i++) {
        int l = (int)strlen(u->net->layers[i].spec.name);
        if (l > nw) nw = l;
    }
    return nw > 12 ? 12 : nw;
}

int ax_ui_list_width(const ax_ui *u)
{
    int nw = ax_ui_name_width(u);
    if (COLS >= 110) return 3 + 1 + nw + 1 + 7 + 1 + 11 + 1 + 1 + 1;
    /* narrow: a 4-letter type when the names are short enough to leave room */
    if (COLS >= 60) return 2 + 1 + nw + 1 + (nw <= 8 ? 5 : 0) + 9 + 1 + 1 + 1;
    return 0;
}

ax_rect ax_ui_pane(const ax_ui *u)
{
    int lw = ax_ui_list_width(u);
    ax_rect r = { 1, lw ? lw + 1 : 0, LINES - 3, COLS - (lw ? lw + 1 : 0) };
    if (r.h < 1) r.h = 1;
    if (r.w < 1) r.w = 1;
    return r;
}

void ax_ui_scroll_key(int *top, int k, int page)
{
    switch (k) {
    case KEY_UP: (*top)--; break;
    case KEY_DOWN: (*top)++; break;
    case KEY_PPAGE: *top -= page; break;
    case KEY_NPAGE: *top += page; break;
    case KEY_HOME: *top = 0; break;
    default: *top = 1 << 20; break;   /* End: the drawing clamps it to the last page */
    }
}
