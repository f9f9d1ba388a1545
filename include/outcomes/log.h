/*
 * log.h - one line per event, to stderr, with syslog levels.
 *
 * Lines read `event key=value ...`. Under the systemd journal (JOURNAL_STREAM
 * set) each line starts with "<N>" for its priority and has no timestamp;
 * otherwise it starts with an ISO-8601 UTC timestamp and the level name.
 * Control bytes in the message (a newline in a file name, say) are written
 * as \xNN, so a call is always one line. Never pass a secret to these
 * functions. Not async-signal-safe.
 */
#ifndef OUTCOMES_LOG_H
#define OUTCOMES_LOG_H

#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

#ifdef __cplusplus
extern "C" {
#endif

/* Set the program name printed on each line (borrowed; keep it alive). */
void oc_log_init(const char *progname);

/* Messages above this syslog level are dropped. Default LOG_INFO. */
void oc_log_set_level(int level);
int oc_log_get_level(void);

/* Parse "error", "warning", "notice", "info" or "debug" into a level.
 * Returns -1 for an unknown name. */
int oc_log_level_from_name(const char *name);

void oc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define oc_log_err(...) oc_log(LOG_ERR, __VA_ARGS__)
#define oc_log_warn(...) oc_log(LOG_WARNING, __VA_ARGS__)
#define oc_log_info(...) oc_log(LOG_INFO, __VA_ARGS__)
#define oc_log_debug(...) oc_log(LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
