/* notify.c - sd_notify wrapper for Type=notify daemons; see
 * include/outcomes/notify.h. */
#include "outcomes/notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "outcomes/err.h"

/* The last watchdog kick sent (main loop only; see the header). */
static bool g_kicked;
static uint64_t g_last_kick_usec;

/* Send one datagram; map sd_notify's result to ours. */
static int send_state(const char *state) {
  int r = sd_notify(0, state);
  if (r < 0)
    return OC_ERR_IO;
  return r > 0 ? 1 : 0;
}

/* Append "STATUS=<fmt...>" to buf holding prefix; the text stops at the
 * first newline (a newline would start another assignment). */
static void format_status(char *buf, size_t size, const char *prefix, const char *fmt, va_list ap) {
  size_t n = (size_t)snprintf(buf, size, "%sSTATUS=", prefix);
  char *text = buf + n;

  if (n >= size)
    return;
  vsnprintf(text, size - n, fmt, ap);
  text[strcspn(text, "\n")] = '\0';
}

int oc_notify_ready(const char *status_fmt, ...) {
  char buf[OC_NOTIFY_STATUS_MAX + sizeof("READY=1\nSTATUS=")];
  va_list ap;

  if (!status_fmt)
    return send_state("READY=1");
  va_start(ap, status_fmt);
  format_status(buf, sizeof(buf), "READY=1\n", status_fmt, ap);
  va_end(ap);
  return send_state(buf);
}

int oc_notify_status(const char *fmt, ...) {
  char buf[OC_NOTIFY_STATUS_MAX + sizeof("STATUS=")];
  va_list ap;

  va_start(ap, fmt);
  format_status(buf, sizeof(buf), "", fmt, ap);
  va_end(ap);
  return send_state(buf);
}

int oc_notify_stopping(void) { return send_state("STOPPING=1"); }

uint64_t oc_notify_watchdog_usec(void) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0)
    return 0;
  return usec;
}

int oc_notify_watchdog_kick(uint64_t now_usec) {
  uint64_t interval = oc_notify_watchdog_usec();
  int rc;

  if (interval == 0)
    return 0;
  /* A time before the last kick means another clock: kick and restart. */
  if (g_kicked && now_usec >= g_last_kick_usec && now_usec - g_last_kick_usec < interval / 2)
    return 0;
  rc = send_state("WATCHDOG=1");
  if (rc == 1) {
    g_kicked = true;
    g_last_kick_usec = now_usec;
  }
  return rc;
}

uint64_t oc_notify_now_usec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
