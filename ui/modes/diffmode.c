/* Diff mode's state and its helper thread: loads side B (W), computes it
 * layer by layer, then lines it up with the workbench's net
 * (ax_compare_nets / ax_compare_refdir) and diagnoses the first divergent
 * layer (ax_diagnose). Also the layer list marks, ] and the W prompt. */
#include "diffmode.h"
#include "modes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIAG 16

typedef enum {
    PH_NONE,       /* no second side */
    PH_LOAD,       /* the thread opens side B */
    PH_RUN_B,      /* the thread computes side B */
    PH_WAIT_A,     /* side A's remaining layers are being computed by the worker */
    PH_COMPARE,    /* the thread compares and diagnoses */
    PH_READY,
    PH_FAILED
} phase;

/* Fields marked (mu) are shared with the thread, under D->mu. */
typedef struct {
    pthread_mutex_t mu;
    int mu_init;
    phase ph;
    pthread_t thread;
    int live;                 /* a thread to join */
    int busy;                 /* (mu) */
    int cancel;               /* (mu) leaving: stop after the layer being computed */
    int failed;               /* (mu) */
    ax_error err;             /* (mu) */
    int b_done;               /* (mu) side B's layers computed */
    int b_computing;          /* (mu) -1 between layers */
    int asked_a;              /* the worker was asked to run side A to the end */
    int a_stopped;            /* ... and the user stopped that run: wait for a */

    const ax_ui_config *cfg;
    ax_net *a;
    ax_net *b;                /* side B's net, or NULL for a reference folder */
    const ax_refdir *ref;
    const char *map;
    void *handle;             /* side B opened with W, for side_close */
    void (*close)(void *);
    ax_tolerance tol;
    char label[AX_PATH_MAX + 32];
    char what[AX_PATH_MAX];   /* what W asked for */

    ax_comparison cmp;
    int have_cmp;
    ax_diag_result res[MAX_DIAG];
    int nres;
    char diag[600];
    double t0;
} diff_side;

typedef struct {
    int open;
    char text[AX_PATH_MAX];
    int len;
} w_prompt;

typedef struct {
    diff_side side;
    w_prompt prompt;
} diff_state;

static diff_side *side_of(const ax_ui *u)
{
    return &((diff_state *)ax_ui_mode_state(u, AX_M_DIFF))->side;
}

static w_prompt *prompt_of(const ax_ui *u)
{
    return &((diff_state *)ax_ui_mode_state(u, AX_M_DIFF))->prompt;
}

/* ---- the helper thread ---------------------------------------------------- */

static void fail_locked(ax_ui *u, const ax_error *e)
{
    diff_side *D = side_of(u);
    pthread_mutex_lock(&D->mu);
    D->failed = 1;
    D->err = *e;
    D->busy = 0;
    pthread_mutex_unlock(&D->mu);
}

/* Opens side B when W asked for one, then computes its layers. */
static void *run_b(void *arg)
{
    ax_ui *u = arg;
    diff_side *D = side_of(u);
    ax_error e = { 0 };
    if (!D->b) {
        ax_net *net = NULL;
        void *h = NULL;
        char label[sizeof D->label];
        if (D->cfg->side_open(D->cfg->side_ctx, D->what, &net, &h, label, sizeof label, &e)) {
            fail_locked(u, &e);
            return NULL;
        }
        pthread_mutex_lock(&D->mu);
        D->b = net;
        D->handle = h;
        D->close = D->cfg->side_close;
        snprintf(D->label, sizeof D->label, "%s", label);
        pthread_mutex_unlock(&D->mu);
    }
    for (int i = D->b->computed; i < D->b->nlayers; i++) {
        pthread_mutex_lock(&D->mu);
        if (D->cancel) {
            D->busy = 0;
            pthread_mutex_unlock(&D->mu);
            return NULL;
        }
        D->b_computing = i;
        pthread_mutex_unlock(&D->mu);
        pthread_mutex_lock(&u->compute_mu);
        ax_status st = ax_net_step(D->b, i, &e);
        pthread_mutex_unlock(&u->compute_mu);
        if (st) {
            fail_locked(u, &e);
            return NULL;
        }
        pthread_mutex_lock(&D->mu);
        D->b_done = i + 1;
        pthread_mutex_unlock(&D->mu);
    }
    pthread_mutex_lock(&D->mu);
    D->b_computing = -1;
    D->busy = 0;
    pthread_mutex_unlock(&D->mu);
    return NULL;
}

/* The comparison; side A is computed to the end and no longer changes. */
static void *run_compare(void *arg)
{
    ax_ui *u = arg;
    diff_side *D = side_of(u);
    ax_error e = { 0 };
    ax_status st = D->b ? ax_compare_nets(&D->cmp, D->a, D->b, &D->tol, &e)
                       : ax_compare_refdir(&D->cmp, D->a, D->ref, D->map, &D->tol, &e);
    if (st) {
        fail_locked(u, &e);
        return NULL;
    }
    D->have_cmp = 1;
    D->nres = 0;
    D->diag[0] = 0;
    int first = D->cmp.first;
    if (first >= 0) {
        const ax_cmp_row *r = &D->cmp.rows[first];
        ax_diag_case c;
        ax_comparison_case(&c, &D->cmp, first);
        pthread_mutex_lock(&u->compute_mu);
        int n = ax_diagnose(D->res, MAX_DIAG, &c, &e);
        pthread_mutex_unlock(&u->compute_mu);
        if (n < 0) snprintf(D->diag, sizeof D->diag, "diagnosis of %s failed: %.300s", r->name, e.msg);
        else if (n > 0 && D->res[0].explains)
            snprintf(D->diag, sizeof D->diag, "%.250s%s%.250s", D->res[0].what, D->res[0].fix[0] ? "; fix: " : "",
                     D->res[0].fix);
        else
            snprintf(D->diag, sizeof D->diag, "none of the classic conversion bugs explains %s (%d tried)%s", r->name, n,
                     r->shape_ok ? "; the Diff view's table has its per-channel errors" : "");
        D->nres = n < 0 ? 0 : n;
    }
    pthread_mutex_lock(&D->mu);
    D->busy = 0;
    pthread_mutex_unlock(&D->mu);
    return NULL;
}

static int start(ax_ui *u, void *(*fn)(void *))
{
    diff_side *D = side_of(u);
    pthread_mutex_lock(&D->mu);
    D->busy = 1;
    D->failed = 0;
    D->cancel = 0;
    D->b_computing = -1;
    pthread_mutex_unlock(&D->mu);
    if (ax_ui_thread_start(&D->thread, fn, u)) {
        D->busy = 0;
        D->ph = PH_FAILED;
        ax_ui_say(u, AX_R_BAD, "cannot start the diff thread: %s", strerror(errno));
        return 1;
    }
    D->live = 1;
    return 0;
}

static void join(ax_ui *u)
{
    diff_side *D = side_of(u);
    if (D->live) pthread_join(D->thread, NULL);
    D->live = 0;
}

/* Drops the comparison and a side B opened with W. */
static void drop(ax_ui *u)
{
    diff_side *D = side_of(u);
    if (D->mu_init) {
        pthread_mutex_lock(&D->mu);
        D->cancel = 1;
        pthread_mutex_unlock(&D->mu);
    }
    join(u);
    if (D->have_cmp) ax_comparison_free(&D->cmp);
    D->have_cmp = 0;
    if (D->handle && D->close) D->close(D->handle);
    D->handle = NULL;
    D->b = NULL;
    D->ref = NULL;
    D->ph = PH_NONE;
    D->label[0] = 0;
    D->diag[0] = 0;
    D->nres = 0;
}

static void begin(ax_ui *u)
{
    diff_side *D = side_of(u);
    D->cfg = u->cfg;
    D->a = u->net;
    D->tol = u->cfg->diff_tol;
    if (D->tol.atol == 0 && D->tol.atol_of_max == 0 && D->tol.rtol == 0)
        D->tol = (ax_tolerance){ 0.0, AX_DIFF_ATOL_OF_MAX, AX_DIFF_RTOL };
    D->asked_a = 0;
    D->a_stopped = 0;
    D->b_done = D->b ? D->b->computed : 0;
    D->t0 = ax_ui_now();
}

/* ---- the main thread's side ---------------------------------------------- */

static int sync(ax_ui *u)
{
    diff_side *D = side_of(u);
    if (!D->mu_init) {
        pthread_mutex_init(&D->mu, NULL);
        D->mu_init = 1;
        const ax_ui_config *cfg = u->cfg;
        if (cfg->diff_net || cfg->diff_ref) {
            D->b = cfg->diff_net;
            D->ref = cfg->diff_ref;
            D->map = cfg->diff_map;
            snprintf(D->label, sizeof D->label, "%s", cfg->diff_label ? cfg->diff_label : "side B");
            begin(u);
            D->ph = D->b ? PH_RUN_B : PH_WAIT_A;
            if (D->b) start(u, run_b);
        }
    }
    if (D->ph == PH_READY && u->ready < u->net->nlayers) {
        /* side A was recomputed (a what-if): its rows no longer hold */
        join(u);
        ax_comparison_free(&D->cmp);
        D->have_cmp = 0;
        D->asked_a = 0;
        D->a_stopped = 0;
        D->ph = PH_WAIT_A;
        ax_ui_say(u, AX_R_DIM, "diff: side A changed; it is compared again once every layer is computed");
    }
    if (D->ph == PH_NONE || D->ph == PH_READY || D->ph == PH_FAILED) return 0;
    pthread_mutex_lock(&D->mu);
    int busy = D->busy, failed = D->failed;
    ax_error e = D->err;
    pthread_mutex_unlock(&D->mu);
    u->dirty = 1;
    if (busy) return 1;
    join(u);
    if (failed) {
        D->ph = PH_FAILED;
        ax_ui_say(u, AX_R_BAD, "side B: %.300s", e.msg);
        return 0;
    }
    if (D->ph == PH_LOAD || D->ph == PH_RUN_B) D->ph = PH_WAIT_A;
    if (D->ph == PH_WAIT_A) {
        if (u->ready < u->net->nlayers) {
            ax_ui_progress p;
            ax_ui_worker_progress(u, &p);
            if (!p.busy && !D->asked_a) {
                D->asked_a = 1;
                /* the rest of side A is computed where the user stays */
                int cur = u->cur;
                ax_ui_worker_run_to(u, u->net->nlayers - 1);
                u->cur = cur;
                u->follow = 0;
            } else if (!p.busy) {
                /* the user stopped side A's run: the comparison waits for a or n */
                if (!D->a_stopped)
                    ax_ui_say(u, AX_R_DIM, "diff: waiting for every layer of side A (a runs them all)");
                D->a_stopped = 1;
                return 0;
            }
            return 1;
        }
        D->ph = PH_COMPARE;
        start(u, run_compare);
        return 1;
    }
    if (D->ph == PH_COMPARE) {
        D->ph = PH_READY;
        const ax_comparison *c = &D->cmp;
        if (c->compared == 0)
            ax_ui_say(u, AX_R_WARN, "diff: side B has none of side A's tensors");
        else if (c->first < 0)
            ax_ui_say(u, AX_R_GOOD, "diff: all %d compared tensors agree with %s", c->compared, D->label);
        else
            ax_ui_say(u, AX_R_BAD, "diff: first divergence at %s (] jumps there): %s", c->rows[c->first].name,
                      D->diag);
    }
    return 0;
}

const ax_comparison *ax_ui_diff_cmp(const ax_ui *u)
{
    diff_side *D = side_of(u);
    return D->ph == PH_READY && D->have_cmp ? &D->cmp : NULL;
}

const ax_cmp_row *ax_ui_diff_row(const ax_ui *u, int i)
{
    const ax_comparison *c = ax_ui_diff_cmp(u);
    if (!c || i + 1 < 0 || i + 1 >= c->nrows) return NULL;
    return &c->rows[i + 1];
}

const char *ax_ui_diff_label(const ax_ui *u)
{
    diff_side *D = side_of(u);
    return D->ph == PH_NONE ? "" : D->label;
}

const char *ax_ui_diff_diagnosis(const ax_ui *u)
{
    diff_side *D = side_of(u);
    return ax_ui_diff_cmp(u) ? D->diag : "";
}

static int mark(const ax_ui *u, int i, ax_role *role, const char **mark)
{
    const ax_comparison *c = ax_ui_diff_cmp(u);
    const ax_cmp_row *r = ax_ui_diff_row(u, i);
    if (!r) return 0;
    if (!r->b) {
        *role = AX_R_DIM;
        *mark = "-";
    } else if (c->first >= 0 && i + 1 == c->first) {
        *role = AX_R_BAD;
        *mark = "X";
    } else if (r->diverges) {
        *role = AX_R_WARN;
        *mark = "!";
    } else {
        *role = AX_R_GOOD;
        *mark = "=";
    }
    return 1;
}

static int bottom(ax_ui *u, int y)
{
    diff_side *D = side_of(u);
    if (D->ph != PH_LOAD && D->ph != PH_RUN_B && D->ph != PH_COMPARE) return 0;
    pthread_mutex_lock(&D->mu);
    int done = D->b_done, computing = D->b_computing;
    ax_net *b = D->b;
    pthread_mutex_unlock(&D->mu);
    double t = ax_ui_now() - D->t0;
    if (D->ph == PH_LOAD || !b) {
        ax_ui_printf(u, y, 0, COLS, AX_R_WARN, "side B: loading %.200s %.1f s", D->what, t);
        return 1;
    }
    if (D->ph == PH_COMPARE) {
        ax_ui_printf(u, y, 0, COLS, AX_R_WARN, "side B: comparing %d layers and diagnosing %.1f s", b->nlayers, t);
        return 1;
    }
    int shown = computing >= 0 ? computing : done < b->nlayers ? done : b->nlayers - 1;
    int x = ax_ui_printf(u, y, 0, COLS, AX_R_WARN, "side B: computing %s (%d/%d) %.1f s ",
                         b->layers[shown].spec.name, shown + 1, b->nlayers, t);
    int bw = COLS - x - 4;
    if (bw > 30) bw = 30;
    if (bw > 4) {
        ax_ui_put(u, y, x, 1, AX_R_DIM, "[");
        ax_ui_bar(u, y, x + 1, bw, (double)done / b->nlayers, AX_R_BAR);
        ax_ui_put(u, y, x + 1 + bw, 1, AX_R_DIM, "]");
    }
    return 1;
}

static int key(ax_ui *u, int k)
{
    w_prompt *P = prompt_of(u);
    diff_side *D = side_of(u);
    if (k == 'W') {
        if (!u->cfg->side_open) {
            ax_ui_say(u, AX_R_DIM, "W: this workbench cannot load a second side");
            return 1;
        }
        P->open = 1;
        P->len = 0;
        P->text[0] = 0;
        return 1;
    }
    if (k != ']') return 0;
    const ax_comparison *c = ax_ui_diff_cmp(u);
    if (!c) {
        ax_ui_say(u, AX_R_DIM, D->ph == PH_NONE ? "]: no second side; W loads one (weights file or .net spec)"
                                               : "]: side B is not compared yet");
        return 1;
    }
    if (c->first < 0) {
        ax_ui_say(u, AX_R_GOOD, "]: every compared layer agrees");
        return 1;
    }
    u->follow = 0;
    u->cur = c->rows[c->first].layer;
    ax_ui_say(u, AX_R_BAD, "first divergence: %s: %s", c->rows[c->first].name, D->diag);
    return 1;
}

static int prompt_active(ax_ui *u)
{
    w_prompt *P = prompt_of(u);
    return P->open;
}

/* W's Enter: side B from that file, the old one dropped. */
static void load(ax_ui *u)
{
    w_prompt *P = prompt_of(u);
    diff_side *D = side_of(u);
    drop(u);
    snprintf(D->what, sizeof D->what, "%s", P->text);
    snprintf(D->label, sizeof D->label, "%s", P->text);
    begin(u);
    D->b_done = 0;
    D->ph = PH_LOAD;
    start(u, run_b);
}

static void prompt_key(ax_ui *u, int k)
{
    w_prompt *P = prompt_of(u);
    switch (k) {
    case 27: case 7:
        P->open = 0;
        return;
    case '\n': case '\r': case KEY_ENTER:
        P->open = 0;
        if (P->len) load(u);
        return;
    case KEY_BACKSPACE: case 127: case 8:
        if (P->len) {
            /* a whole UTF-8 character */
            do P->len--;
            while (P->len > 0 && ((unsigned char)P->text[P->len] & 0xC0) == 0x80);
            P->text[P->len] = 0;
        }
        return;
    case 21:   /* Ctrl-U */
        P->len = 0;
        P->text[0] = 0;
        return;
    default:
        if (k >= 32 && k < 256 && k != 127 && P->len + 1 < (int)sizeof P->text) {
            P->text[P->len++] = (char)k;
            P->text[P->len] = 0;
        }
        return;
    }
}

static void prompt_draw(ax_ui *u, int y)
{
    w_prompt *P = prompt_of(u);
    static const char ask[] = "side B (weights file or .net spec, Enter loads, Esc cancels): ";
    int x = ax_ui_put(u, y, 0, COLS, AX_R_ACCENT, ask);
    /* the end of a long path stays in sight */
    int room = COLS - x - 1;
    const char *t = P->text;
    if (room > 0 && P->len > room) t += P->len - room;
    x += ax_ui_put(u, y, x, COLS - x, AX_R_NORMAL, t);
    ax_ui_put(u, y, x, 1, AX_R_SELECT, " ");
}

static void release(ax_ui *u)
{
    w_prompt *P = prompt_of(u);
    diff_side *D = side_of(u);
    drop(u);
    if (D->mu_init) pthread_mutex_destroy(&D->mu);
    memset(D, 0, sizeof *D);
    memset(P, 0, sizeof *P);
}

/* D: the Diff view. */
static int open_view(ax_ui *u, int k)
{
    (void)k;
    ax_ui_open_view(u, AX_V_DIFF, 0);
    return 1;
}

static const ax_key keys[] = {
    { { 'D' }, "D", "Diff view: side A against side B", open_view, NULL, NULL, 0, 0, 0 },
    { { 'W' }, "W", "load side B (weights or .net) to compare", key, NULL, NULL, 0, 0, 0 },
    { { ']' }, "]", "first divergent layer (a view's own ] first)", key, NULL, NULL, 0, 0, 0 },
    { { 0 }, NULL, NULL, NULL, NULL, NULL, 0, 0, 0 },
};

const ax_mode ax_mode_diff = {
    .name = "diff",
    .keys = keys,
    .state = sizeof(diff_state),
    .release = release,
    .sync = sync,
    .prompt_active = prompt_active,
    .prompt_key = prompt_key,
    .prompt_draw = prompt_draw,
    .bottom = bottom,
    .mark = mark,
};
