/*
 * process.h - what every program's main() needs alike: the SIGTERM/SIGINT
 * counter, and the daemons' SIGHUP flag (exit statuses: oc_err_exit_status()
 * in err.h).
 */
#ifndef OUTCOMES_PROCESS_H
#define OUTCOMES_PROCESS_H

#include <signal.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Count SIGTERM and SIGINT into *counter (1: stop gracefully; 2, where it
 * stays: stop now) and ignore SIGPIPE. counter must live as long as the
 * process (a static volatile sig_atomic_t in main.c); the handler does
 * nothing else. Returns 0, or -1 with errno from sigaction(2). */
int oc_signals_install(volatile sig_atomic_t *counter);

/* Set *flag to 1 on SIGHUP (the daemons: reload the catalog; the daemon
 * sets it back to 0 when it starts reloading). flag lives as long as the
 * process. Returns 0, or -1 with errno from sigaction(2). */
int oc_signals_install_reload(volatile sig_atomic_t *flag);

#ifdef __cplusplus
}
#endif
#endif
