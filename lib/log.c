/* log.c - line logger to stderr; see include/outcomes/log.h. */
#include "outcomes/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_progname = "outcomes";
static int log_level = LOG_INFO;
static int log_journal = -1; /* -1 unknown, 0 no, 1 yes */

static const char *const level_names[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void oc_log_init(const char *progname) {
  if (progname)
    log_progname = progname;
  log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void oc_log_set_level(int level) {
  if (level < LOG_EMERG)
    level = LOG_EMERG;
  if (level > LOG_DEBUG)
    level = LOG_DEBUG;
  log_level = level;
}

int oc_log_get_level(void) { return log_level; }

int oc_log_level_from_name(const char *name) {
  for (int i = 0; i <= LOG_DEBUG; i++)
    if (name && strcmp(name, level_names[i]) == 0)
      return i;
  if (name && strcmp(name, "warn") == 0)
    return LOG_WARNING;
  if (name && strcmp(name, "err") == 0)
    return LOG_ERR;
  return -1;
}

/* Copy s to out[0..cap) with every control byte (and DEL) written as \xNN,
 * cut to fit: a text from outside (a file name, a broker's or server's
 * error) can then neither end the line nor start a forged journal line of
 * its own ("\n<0>..."). */
static void escape_controls(const char *s, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;

  for (const unsigned char *u = (const unsigned char *)s; *u && o + 1 < cap; u++) {
    if (*u >= 0x20 && *u != 0x7F) {
      out[o++] = (char)*u;
      continue;
    }
    if (o + 5 > cap)
      break;
    out[o++] = '\\';
    out[o++] = 'x';
    out[o++] = hex[*u >> 4];
    out[o++] = hex[*u & 0xF];
  }
  out[o] = '\0';
}

void oc_log(int level, const char *fmt, ...) {
  char line[2048], msg[2048];
  size_t n = 0;
  va_list ap;

  if (level > log_level)
    return;
  if (level < LOG_EMERG)
    level = LOG_EMERG;
  if (level > LOG_DEBUG)
    level = LOG_DEBUG;
  if (log_journal < 0)
    log_journal = getenv("JOURNAL_STREAM") != NULL;

  if (log_journal) {
    n = (size_t)snprintf(line, sizeof(line), "<%d>", level);
  } else {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%s] ", ts.tv_nsec / 1000000L,
                          log_progname, level_names[level]);
  }
  if (n >= sizeof(line))
    n = sizeof(line) - 1;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  escape_controls(msg, line + n, sizeof(line) - n);
  /* One write per line keeps lines whole when several threads log. */
  fprintf(stderr, "%s\n", line);
}
