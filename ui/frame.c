/* The frame around the views: the header, the layer list (which the mouse
 * can click), the status line and the bottom line (prompt, progress, the
 * last message, or the keys of the view on show). */
#include "loop.h"
#include "teach.h"

#include <stdio.h>
#include <string.h>

/* The first list row on screen: the current row stays in view, a little
 * below the middle when the list scrolls. */
static int list_top(const ax_ui *u)
{
    int h = LINES - 3, total = u->net->nlayers + 1, top = 0;
    if (total > h) {
        top = (u->cur + 1) - h / 2;
        if (top < 0) top = 0;
        if (top > total - h) top = total - h;
    }
    return top;
}

int ax_ui_list_hit(const ax_ui *u, int y)
{
    if (!ax_ui_list_width(u) || y < 1 || y >= LINES - 2) return -2;
    int i = list_top(u) + (y - 1) - 1;
    return i < u->net->nlayers ? i : -2;
}

static void draw_header(ax_ui *u)
{
    char shape[48];
    const ax_tensor *t = ax_ui_shape_of(u, u->cur);
    ax_tensor_shape_str(t, shape, sizeof shape);
    ax_ui_fill(u, 0, 0, COLS, AX_R_TITLE);
    char right[64], img[40] = "";
    char vkey[16];
    if (u->view == AX_V_DIFF) snprintf(vkey, sizeof vkey, "D");
    else snprintf(vkey, sizeof vkey, "%d", u->view == AX_V_SALIENCY ? 0 : u->view + 1);
    snprintf(right, sizeof right, COLS >= 100 ? " [%s %s] 1-9 Tab  ? help " : " [%s %s] ? help ", vkey,
             u->views[u->view]->name);
    if (u->nimages > 1) snprintf(img, sizeof img, "  %s image %d/%d", ax_ui_sym(u, AX_S_DOT), u->image + 1, u->nimages);
    int rl = (int)strlen(right);
    char left[256];
    char wi[120] = "", wt[100];
    if (ax_ui_whatif_text(u, wt, sizeof wt)) snprintf(wi, sizeof wi, "  ! what-if: %s", wt);
    snprintf(left, sizeof left, " alexscope %s %s %s %s %s  %d/%d%s%s", ax_ui_sym(u, AX_S_DOT), u->net->spec.name,
             ax_ui_sym(u, AX_S_DOT), ax_ui_layer_name(u, u->cur), shape, u->cur + 1, u->net->nlayers, img, wi);
    /* the right part (view name, help key) gives way first: the pane's title names the view */
    int cells = 0;
    for (const char *c = left; *c; c++) cells += ((unsigned char)*c & 0xC0) != 0x80;
    if (cells + rl <= COLS) ax_ui_put(u, 0, COLS - rl, rl, AX_R_TITLE, right);
    else rl = 0;
    ax_ui_put(u, 0, 0, COLS - rl, AX_R_TITLE, left);
}

static void list_row(ax_ui *u, int y, int w, int i, int computing)
{
    char shape[32], line[200];
    const ax_tensor *t = ax_ui_shape_of(u, i);
    ax_ui_shape_short(t, shape, sizeof shape);
    const char *type = i < 0 ? "" : ax_layer_type_name(u->net->layers[i].spec.type);
    int nw = ax_ui_name_width(u);
    char nm[64], ty[32], sh[48];
    ax_ui_cell(u, nm, sizeof nm, ax_ui_layer_name(u, i), nw);
    if (COLS >= 110)
        snprintf(line, sizeof line, "%3s %s %s %s ", "", nm, ax_ui_cell(u, ty, sizeof ty, type, 7),
                 ax_ui_cell(u, sh, sizeof sh, shape, 11));
    else if (nw <= 8)
        snprintf(line, sizeof line, "%2s %s %s %s ", "", nm, ax_ui_cell(u, ty, sizeof ty, type, 4),
                 ax_ui_cell(u, sh, sizeof sh, shape, 9));
    else
        snprintf(line, sizeof line, "%2s %s %s ", "", nm, ax_ui_cell(u, sh, sizeof sh, shape, 9));
    if (i >= 0) {
        char idx[8];
        snprintf(idx, sizeof idx, COLS >= 110 ? "%3d" : "%2d", i + 1);
        memcpy(line, idx, strlen(idx));
    }
    /* diff mode: the layer's agreement with side B */
    ax_role dr = AX_R_NORMAL;
    const char *dm = NULL;
    int marked = 0;
    for (int m = 0; m < AX_M_COUNT && !marked; m++)
        if (u->modes[m]->mark) marked = u->modes[m]->mark(u, i, &dr, &dm);
    ax_role role = i == u->cur ? AX_R_SELECT : marked && dr != AX_R_GOOD ? dr : AX_R_NORMAL;
    ax_ui_fill(u, y, 0, w, role);
    int n = ax_ui_put(u, y, 0, w - 1, role, line);
    if (marked) ax_ui_put(u, y, n, 1, i == u->cur ? role : dr, dm);
    else if (computing >= 0 && i == computing) ax_ui_put(u, y, n, 1, i == u->cur ? role : AX_R_WARN, "~");
    else if (i < u->ready) ax_ui_put(u, y, n, 1, i == u->cur ? role : AX_R_GOOD, ax_ui_sym(u, AX_S_DONE));
    else ax_ui_put(u, y, n, 1, i == u->cur ? role : AX_R_DIM, ax_ui_sym(u, AX_S_DOT));
}

static void draw_list(ax_ui *u, int computing)
{
    int w = ax_ui_list_width(u);
    if (!w) return;
    int h = LINES - 3, total = u->net->nlayers + 1, top = list_top(u);
    for (int r = 0; r < h && top + r < total; r++) list_row(u, 1 + r, w, top + r - 1, computing);
    ax_ui_vline(u, 1, w, h, AX_R_DIM);
}

static void draw_status(ax_ui *u)
{
    int y = LINES - 2;
    ax_ui_fill(u, y, 0, COLS, AX_R_STATUS);
    const char *bar = ax_ui_sym(u, AX_S_VLINE);
    /* a spec given as a path is named by its file, so the counts after it stay in sight */
    const char *model = u->cfg->model_name ? u->cfg->model_name : u->net->spec.name;
    const char *mslash = strrchr(model, '/');
    int x = ax_ui_printf(u, y, 0, COLS, AX_R_STATUS, " %s %s ", mslash ? mslash + 1 : model, bar);
    if (u->net->untrained) {
        x += ax_ui_put(u, y, x, COLS - x, u->colour ? AX_R_BAD : AX_R_STATUS, "UNTRAINED seeded weights");
    } else {
        const char *p = strrchr(u->net->weights_path, '/');
        x += ax_ui_printf(u, y, x, COLS - x, AX_R_STATUS, "weights %s", p ? p + 1 : u->net->weights_path);
    }
    /* what loading said stays in sight: how many notes and warnings, 9 shows them */
    int notes = 0, warns = 0;
    for (const char *m = u->cfg->messages; m && *m; m = strchr(m, '\n') ? strchr(m, '\n') + 1 : "") {
        if (!strncmp(m, "warning", 7)) warns++;
        else if (*m != '\n') notes++;
    }
    if (warns)
        x += ax_ui_printf(u, y, x, COLS - x, u->colour ? AX_R_WARN : AX_R_STATUS, " %d warning%s (key 9)", warns,
                          warns > 1 ? "s" : "");
    else if (notes)
        x += ax_ui_printf(u, y, x, COLS - x, AX_R_STATUS, " %d note%s (key 9)", notes, notes > 1 ? "s" : "");
    /* a what-if stays in sight until it is undone */
    char wt[100];
    if (ax_ui_whatif_text(u, wt, sizeof wt))
        x += ax_ui_printf(u, y, x, COLS - x, u->colour ? AX_R_WARN : AX_R_STATUS, " %s WHAT-IF %s", bar, wt);
    const char *img = u->cfg->image_path ? u->cfg->image_path : u->cfg->input_path;
    const char *slash = img ? strrchr(img, '/') : NULL;
    char tm[96] = "";
    /* narrow screens leave out what the header already says */
    const char *lname = COLS >= 100 && u->cur >= 0 ? u->net->layers[u->cur].spec.name : "";
    if (u->cur >= 0 && u->cur < u->ready)
    {
        const ax_layer *l = &u->net->layers[u->cur];
        if (ax_net_on_host(u->net))
            snprintf(tm, sizeof tm, "%.40s%s%.2f ms", lname, lname[0] ? " " : "", l->ms);
        else    /* kernel time, then the copy the view needed */
            snprintf(tm, sizeof tm, "%.40s%s%.2f ms + %.2f ms copy", lname, lname[0] ? " " : "", l->ms,
                     l->host_valid ? l->xfer_ms : 0.0);
    }
    else if (u->cur >= 0)
        snprintf(tm, sizeof tm, "%.40s%snot computed", lname, lname[0] ? " " : "");
    double mib = ((double)(u->net->wcount + u->net->acount) * sizeof(float) + (double)u->net->backend_bytes) / 1048576.0;
    ax_ui_printf(u, y, x, COLS - x, AX_R_STATUS, " %s %s %s %s %s %s%s%s %s%.0f MiB ", bar,
                 u->cfg->device_name ? u->cfg->device_name : u->net->backend->name, bar,
                 img ? (slash ? slash + 1 : img) : "-", bar, tm, tm[0] ? " " : "", tm[0] ? bar : "",
                 COLS >= 100 ? "mem " : "", mib);
}

/* The bottom line while a run is in progress. */
static void progress_line(ax_ui *u, int y, const ax_ui_progress *p)
{
    if (p->job) {
        ax_ui_printf(u, y, 0, COLS, AX_R_WARN, "computing %s %.1f s", p->job, ax_ui_now() - p->layer_t0);
        return;
    }
    int done = u->ready - p->from, todo = p->target + 1 - p->from;
    if (todo < 1) todo = 1;
    int computing = p->computing;
    if (computing < 0) computing = u->ready < u->net->nlayers ? u->ready : u->net->nlayers - 1;
    double elapsed = p->computing >= 0 ? ax_ui_now() - p->layer_t0 : 0.0;
    int x = ax_ui_printf(u, y, 0, COLS, AX_R_WARN, "computing %s (%d/%d, to %s) %.1f s ",
                         u->net->layers[computing].spec.name, computing + 1, u->net->nlayers,
                         u->net->layers[p->target < u->net->nlayers ? p->target : u->net->nlayers - 1].spec.name,
                         elapsed);
    int bw = COLS - x - 24;
    if (bw > 30) bw = 30;
    if (bw > 4) {
        ax_ui_put(u, y, x, 1, AX_R_DIM, "[");
        ax_ui_bar(u, y, x + 1, bw, (double)done / todo, AX_R_BAR);
        ax_ui_put(u, y, x + 1 + bw, 1, AX_R_DIM, "]");
        x += bw + 2;
    }
    ax_ui_put(u, y, x, COLS - x, AX_R_DIM, "  x: stop after this layer");
}

static void draw_bottom(ax_ui *u, const ax_ui_progress *p)
{
    int y = LINES - 1;
    ax_ui_fill(u, y, 0, COLS, AX_R_NORMAL);
    for (int m = 0; m < AX_M_COUNT; m++)
        if (u->modes[m]->prompt_active && u->modes[m]->prompt_active(u)) {
            u->modes[m]->prompt_draw(u, y);
            return;
        }
    if (p->busy) {
        progress_line(u, y, p);
        return;
    }
    for (int m = 0; m < AX_M_COUNT; m++)
        if (u->modes[m]->bottom && u->modes[m]->bottom(u, y)) return;
    if (u->msg[0]) {
        ax_ui_put(u, y, 0, COLS, u->msg_role, u->msg);
        return;
    }
    /* the view's own keys on the left, the ones that work everywhere on the right */
    const char *q = u->nback ? "q back" : "q quit";
    char global[120];
    if (COLS >= 150)
        snprintf(global, sizeof global, "n/p layer  g run to  / find  a all  1-9 Tab views  s save  ? help  %s", q);
    else if (COLS >= 110)
        snprintf(global, sizeof global, "n/p layer  g run to  / find  a all  ? help  %s", q);
    else
        snprintf(global, sizeof global, "n/p layer  ? help  %s", q);
    int gl = (int)strlen(global);
    char own[200];
    ax_ui_key_bar(u, ax_ui_view_on_show(u)->keys, COLS - gl - 3, own, sizeof own);
    if (own[0] && COLS - gl - 3 > 8) {
        ax_ui_put(u, y, 0, COLS - gl - 3, AX_R_ACCENT, own);
        ax_ui_put(u, y, COLS - gl - 2, 1, AX_R_DIM, ax_ui_sym(u, AX_S_VLINE));
    }
    ax_ui_put(u, y, COLS - gl, gl, AX_R_DIM, global);
}

void ax_ui_key_bar(const ax_ui *u, const ax_key *t, int cols, char *out, size_t size)
{
    size_t n = 0;
    out[0] = 0;
    for (; t && (t->keys || t->modes); t++) {
        const char *w = u->nback && t->bar_back ? t->bar_back : t->bar;
        if (!w || (t->bar_cols && COLS < t->bar_cols)) continue;
        size_t len = strlen(w);
        if ((int)(n + (n ? 2 : 0) + len) > cols || n + len + 3 > size) break;
        n += (size_t)snprintf(out + n, size - n, "%s%s", n ? "  " : "", w);
    }
}

void ax_ui_draw_all(ax_ui *u)
{
    ax_ui_progress p;
    ax_ui_worker_progress(u, &p);
    erase();
    if (COLS < 40 || LINES < 10) {
        ax_ui_put(u, 0, 0, COLS, AX_R_BAD, "terminal too small");
        ax_ui_put(u, 1, 0, COLS, AX_R_NORMAL, "need 40x10; Q quits");
        return;
    }
    draw_header(u);
    draw_list(u, p.computing);
    ax_ui_clamp(u);
    ax_rect pane = ax_ui_pane(u);
    ax_ui_view_on_show(u)->draw(u, pane);
    draw_status(u);
    draw_bottom(u, &p);
    if (u->help) ax_ui_help_draw(u);
}
