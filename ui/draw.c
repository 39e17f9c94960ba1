/* Drawing helpers shared by every view (roles, clipped text, heat and RGB
 * cells, bars) and the analysis caches of the image on show. The frame
 * around the views is frame.c. No layer is computed here. */
#include "draw.h"
#include "alexscope/text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

static const char *const sym_utf8[AX_S_COUNT] = {
    "\u2502", "\u2500", "\u00b7", "\u25cf", "\u25b2", "\u25bc", "\u2588",
    "\u03a3", "\u00b2", "\u253c", "\u2026",
};
static const char *const sym_ascii[AX_S_COUNT] = {
    "|", "-", ".", "*", "^", "v", "#", "sum", "^2", "+", "~",
};

const char *ax_ui_sym(const ax_ui *u, ax_sym s)
{
    return u->utf8 ? sym_utf8[s] : sym_ascii[s];
}

/* ---- colours ------------------------------------------------------------ */

static const struct { short fg, bg; attr_t extra; attr_t mono; } role_style[AX_R_COUNT] = {
    [AX_R_NORMAL] = { -1, -1, 0, 0 },
    [AX_R_TITLE] = { COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE | A_BOLD },
    [AX_R_HEADER] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD | A_UNDERLINE },
    [AX_R_SELECT] = { COLOR_BLACK, COLOR_YELLOW, 0, A_REVERSE },
    [AX_R_DIM] = { COLOR_BLUE, -1, A_BOLD, A_DIM },
    [AX_R_GOOD] = { COLOR_GREEN, -1, 0, 0 },
    [AX_R_WARN] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
    [AX_R_BAD] = { COLOR_RED, -1, A_BOLD, A_BOLD | A_REVERSE },
    [AX_R_ACCENT] = { COLOR_CYAN, -1, 0, A_BOLD },
    [AX_R_BAR] = { COLOR_CYAN, -1, 0, 0 },
    [AX_R_STATUS] = { COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE },
};

void ax_ui_colours_init(ax_ui *u)
{
    u->can_colour = !u->cfg->mono && has_colors();
    u->heat_ok = 0;
    u->cube = 0;
    if (!u->can_colour) {
        u->colour = 0;
        return;
    }
    start_color();
    use_default_colors();
    for (int r = 1; r < AX_R_COUNT; r++)
        init_pair((short)r, role_style[r].fg, role_style[r].bg);
    if (COLORS >= 256) init_pair(AX_R_DIM, 245, -1);
    if (COLORS >= 256 && COLOR_PAIRS > AX_PAIR_RGB && u->utf8) {
        u->heat_ok = 1;
        for (int a = 0; a < AX_HEAT_LEVELS; a++)
            for (int b = 0; b <= AX_HEAT_LEVELS; b++)
                init_extended_pair(AX_PAIR_HEAT + a * (AX_HEAT_LEVELS + 1) + b, ax_heat_color256(a),
                                   b == AX_HEAT_LEVELS ? -1 : ax_heat_color256(b));
        for (int a = 0; a < AX_SIGNED_HEAT_LEVELS; a++)
            for (int b = 0; b <= AX_SIGNED_HEAT_LEVELS; b++)
                init_extended_pair(AX_PAIR_SIGNED + a * (AX_SIGNED_HEAT_LEVELS + 1) + b, ax_signed_color256(a),
                                   b == AX_SIGNED_HEAT_LEVELS ? -1 : ax_signed_color256(b));
        /* the 6-level cube and 24 greys need 240^2 pairs; else 3 levels per channel */
        if (COLOR_PAIRS - AX_PAIR_RGB >= 241 * 241) u->cube = 6;
        else if (COLOR_PAIRS - AX_PAIR_RGB >= 28 * 28) u->cube = 3;
        if (u->cube) {
            int n = u->cube == 6 ? 241 : 28;
            free(u->rgb_pair);
            u->rgb_pair = calloc((size_t)n * n, 1);
            if (!u->rgb_pair) u->cube = 0;
        }
    }
    u->colour = 1;
}

attr_t ax_ui_attr(const ax_ui *u, ax_role r)
{
    if (!u->colour) return role_style[r].mono;
    if (r == AX_R_NORMAL) return A_NORMAL;
    return COLOR_PAIR(r) | role_style[r].extra;
}

int ax_ui_heat_on(const ax_ui *u)
{
    return u->colour && u->heat_ok;
}

/* ---- text --------------------------------------------------------------- */

/* Bytes of s that make up at most w cells (every character we print is one cell). */
static int clip_bytes(const char *s, int w, int *cells)
{
    int b = 0, c = 0;
    while (s[b]) {
        if (((unsigned char)s[b] & 0xC0) != 0x80) {
            if (c == w) break;
            c++;
        }
        b++;
    }
    *cells = c;
    return b;
}

int ax_ui_put(ax_ui *u, int y, int x, int w, ax_role r, const char *s)
{
    if (y < 0 || y >= LINES || x < 0 || x >= COLS) return 0;
    /* Every text on screen passes here, names from files among it: a
     * control byte or malformed UTF-8 is drawn as visible \xNN (text.h). */
    char shown[2048];
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p >= 0x7f) {
            s = ax_text_clean(shown, sizeof shown, s, 0);
            break;
        }
    if (w > COLS - x) w = COLS - x;
    if (w <= 0) return 0;
    int cells;
    int nb = clip_bytes(s, w, &cells);
    /* cut short: the last cell says so, unless only blanks were cut */
    int cut = 0;
    for (const char *p = s + nb; *p && !cut; p++) cut = *p != ' ';
    if (cut && w >= 2) nb = clip_bytes(s, w - 1, &cells);
    attrset(ax_ui_attr(u, r));
    mvaddnstr(y, x, s, nb);
    if (cut) {
        addstr(w >= 2 ? ax_ui_sym(u, AX_S_MORE) : "");
        cells += w >= 2;
    }
    attrset(A_NORMAL);
    return cells;
}

int ax_ui_printf(ax_ui *u, int y, int x, int w, ax_role r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ax_ui_put(u, y, x, w, r, buf);
}

void ax_ui_fill(ax_ui *u, int y, int x, int w, ax_role r)
{
    if (y < 0 || y >= LINES || x < 0 || x >= COLS) return;
    if (w > COLS - x) w = COLS - x;
    if (w <= 0) return;
    attrset(ax_ui_attr(u, r));
    mvhline(y, x, ' ', w);
    attrset(A_NORMAL);
}

void ax_ui_vline(ax_ui *u, int y, int x, int h, ax_role r)
{
    const char *s = ax_ui_sym(u, AX_S_VLINE);
    for (int i = 0; i < h; i++) ax_ui_put(u, y + i, x, 1, r, s);
}

void ax_ui_hline(ax_ui *u, int y, int x, int w, ax_role r)
{
    const char *s = ax_ui_sym(u, AX_S_HLINE);
    for (int i = 0; i < w; i++) ax_ui_put(u, y, x + i, 1, r, s);
}

void ax_ui_title(ax_ui *u, ax_rect r, const char *name, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    ax_ui_fill(u, r.y, r.x, r.w, AX_R_HEADER);
    int n = ax_ui_printf(u, r.y, r.x, r.w, AX_R_HEADER, "%s view", name);
    if (detail[0])
        ax_ui_printf(u, r.y, r.x + n, r.w - n, AX_R_HEADER, " %s %s", ax_ui_sym(u, AX_S_DOT), detail);
}

void ax_ui_notice(ax_ui *u, ax_rect r, int y, const char *text)
{
    /* wraps at spaces into the pane width */
    int w = r.w - 4;
    const char *p = text;
    while (*p && y < r.y + r.h) {
        int len = (int)strlen(p), take = len;
        if (take > w) {
            take = w;
            while (take > 0 && p[take] != ' ') take--;
            if (take == 0) take = w;
        }
        char line[512];
        if (take > (int)sizeof line - 1) take = (int)sizeof line - 1;
        memcpy(line, p, (size_t)take);
        line[take] = 0;
        ax_ui_put(u, y++, r.x + 2, w, AX_R_NORMAL, line);
        p += take;
        while (*p == ' ') p++;
    }
}

int ax_ui_wrap_rows(const char *text, int w)
{
    int rows = 0;
    const char *p = text;
    while (*p && w > 0) {
        int len = (int)strlen(p), take = len;
        if (take > w) {
            take = w;
            while (take > 0 && p[take] != ' ') take--;
            if (take == 0) take = w;
        }
        rows++;
        p += take;
        while (*p == ' ') p++;
    }
    return rows;
}

int ax_ui_wrap(ax_ui *u, int y, int x, int w, ax_role role, const char *text, int max)
{
    const char *p = text;
    for (int line = 0; *p && line < max && w > 0; line++) {
        int len = (int)strlen(p), take = len;
        if (take > w) {
            take = w;
            while (take > 0 && p[take] != ' ') take--;
            if (take == 0) take = w;
        }
        char buf[1100];
        if (take > (int)sizeof buf - 1) take = (int)sizeof buf - 1;
        snprintf(buf, sizeof buf, "%.*s", take, p);
        ax_ui_put(u, y++, x, w, role, buf);
        p += take;
        while (*p == ' ') p++;
    }
    return y;
}

int ax_ui_kv(ax_ui *u, int y, int x, int w, const char *key, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ax_ui_put(u, y, x, w, AX_R_ACCENT, key);
    ax_ui_put(u, y, x + 12, w - 12, AX_R_NORMAL, buf);
    return y + 1;
}

char *ax_ui_cell(const ax_ui *u, char *buf, size_t size, const char *s, int w)
{
    int cells;
    int nb = clip_bytes(s, w, &cells);
    const char *more = "";
    if (s[nb] && w >= 1) {
        nb = clip_bytes(s, w - 1, &cells);
        more = ax_ui_sym(u, AX_S_MORE);
        cells++;
    }
    snprintf(buf, size, "%.*s%s%*s", nb, s, more, w > cells ? w - cells : 0, "");
    return buf;
}

char *ax_ui_count(char *buf, size_t size, double v)
{
    char raw[40];
    snprintf(raw, sizeof raw, "%.0f", v);
    int len = (int)strlen(raw), lead = raw[0] == '-';
    size_t p = 0;
    for (int i = 0; i < len && p + 2 < size; i++) {
        buf[p++] = raw[i];
        int left = len - 1 - i;
        if (i >= lead && left > 0 && left % 3 == 0) buf[p++] = ',';
    }
    buf[p] = 0;
    return buf;
}

void ax_ui_fit(int halfblock, int h, int w, int avail_rows, int avail_cols, int *rows, int *cols)
{
    if (avail_rows < 1) avail_rows = 1;
    if (avail_cols < 1) avail_cols = 1;
    double s;
    if (halfblock) {
        s = fmin((double)avail_cols / w, 2.0 * avail_rows / h);
        *cols = (int)(w * s);
        *rows = (int)(h * s / 2.0);
    } else {
        s = fmin((double)avail_cols / (2.0 * w), (double)avail_rows / h);
        *cols = (int)(2.0 * w * s);
        *rows = (int)(h * s);
    }
    if (*cols < 1) *cols = 1;
    if (*rows < 1) *rows = 1;
    if (*cols > avail_cols) *cols = avail_cols;
    if (*rows > avail_rows) *rows = avail_rows;
}

char *ax_ui_num(char *buf, size_t size, double v)
{
    if (isnan(v)) snprintf(buf, size, "nan");
    else if (v == 0.0) snprintf(buf, size, "0");
    else if (fabs(v) >= 1e5 || fabs(v) < 1e-3) snprintf(buf, size, "%.3e", v);
    else snprintf(buf, size, "%.4g", v);
    return buf;
}

/* ---- heat and pictures -------------------------------------------------- */

static void set_cell(int y, int x, const wchar_t *wc, attr_t a, int pair)
{
    cchar_t cc;
    setcchar(&cc, wc, a, 0, &pair);
    mvadd_wch(y, x, &cc);
}

void ax_ui_heat_cells_scale(ax_ui *u, int y, int x, int rows, int cols, const int *levels, int sgn)
{
    if (x >= COLS || y >= LINES) return;
    int cw = cols;
    if (cw > COLS - x) cw = COLS - x;
    if (ax_ui_heat_on(u)) {
        static const wchar_t upper[] = { 0x2580, 0 };
        int base = sgn ? AX_PAIR_SIGNED : AX_PAIR_HEAT, L = sgn ? AX_SIGNED_HEAT_LEVELS : AX_HEAT_LEVELS;
        for (int r = 0; r < rows && y + r < LINES; r++) {
            const int *top = levels + (size_t)(2 * r) * cols, *bot = top + cols;
            move(y + r, x);
            for (int c = 0; c < cw; c++) {
                int pair = base + top[c] * (L + 1) + (bot[c] < 0 ? L : bot[c]);
                cchar_t cc;
                setcchar(&cc, upper, A_NORMAL, 0, &pair);
                add_wch(&cc);
            }
        }
        return;
    }
    const char *ramp = sgn ? ax_signed_ramp : ax_ascii_ramp;
    char line[1024];
    if (cw > (int)sizeof line - 1) cw = (int)sizeof line - 1;
    for (int r = 0; r < rows && y + r < LINES; r++) {
        const int *row = levels + (size_t)r * cols;
        for (int c = 0; c < cw; c++) line[c] = ramp[row[c]];
        attrset(A_NORMAL);
        mvaddnstr(y + r, x, line, cw);
    }
}

void ax_ui_heat_cells(ax_ui *u, int y, int x, int rows, int cols, const int *levels)
{
    ax_ui_heat_cells_scale(u, y, x, rows, cols, levels, 0);
}

int ax_ui_heat_levels(ax_ui *u, int **levels, int prow, int cols, const float *map, int h, int w, float lo,
                      float hi)
{
    int heat = ax_ui_heat_on(u);
    int *lev = ax_ui_lev(u, (size_t)prow * cols);
    *levels = lev;
    if (!lev) return -1;
    return ax_heatmap_levels_auto(lev, prow, cols, map, h, w, lo, hi, heat ? AX_HEAT_LEVELS : AX_ASCII_LEVELS,
                                  heat ? AX_SIGNED_HEAT_LEVELS : AX_SIGNED_LEVELS);
}

void ax_ui_heat_map(ax_ui *u, int y, int x, int rows, int cols, const float *map, int h, int w,
                    float lo, float hi)
{
    if (rows <= 0 || cols <= 0) return;
    int *lev;
    int sgn = ax_ui_heat_levels(u, &lev, ax_ui_heat_on(u) ? 2 * rows : rows, cols, map, h, w, lo, hi);
    if (sgn < 0) return;
    ax_ui_heat_cells_scale(u, y, x, rows, cols, lev, sgn);
}

/* Signed: "-max [ramp 0 ramp] +max": the negative half, a "0" at the middle,
 * the positive half, each half stepping out to the ends of the scale. */
static void legend_signed(ax_ui *u, int y, int x, int w, float lo, float hi)
{
    double m = fabs((double)lo) > fabs((double)hi) ? fabs((double)lo) : fabs((double)hi);
    char a[32], b[32];
    ax_ui_num(a, sizeof a, -m);
    ax_ui_num(b, sizeof b, m);
    int n = ax_ui_printf(u, y, x, w, AX_R_DIM, "%s ", a);
    int half = (w - n - (int)strlen(b) - 3) / 2;
    if (half > 20) half = 20;
    if (half < 2) return;
    int heat = ax_ui_heat_on(u);
    int L = heat ? AX_SIGNED_HEAT_LEVELS : AX_SIGNED_LEVELS, K = (L - 1) / 2;
    int *lev = ax_ui_lev(u, (size_t)4 * half);
    if (!lev) return;
    /* cell i of a half is step ceil((i + 1) * K / half) out from zero; each
     * half is two rows (top, bottom) for the half blocks */
    for (int i = 0; i < half; i++) {
        int step = (int)(((long)(i + 1) * K + half - 1) / half);
        lev[half - 1 - i] = lev[2 * half - 1 - i] = K - step;
        lev[2 * half + i] = lev[3 * half + i] = K + step;
    }
    ax_ui_heat_cells_scale(u, y, x + n, 1, half, lev, 1);
    ax_ui_put(u, y, x + n + half, 1, AX_R_DIM, "0");
    ax_ui_heat_cells_scale(u, y, x + n + half + 1, 1, half, lev + 2 * half, 1);
    if (!heat) {
        ax_ui_put(u, y, x + n - 1, 1, AX_R_DIM, "[");
        ax_ui_put(u, y, x + n + 2 * half + 1, 1, AX_R_DIM, "]");
    }
    int e = x + n + 2 * half + 2;
    e += ax_ui_printf(u, y, e, w - (e - x), AX_R_DIM, "+%s", b);
    /* a short word on what the scale is, where there is room for all of it */
    const char *what = heat ? "  signed: blue < 0 < red" : "  signed: @%o=- < 0 < .:+*#";
    if ((int)strlen(what) <= w - (e - x)) ax_ui_put(u, y, e, w - (e - x), AX_R_DIM, what);
}

void ax_ui_legend(ax_ui *u, int y, int x, int w, float lo, float hi)
{
    if (ax_heatmap_is_signed(lo, hi)) {
        legend_signed(u, y, x, w, lo, hi);
        return;
    }
    char a[32], b[32];
    ax_ui_num(a, sizeof a, lo);
    ax_ui_num(b, sizeof b, hi);
    int n = ax_ui_printf(u, y, x, w, AX_R_DIM, "%s ", a);
    int rw = w - n - (int)strlen(b) - 1;
    if (rw > 48) rw = 48;
    if (rw < 4) return;
    int heat = ax_ui_heat_on(u);
    int L = heat ? AX_HEAT_LEVELS : AX_ASCII_LEVELS;
    int *lev = ax_ui_lev(u, (size_t)2 * rw);
    if (!lev) return;
    for (int i = 0; i < rw; i++) lev[i] = lev[rw + i] = (int)((long)i * L / rw);
    ax_ui_heat_cells(u, y, x + n, 1, rw, lev);
    if (!heat) {
        /* an ASCII ramp starts with a blank: bracket it so it reads as a scale */
        ax_ui_put(u, y, x + n - 1, 1, AX_R_DIM, "[");
        ax_ui_put(u, y, x + n + rw, 1, AX_R_DIM, "]");
    }
    ax_ui_printf(u, y, x + n + rw + 1, w - n - rw - 1, AX_R_DIM, "%s", b);
}

/* Index 0..5 on the xterm cube axis whose levels are 0, 95, 135, 175, 215, 255. */
static int cube6(int v)
{
    return v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40 > 5 ? 5 : (v - 35) / 40;
}

static const int cube_level[6] = { 0, 95, 135, 175, 215, 255 };

/* The nearest palette entry, packed as index * 1000 + xterm colour. With the
 * full palette (216 cube colours, then the 24 greys 8..238) greys and skin
 * tones come out much closer than from the cube alone. */
static int rgb_pair(ax_ui *u, const unsigned char *p)
{
    static const int pick3[3] = { 0, 3, 5 };
    int c6[3], idx = 0, col = 16;
    for (int k = 0; k < 3; k++) c6[k] = cube6(p[k]);
    if (u->cube != 6) {
        for (int k = 0; k < 3; k++) {
            int ci = c6[k] < 2 ? 0 : c6[k] < 5 ? 1 : 2;
            idx = idx * 3 + ci;
            col += pick3[ci] * (k == 0 ? 36 : k == 1 ? 6 : 1);
        }
        return idx * 1000 + col;
    }
    int dc = 0;
    for (int k = 0; k < 3; k++) {
        int d = p[k] - cube_level[c6[k]];
        dc += d * d;
    }
    int mean = (p[0] + p[1] + p[2]) / 3;
    int g = mean < 8 ? 0 : mean > 238 ? 23 : (mean - 3) / 10;
    if (g > 23) g = 23;
    int gv = 8 + 10 * g, dg = 0;
    for (int k = 0; k < 3; k++) dg += (p[k] - gv) * (p[k] - gv);
    if (dg < dc) return (216 + g) * 1000 + 232 + g;
    idx = c6[0] * 36 + c6[1] * 6 + c6[2];
    return idx * 1000 + 16 + idx;
}

void ax_ui_rgb_cell(ax_ui *u, int y, int x, const unsigned char *top, const unsigned char *bot)
{
    if (y < 0 || y >= LINES || x < 0 || x >= COLS) return;
    int no_bottom = !bot;
    if (!bot) bot = top;
    if (!u->colour || !u->cube) {
        /* luminance on the ASCII ramp */
        double lum = 0.0;
        for (int k = 0; k < 3; k++)
            lum += (0.2126 * (k == 0) + 0.7152 * (k == 1) + 0.0722 * (k == 2)) * (top[k] + bot[k]) * 0.5;
        int lv = (int)(lum / 256.0 * AX_ASCII_LEVELS);
        if (lv >= AX_ASCII_LEVELS) lv = AX_ASCII_LEVELS - 1;
        attrset(A_NORMAL);
        mvaddch(y, x, (chtype)(unsigned char)ax_ascii_ramp[lv]);
        return;
    }
    /* the last palette entry is the terminal's own background */
    int ncol = u->cube == 6 ? 241 : 28;
    int a = rgb_pair(u, top), b = no_bottom ? (ncol - 1) * 1000 : rgb_pair(u, bot);
    int slot = (a / 1000) * ncol + b / 1000;
    if (!u->rgb_pair[slot]) {
        init_extended_pair(AX_PAIR_RGB + slot, a % 1000, no_bottom ? -1 : b % 1000);
        u->rgb_pair[slot] = 1;
    }
    static const wchar_t upper[] = { 0x2580, 0 };
    set_cell(y, x, upper, A_NORMAL, AX_PAIR_RGB + slot);
}

void ax_ui_bar(ax_ui *u, int y, int x, int w, double frac, ax_role r)
{
    static const char *const eighths[8] = {
        "", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"
    };
    if (w <= 0) return;
    if (!(frac > 0)) frac = 0;
    if (frac > 1) frac = 1;
    int units = (int)lround(frac * w * 8);
    int full = units / 8, part = units % 8;
    char buf[1024];
    size_t p = 0;
    const char *blk = ax_ui_sym(u, AX_S_FULL);
    for (int i = 0; i < full && p + 4 < sizeof buf; i++) {
        size_t l = strlen(blk);
        memcpy(buf + p, blk, l);
        p += l;
    }
    if (part && full < w && p + 4 < sizeof buf) {
        const char *e = u->utf8 ? eighths[part] : (part >= 4 ? "#" : "");
        size_t l = strlen(e);
        memcpy(buf + p, e, l);
        p += l;
    }
    buf[p] = 0;
    ax_ui_put(u, y, x, w, r, buf);
}

/* ---- scratch ------------------------------------------------------------ */

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n <= *cap) return p;
    size_t c = *cap ? *cap : 1024;
    while (c < n) c *= 2;
    void *q = realloc(p, c * elem);
    if (!q) return NULL;
    *cap = c;
    return q;
}

int *ax_ui_lev(ax_ui *u, size_t n)
{
    int *p = grow(u->lev, &u->lev_cap, n, sizeof *u->lev);
    if (p) u->lev = p;
    return p;
}

float *ax_ui_fbuf(ax_ui *u, size_t n)
{
    float *p = grow(u->fbuf, &u->fbuf_cap, n, sizeof *u->fbuf);
    if (p) u->fbuf = p;
    return p;
}

int *ax_ui_order(ax_ui *u, size_t n)
{
    int *p = grow(u->order, &u->order_cap, n, sizeof *u->order);
    if (p) u->order = p;
    return p;
}

/* ---- layers and caches -------------------------------------------------- */

const ax_tensor *ax_ui_tensor(const ax_ui *u, int i)
{
    if (i >= u->net->nlayers || i >= u->ready) return NULL;
    return ax_net_output(u->net, i);
}

const ax_tensor *ax_ui_shape_of(const ax_ui *u, int i)
{
    return i < 0 ? &u->net->input : &u->net->layers[i].out;
}

const char *ax_ui_layer_name(const ax_ui *u, int i)
{
    return i < 0 ? "input" : u->net->layers[i].spec.name;
}

char *ax_ui_shape_short(const ax_tensor *t, char *buf, size_t size)
{
    if (t->ndim == 4) snprintf(buf, size, "%dx%dx%d", t->shape[1], t->shape[2], t->shape[3]);
    else if (t->ndim == 2) snprintf(buf, size, "%d", t->shape[1]);
    else ax_tensor_shape_str(t, buf, size);
    return buf;
}

const float *ax_ui_data(const ax_ui *u, int i)
{
    const ax_tensor *t = ax_ui_tensor(u, i);
    if (!t) return NULL;
    int n, c, h, w;
    ax_tensor_nchw(t, &n, &c, &h, &w);
    int img = u->image < n ? u->image : n - 1;
    return t->data + (size_t)img * c * h * w;
}

int ax_ui_channels(const ax_ui *u, int i)
{
    const ax_tensor *t = ax_ui_shape_of(u, i);
    int n, c, h, w;
    ax_tensor_nchw(t, &n, &c, &h, &w);
    return c;
}

ax_layer_cache *ax_ui_cache(ax_ui *u, int i)
{
    const ax_tensor *t = ax_ui_tensor(u, i);
    if (!t) return NULL;
    ax_layer_cache *lc = &u->cache[i + 1];
    if (lc->valid) return lc;
    const float *x = ax_ui_data(u, i);
    ax_tensor_nchw(t, &lc->n, &lc->c, &lc->h, &lc->w);
    size_t numel = (size_t)lc->c * lc->h * lc->w;
    ax_stats_compute(&lc->all, x, numel);
    lc->hist_bins = 0;
    if (!lc->ch) lc->ch = calloc((size_t)lc->c, sizeof *lc->ch);
    if (!lc->ch) return NULL;
    ax_channel_stats(lc->ch, x, 1, lc->c, lc->h * lc->w);
    /* an input has no layer type; softmax zeros are probabilities, never dead */
    lc->dead = i < 0 ? ax_dead_count(lc->ch, lc->c, AX_L_RELU) : ax_dead_count(lc->ch, lc->c, u->net->layers[i].spec.type);
    lc->towers = 0;
    lc->valid = 1;
    return lc;
}

void ax_ui_cache_drop(ax_ui *u)
{
    for (int i = 0; u->cache && i <= u->net->nlayers; i++) {
        ax_layer_cache *lc = &u->cache[i];
        free(lc->ch);
        free(lc->supp);
        memset(lc, 0, sizeof *lc);
    }
}

int ax_ui_wstats_ready(ax_ui *u)
{
    pthread_mutex_lock(&u->mu);
    int d = u->w_stats_done;
    pthread_mutex_unlock(&u->mu);
    return d;
}

void ax_ui_clamp(ax_ui *u)
{
    int c = ax_ui_channels(u, u->cur);
    if (u->ch >= c) u->ch = c - 1;
    if (u->ch < 0) u->ch = 0;
}
