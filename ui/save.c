/* Saving the view on show as text files: a plain one drawn in mono (ASCII
 * ramps) and one with ANSI colours, both read back from the screen cells so
 * they hold exactly what the view draws. */
#include "loop.h"
#include "alexscope/fileio.h"
#include "alexscope/text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

static void ansi_colour(FILE *f, int c, int bg)
{
    if (c < 0) fprintf(f, ";%d", bg ? 49 : 39);
    else if (c < 8) fprintf(f, ";%d", (bg ? 40 : 30) + c);
    else if (c < 16) fprintf(f, ";%d", (bg ? 100 : 90) + c - 8);
    else fprintf(f, ";%d;5;%d", bg ? 48 : 38, c);
}

/* Writes screen rows [y, y+h) as text read back from the screen cells. */
static void write_region(FILE *f, int y, int h, int x, int w, int ansi)
{
    char line[8192];
    for (int r = y; r < y + h && r < LINES; r++) {
        size_t p = 0, keep = 0;
        int cf = -1, cb = -1;
        attr_t ca = 0;
        mbstate_t mbs;
        memset(&mbs, 0, sizeof mbs);
        for (int c = x; c < x + w && c < COLS && p + 64 < sizeof line; c++) {
            cchar_t cc;
            wchar_t wc[CCHARW_MAX + 1] = { 0 };
            attr_t a = 0;
            short ps = 0;
            int pair = 0, fg = -1, bg = -1;
            if (mvwin_wch(stdscr, r, c, &cc) == ERR) continue;
            getcchar(&cc, wc, &a, &ps, &pair);
            if (ansi) {
                if (pair > 0) extended_pair_content(pair, &fg, &bg);
                attr_t style = a & (A_BOLD | A_DIM | A_UNDERLINE | A_REVERSE);
                if (fg != cf || bg != cb || style != ca) {
                    /* one escape per change of style, all from a reset */
                    line[p] = 0;
                    fputs(line, f);
                    p = 0;
                    fputs("\x1b[0", f);
                    if (style & A_BOLD) fputs(";1", f);
                    if (style & A_DIM) fputs(";2", f);
                    if (style & A_UNDERLINE) fputs(";4", f);
                    if (style & A_REVERSE) fputs(";7", f);
                    if (fg >= 0) ansi_colour(f, fg, 0);
                    if (bg >= 0) ansi_colour(f, bg, 1);
                    fputc('m', f);
                    cf = fg, cb = bg, ca = style;
                }
            }
            wchar_t ch = wc[0] ? wc[0] : L' ';
            size_t n = wcrtomb(line + p, ch, &mbs);
            if (n == (size_t)-1) {
                line[p] = '?';
                n = 1;
                memset(&mbs, 0, sizeof mbs);
            }
            p += n;
            if (ch != L' ') keep = p;
        }
        if (!ansi) p = keep;   /* trailing blanks carry nothing in plain text */
        line[p] = 0;
        fputs(line, f);
        if (ansi && (cf >= 0 || cb >= 0 || ca)) fputs("\x1b[0m", f);
        fputc('\n', f);
    }
}

static void file_name_part(char *dst, size_t size, const char *src)
{
    size_t p = 0;
    for (; *src && p + 1 < size; src++) {
        unsigned char c = (unsigned char)*src;
        dst[p++] = (char)(isalnum(c) || c == '-' || c == '.' ? tolower(c) : '_');
    }
    dst[p] = 0;
}

int ax_ui_save_view(ax_ui *u, int k)
{
    (void)k;
    char layer[AX_FILE_NAME_MAX], view[24], base[AX_FILE_NAME_MAX + 64], txt[AX_FILE_NAME_MAX + 80],
        ans[AX_FILE_NAME_MAX + 80];
    ax_name_to_file(layer, sizeof layer, ax_ui_layer_name(u, u->cur));
    file_name_part(view, sizeof view, u->views[u->view]->name);
    if (u->nimages > 1) snprintf(base, sizeof base, "alexscope-%s-%s-image%d", layer, view, u->image + 1);
    else snprintf(base, sizeof base, "alexscope-%s-%s", layer, view);
    for (int k = 1; k < 1000; k++) {
        if (k == 1) {
            snprintf(txt, sizeof txt, "%s.txt", base);
            snprintf(ans, sizeof ans, "%s.ans", base);
        } else {
            snprintf(txt, sizeof txt, "%s-%d.txt", base, k);
            snprintf(ans, sizeof ans, "%s-%d.ans", base, k);
        }
        if (access(txt, F_OK) && access(ans, F_OK)) break;
    }
    ax_file_out ot, oa;
    ax_error err;
    if (ax_file_create(&ot, txt, &err) || (ax_file_create(&oa, ans, &err) && (ax_file_abandon(&ot), 1))) {
        ax_ui_say(u, AX_R_BAD, "cannot save: %.200s", err.msg);
        return 1;
    }
    FILE *ft = ot.fp, *fa = oa.fp;
    char shape[48], img[48] = "";
    ax_tensor_shape_str(ax_ui_shape_of(u, u->cur), shape, sizeof shape);
    if (u->nimages > 1) snprintf(img, sizeof img, ", image %d of %d", u->image + 1, u->nimages);
    char head[1600];
    snprintf(head, sizeof head, "alexscope %s, %s %s%s, %s view, %s\n", ax_text_safe(u->net->spec.name),
             ax_text_safe(ax_ui_layer_name(u, u->cur)), shape, img, u->views[u->view]->name,
             u->net->untrained ? "UNTRAINED seeded weights" : ax_text_safe(u->net->weights_path));
    fputs(head, ft);
    fputs(head, fa);
    /* the plain file is drawn in mono (ASCII ramps instead of colours), the ANSI one in colour */
    int colour = u->colour, help = u->help;
    u->help = 0;
    ax_rect pane = ax_ui_pane(u);
    u->colour = 0;
    ax_ui_draw_all(u);
    write_region(ft, pane.y, pane.h, pane.x, pane.w, 0);
    u->colour = u->can_colour;
    ax_ui_draw_all(u);
    write_region(fa, pane.y, pane.h, pane.x, pane.w, 1);
    u->colour = colour;
    u->help = help;
    int okt = !ferror(ft), oka = !ferror(fa);
    if (ax_file_commit(&ot, okt, &err) | ax_file_commit(&oa, oka, &err)) {
        ax_ui_say(u, AX_R_BAD, "saving failed: %.200s", err.msg);
        return 1;
    }
    ax_ui_say(u, AX_R_GOOD, "saved %.140s (plain) and %.140s (ANSI colours)", txt, ans);
    return 1;
}
