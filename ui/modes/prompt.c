/* The two prompts of the bottom line: g runs to a layer (name, unique name
 * prefix or number), / finds a layer or a channel. An ambiguous prefix lists
 * the names it matches, as they are typed and when Enter is pressed. */
#include "modes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    int kind;          /* 0: closed, 'g' or '/' */
    char text[40];
    int len;
} prompt;

static int active(ax_ui *u)
{
    prompt *P = ax_ui_mode_state(u, AX_M_PROMPT);
    return P->kind != 0;
}

static int open_prompt(ax_ui *u, int kind)
{
    prompt *P = ax_ui_mode_state(u, AX_M_PROMPT);
    P->kind = kind;
    P->len = 0;
    P->text[0] = 0;
    return 1;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

/* The names that start with s, "a, b, c" (at most size bytes); returns how many. */
static int candidates(const ax_ui *u, const char *s, char *out, size_t size)
{
    int n = 0;
    size_t p = 0, len = strlen(s);
    if (out && size) out[0] = 0;
    if (!strncasecmp("input", s, len)) {
        n++;
        if (out) p += (size_t)snprintf(out + p, p < size ? size - p : 0, "input");
    }
    for (int i = 0; i < u->net->nlayers; i++)
        if (!strncasecmp(u->net->layers[i].spec.name, s, len)) {
            n++;
            if (out && p < size)
                p += (size_t)snprintf(out + p, size - p, "%s%s", p ? " " : "", u->net->layers[i].spec.name);
        }
    return n;
}

/* The layer s names: -1 the input, -2 nothing, -3 several names start with s. */
static int resolve_layer(const ax_ui *u, const char *s)
{
    int nl = u->net->nlayers;
    if (!*s) return -2;
    if (all_digits(s)) {
        long n = strtol(s, NULL, 10);
        return n <= nl ? (int)n - 1 : -2;
    }
    if (!strcasecmp(s, "input")) return -1;
    int i = ax_net_find(u->net, s);
    if (i >= 0) return i;
    for (i = 0; i < nl; i++)
        if (!strcasecmp(u->net->layers[i].spec.name, s)) return i;
    int n = candidates(u, s, NULL, 0);
    if (n > 1) return -3;
    if (n == 0) return -2;
    size_t len = strlen(s);
    if (!strncasecmp("input", s, len)) return -1;
    for (i = 0; i < nl; i++)
        if (!strncasecmp(u->net->layers[i].spec.name, s, len)) return i;
    return -2;
}

/* Views whose numbers are channels of the layer on show. */
static int channel_view(const ax_ui *u)
{
    return u->view == AX_V_CHANNELS || u->view == AX_V_HEATMAP || u->view == AX_V_LRN;
}

static void enter(ax_ui *u, int kind)
{
    prompt *P = ax_ui_mode_state(u, AX_M_PROMPT);
    if (kind == '/' && channel_view(u) && all_digits(P->text)) {
        long c = strtol(P->text, NULL, 10);
        int nc = ax_ui_channels(u, u->cur);
        if (c >= nc) {
            ax_ui_say(u, AX_R_BAD, "no channel %s: %s has channels 0-%d", P->text, ax_ui_layer_name(u, u->cur), nc - 1);
            return;
        }
        u->ch = (int)c;
        ax_ui_say(u, AX_R_DIM, "channel %d of %s", u->ch, ax_ui_layer_name(u, u->cur));
        return;
    }
    int i = resolve_layer(u, P->text);
    if (i == -3) {
        char list[240];
        int n = candidates(u, P->text, list, sizeof list);
        ax_ui_say(u, AX_R_WARN, "\"%s\" matches %d layers: %s", P->text, n, list);
        return;
    }
    if (i == -2) {
        ax_ui_say(u, AX_R_BAD, "no layer \"%s\" (a name such as %s, or a number 0-%d)", P->text,
                  u->net->layers[0].spec.name, u->net->nlayers);
        return;
    }
    ax_ui_worker_run_to(u, i);
}

static void key(ax_ui *u, int k)
{
    prompt *P = ax_ui_mode_state(u, AX_M_PROMPT);
    if (k == 27 || k == 7) {
        P->kind = 0;
        return;
    }
    if (k == '\n' || k == '\r' || k == KEY_ENTER) {
        int kind = P->kind;
        P->kind = 0;
        if (P->len) enter(u, kind);
        return;
    }
    if (k == KEY_BACKSPACE || k == 127 || k == 8) {
        if (P->len) P->text[--P->len] = 0;
        else P->kind = 0;
        return;
    }
    if (k >= 32 && k < 127 && P->len < (int)sizeof P->text - 1) {
        P->text[P->len++] = (char)k;
        P->text[P->len] = 0;
    }
}

static void draw(ax_ui *u, int y)
{
    prompt *P = ax_ui_mode_state(u, AX_M_PROMPT);
    const char *what = P->kind == 'g' ? "run to layer (name or number, Esc cancels)"
                     : channel_view(u) ? "find a layer by name, a channel by number (Esc cancels)"
                                       : "find a layer by name or number (Esc cancels)";
    int x = ax_ui_printf(u, y, 0, COLS, AX_R_ACCENT, "%s: %s_", what, P->text);
    if (!P->len || all_digits(P->text)) return;
    char list[240];
    int n = candidates(u, P->text, list, sizeof list);
    if (n == 0) ax_ui_put(u, y, x + 2, COLS - x - 2, AX_R_BAD, "no such layer");
    else if (n > 1) ax_ui_printf(u, y, x + 2, COLS - x - 2, AX_R_DIM, "%s", list);
}

static const ax_key keys[] = {
    { { 'g' }, "g", "run to a layer: name, prefix, number", open_prompt, "g run to", NULL, 110, 0, 0 },
    { { '/' }, "/", "find a layer, or a channel by number", open_prompt, "/ find", NULL, 110, 0, 0 },
    { { 0 }, NULL, NULL, NULL, NULL, NULL, 0, 0, 0 },
};

const ax_mode ax_mode_prompt = {
    .name = "prompt",
    .keys = keys,
    .state = sizeof(prompt),
    .prompt_active = active,
    .prompt_key = key,
    .prompt_draw = draw,
};
