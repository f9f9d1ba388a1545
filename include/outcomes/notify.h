/*
 * notify.h - the systemd notification protocol for Type=notify daemons
 * (sd_notify(3)): readiness, status, stopping and the watchdog.
 *
 * Every function is a no-op returning 0 when NOTIFY_SOCKET is unset (not
 * started by systemd, or started by a test that does not listen), so the
 * daemons call them unconditionally. The socket may be a path or, with a
 * leading '@', an abstract-namespace address; libsystemd handles both.
 *
 * Return values: 1 when a datagram was sent; 0 when there was nothing to do
 * (no NOTIFY_SOCKET, watchdog disabled or kick not due yet); OC_ERR_IO when
 * sending failed. A send failure is never fatal: systemd notices a daemon
 * that is not ready or not kicking by itself; log it and carry on.
 *
 * Not async-signal-safe and not thread-safe (the watchdog kick keeps the
 * time of the last kick in process-wide state): call from the main loop,
 * never from a signal handler.
 *
 * Typical loop:
 *
 *   oc_notify_ready("consuming %s", topic);
 *   while (!stop) {
 *     ... poll with a timeout <= 100 ms, apply, commit ...
 *     if (loop_made_progress || loop_is_idle_and_healthy)
 *       oc_notify_watchdog_kick(oc_notify_now_usec());
 *   }
 *   oc_notify_stopping();
 */
#ifndef OUTCOMES_NOTIFY_H
#define OUTCOMES_NOTIFY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest STATUS= text sent; longer text is truncated. */
#define OC_NOTIFY_STATUS_MAX 256

/* Send "READY=1", with "STATUS=<text>" in the same datagram when status_fmt
 * is not NULL (printf-style). Call once the daemon does its job: the
 * configuration is loaded, the connections are up and the main loop is
 * about to start; systemd then considers the unit started. */
int oc_notify_ready(const char *status_fmt, ...) __attribute__((format(printf, 1, 2)));

/* Send "STATUS=<text>": one line shown by `systemctl status` (e.g.
 * "consuming, lag 120, 3 partitions" or "waiting for PostgreSQL"). Never
 * put a secret in it. */
int oc_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Send "STOPPING=1": the daemon begins its graceful shutdown (on the first
 * SIGTERM). systemd then waits up to TimeoutStopSec= for the exit. */
int oc_notify_stopping(void);

/* The watchdog interval systemd expects (WatchdogSec=), in microseconds,
 * from sd_watchdog_enabled(3): WATCHDOG_USEC set and WATCHDOG_PID unset or
 * equal to our pid. 0 when the watchdog is disabled. Read afresh on every
 * call (cheap: two getenv). */
uint64_t oc_notify_watchdog_usec(void);

/* Send "WATCHDOG=1" when the watchdog is enabled and at least half the
 * interval has passed since the last kick (the first kick is always sent);
 * otherwise do nothing and return 0. now_usec is a monotonic time in
 * microseconds, normally oc_notify_now_usec().
 *
 * The kick means "this process is doing its job". Call it from the main
 * loop only after an iteration that made progress (a batch committed, a
 * file published) or that was healthily idle (nothing to consume and the
 * connections are fine, or a deliberate backoff that the loop is serving).
 * Never kick from a timer, a separate thread or a signal handler, and do
 * not kick while stuck retrying forever something that cannot succeed:
 * then systemd kills the process with SIGABRT after WatchdogSec= and
 * Restart=on-failure starts a fresh one. The loop must come round at
 * least every half interval (our loops wake every 100 ms). */
int oc_notify_watchdog_kick(uint64_t now_usec);

/* CLOCK_MONOTONIC in microseconds (the clock systemd's watchdog uses). */
uint64_t oc_notify_now_usec(void);

#ifdef __cplusplus
}
#endif
#endif
