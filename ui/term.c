/* The terminal side of the workbench: whether the terminal can be driven at
 * all (checked before curses starts), the clock, and signal handling that
 * always ends curses. Draws nothing and knows no view. */
#include "core.h"

#include <langinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>

#include "alexscope/clock.h"
#include <time.h>
#include <unistd.h>

double ax_ui_now(void)
{
    return ax_clock_ms() * 1e-3;   /* seconds, on the program's one clock */
}

int ax_ui_locale_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

int ax_ui_terminal_check(ax_error *err)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return ax_fail(err, AX_ERR_ARG, "the workbench needs a terminal on stdin and stdout "
                       "(use `alexscope dump IMAGE` in scripts)");
    const char *term = getenv("TERM");
    int errret = 0;
    /* setupterm reads the terminfo entry without touching the screen */
    if (!term || !*term || setupterm(NULL, STDOUT_FILENO, &errret) != OK)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "TERM=%s is %s, so the workbench cannot draw here; "
                       "`alexscope dump IMAGE` prints the same facts as text", term && *term ? term : "(unset)",
                       term && *term ? "not in the terminfo database" : "not set");
    const char *cup = tigetstr("cup");
    int hard = tigetflag("hc") > 0;
    del_curterm(cur_term);
    if (hard || !cup || cup == (char *)-1)
        return ax_fail(err, AX_ERR_UNSUPPORTED, "the terminal TERM=%s cannot move the cursor, so the workbench "
                       "cannot draw here; `alexscope dump IMAGE` prints the same facts as text", term);
    return 0;
}

/* ---- signals ------------------------------------------------------------ */

/* The only process-wide state of the workbench: a signal handler is handed
 * nothing, so what it sets and what it restores must be reachable from here. */
static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_curses_on;

/* SIGQUIT is Ctrl-\ (or a 0x1c in a paste): a quit like Ctrl-C, not a core
 * dump that leaves the terminal raw. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NSTOP ((int)(sizeof stop_signals / sizeof stop_signals[0]))
#define NFATAL ((int)(sizeof fatal_signals / sizeof fatal_signals[0]))

static struct sigaction old_stop[NSTOP], old_fatal[NFATAL];

static void on_stop_signal(int sig)
{
    if (g_signal) {
        /* a second Ctrl-C while the loop is stuck: leave now, terminal restored */
        if (g_curses_on) endwin();
        _exit(128 + (sig == SIGQUIT ? SIGINT : sig));
    }
    g_signal = sig == SIGQUIT ? SIGINT : sig;
}

static void on_fatal_signal(int sig)
{
    if (g_curses_on) {
        g_curses_on = 0;
        endwin();
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void end_curses_at_exit(void)
{
    if (g_curses_on) {
        g_curses_on = 0;
        endwin();
    }
}

void ax_ui_signals_on(void)
{
    static int at_exit_set;
    if (!at_exit_set && !atexit(end_curses_at_exit)) at_exit_set = 1;
    g_signal = 0;
    g_curses_on = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;   /* no SA_RESTART: getch returns at once */
    for (int i = 0; i < NSTOP; i++) sigaction(stop_signals[i], &sa, &old_stop[i]);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND;
    for (int i = 0; i < NFATAL; i++) sigaction(fatal_signals[i], &sa, &old_fatal[i]);
}

void ax_ui_signals_off(void)
{
    g_curses_on = 0;
    for (int i = 0; i < NSTOP; i++) sigaction(stop_signals[i], &old_stop[i], NULL);
    for (int i = 0; i < NFATAL; i++) sigaction(fatal_signals[i], &old_fatal[i], NULL);
}

int ax_ui_signal_caught(void)
{
    return g_signal;
}

void ax_ui_signal_set(int sig)
{
    g_signal = sig;
}

int ax_ui_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t block, old;
    sigemptyset(&block);
    for (int i = 0; i < NSTOP; i++) sigaddset(&block, stop_signals[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
