/*
 * progress.h - progress of a long run: when a report is due, the rate since
 * the first sample, the time left, and the report's line.
 *
 * A caller samples its position (units done: rows, offsets, changes) and
 * what is left (units still to go, -1 unknown) whenever oc_progress_due()
 * says so; the first sample is the baseline the rate is measured from, each
 * later one is due an interval after the one before. The rate is the
 * average since the baseline (units per second), the time left the units
 * left at that rate, rounded up.
 *
 * outcomes-rollupd --exit-at-end and outcomes-replay republish and rebuild
 * log the line `progress position=N lag=N rate=N eta_s=N` at notice level
 * every log.progress.interval (OC_PROGRESS_CONF); outcomes-produce draws
 * its rows line (oc_progress_format_rows) on a terminal.
 */
#ifndef OUTCOMES_PROGRESS_H
#define OUTCOMES_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outcomes/config.h" /* OC_CONF_MS */

#ifdef __cplusplus
extern "C" {
#endif

/* The key of the programs that log progress (config.h's tables). */
#define OC_PROGRESS_CONF \
  { \
    "log.progress.interval", OC_CONF_MS, "5s", 0, 86400000, 0, NULL, \
        "period of the progress log line (position, lag, rate, time left); 0: none" \
  }

typedef struct oc_progress_s {
  int64_t interval_ms; /* 0: off */
  int64_t t0;          /* the baseline's time (ms), -1 none yet */
  int64_t pos0;        /* the baseline's position */
  int64_t t_next;      /* when the next sample is due */
  int64_t lines;       /* lines logged by oc_progress_report */
} oc_progress_t;

/* One estimate. */
typedef struct oc_progress_est_s {
  int64_t position; /* as sampled */
  int64_t left;     /* as sampled: -1 unknown */
  double rate;      /* units per second since the baseline (0 at the baseline) */
  int64_t eta_s;    /* seconds left at that rate (0 when nothing is left); -1 unknown */
} oc_progress_est_t;

/* interval_ms 0 turns reports off (oc_progress_due is then never true). */
void oc_progress_init(oc_progress_t *p, int64_t interval_ms);

/* True when a sample is wanted at now_ms: the baseline, then one interval
 * after the last sample. */
bool oc_progress_due(const oc_progress_t *p, int64_t now_ms);

/* Take a sample at now_ms. The first is the baseline and returns false;
 * later ones return true with *out (may be NULL) filled. Either way the
 * next sample is due an interval later. */
bool oc_progress_sample(oc_progress_t *p, int64_t now_ms, int64_t position, int64_t left,
                        oc_progress_est_t *out);

/* The estimate at now_ms without taking a sample (a final report): the
 * rate is 0 before any baseline. */
void oc_progress_estimate(const oc_progress_t *p, int64_t now_ms, int64_t position, int64_t left,
                          oc_progress_est_t *out);

/* The step of a loop that logs its progress: a report is wanted at now_ms
 * when due, or, when last (the loop's end), once a line was logged (a run
 * shorter than the interval logs none). Then the caller measures and calls
 * oc_progress_report, which takes the sample (or, when last, only
 * estimates) and logs the line (oc_progress_log with extra); the baseline
 * logs nothing. */
bool oc_progress_wanted(const oc_progress_t *p, int64_t now_ms, bool last);
void oc_progress_report(oc_progress_t *p, int64_t now_ms, int64_t position, int64_t left, bool last,
                        const char *extra);

/* "position=N lag=N rate=N eta_s=N" into buf (always terminated): lag is
 * left out when unknown, eta_s when it is. The length it needed. */
size_t oc_progress_format(char *buf, size_t cap, const oc_progress_est_t *e);

/* Log "progress <oc_progress_format>[ extra]" at notice level; extra
 * (may be NULL) is more key=value pairs. */
void oc_progress_log(const oc_progress_est_t *e, const char *extra);

/* outcomes-produce's line: "rows read N, sent N, R rows/s, P%, rejected N";
 * sent < 0 leaves "sent" out (a dry run), percent < 0 the percentage (an
 * input of unknown size). The length it needed. */
size_t oc_progress_format_rows(char *buf, size_t cap, uint64_t read, int64_t sent, double rate,
                               int percent, uint64_t rejected);

/* done of total as a whole percentage, rounded down and at most 100; -1
 * when total is not positive or done negative. */
int oc_progress_percent(int64_t done, int64_t total);

#ifdef __cplusplus
}
#endif
#endif
