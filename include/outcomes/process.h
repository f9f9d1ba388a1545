/*
 * process.h - what every program's main() needs alike: exit statuses after
 * sysexits(3) and the SIGTERM/SIGINT counter.
 */
#ifndef OUTCOMES_PROCESS_H
#define OUTCOMES_PROCESS_H

#include <signal.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sysexits(3) values, spelled out: the header is BSD, not POSIX. */
enum {
  OC_EX_OK = 0,
  OC_EX_USAGE = 64,       /* bad command line */
  OC_EX_DATAERR = 65,     /* bad input data */
  OC_EX_NOINPUT = 66,     /* an input (file, topic, row) does not exist */
  OC_EX_UNAVAILABLE = 69, /* Kafka or PostgreSQL unavailable, not delivered */
  OC_EX_SOFTWARE = 70,    /* internal error */
  OC_EX_IOERR = 74,       /* read or write error */
  OC_EX_TEMPFAIL = 75,    /* try again later (interrupted, refused for now) */
  OC_EX_CONFIG = 78,      /* configuration error */
};

/* Count SIGTERM and SIGINT into *counter (1: stop gracefully; 2, where it
 * stays: stop now) and ignore SIGPIPE. counter must live as long as the
 * process (a static volatile sig_atomic_t in main.c); the handler does
 * nothing else. Returns 0, or -1 with errno from sigaction(2). */
int oc_signals_install(volatile sig_atomic_t *counter);

/* The exit status for a failure: OC_ERR_USAGE 64, OC_ERR_CONFIG 78,
 * OC_ERR_NOT_FOUND 66, OC_ERR_KAFKA and OC_ERR_PG 69, OC_ERR_IO 74, data
 * errors 65, anything else 70. */
int oc_exit_status(const oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
