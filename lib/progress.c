/* progress.c - rate, time left and the lines of a long run's progress; see
 * include/outcomes/progress.h. */
#include "outcomes/progress.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "outcomes/log.h"

void oc_progress_init(oc_progress_t *p, int64_t interval_ms) {
  p->interval_ms = interval_ms > 0 ? interval_ms : 0;
  p->t0 = -1;
  p->pos0 = 0;
  p->t_next = 0;
  p->lines = 0;
}

bool oc_progress_due(const oc_progress_t *p, int64_t now_ms) {
  return p->interval_ms > 0 && (p->t0 < 0 || now_ms >= p->t_next);
}

void oc_progress_estimate(const oc_progress_t *p, int64_t now_ms, int64_t position, int64_t left,
                          oc_progress_est_t *out) {
  out->position = position;
  out->left = left < 0 ? -1 : left;
  out->rate = 0.0;
  if (p->t0 >= 0 && now_ms > p->t0 && position > p->pos0)
    out->rate = (double)(position - p->pos0) * 1000.0 / (double)(now_ms - p->t0);
  if (left == 0)
    out->eta_s = 0;
  else if (left < 0 || out->rate <= 0.0)
    out->eta_s = -1;
  else
    out->eta_s = (int64_t)ceil((double)left / out->rate);
}

bool oc_progress_sample(oc_progress_t *p, int64_t now_ms, int64_t position, int64_t left,
                        oc_progress_est_t *out) {
  bool baseline = p->t0 < 0;
  if (baseline) {
    p->t0 = now_ms;
    p->pos0 = position;
  }
  p->t_next = now_ms + p->interval_ms;
  if (baseline)
    return false;
  if (out)
    oc_progress_estimate(p, now_ms, position, left, out);
  return true;
}

bool oc_progress_wanted(const oc_progress_t *p, int64_t now_ms, bool last) {
  return last ? p->interval_ms > 0 && p->lines > 0 : oc_progress_due(p, now_ms);
}

void oc_progress_report(oc_progress_t *p, int64_t now_ms, int64_t position, int64_t left, bool last,
                        const char *extra) {
  oc_progress_est_t e;
  if (last)
    oc_progress_estimate(p, now_ms, position, left, &e);
  else if (!oc_progress_sample(p, now_ms, position, left, &e))
    return;
  oc_progress_log(&e, extra);
  p->lines++;
}

/* snprintf's count, never negative. */
static size_t fitted(int n) { return n < 0 ? 0 : (size_t)n; }

size_t oc_progress_format(char *buf, size_t cap, const oc_progress_est_t *e) {
  char lag[32] = "", eta[32] = "";
  if (e->left >= 0)
    snprintf(lag, sizeof(lag), " lag=%" PRId64, e->left);
  if (e->eta_s >= 0)
    snprintf(eta, sizeof(eta), " eta_s=%" PRId64, e->eta_s);
  return fitted(
      snprintf(buf, cap, "position=%" PRId64 "%s rate=%.0f%s", e->position, lag, e->rate, eta));
}

void oc_progress_log(const oc_progress_est_t *e, const char *extra) {
  char line[256];
  oc_progress_format(line, sizeof(line), e);
  oc_log(LOG_NOTICE, "progress %s%s%s", line, extra && *extra ? " " : "", extra ? extra : "");
}

size_t oc_progress_format_rows(char *buf, size_t cap, uint64_t read, int64_t sent, double rate,
                               int percent, uint64_t rejected) {
  char s[40] = "", pct[16] = "";
  if (sent >= 0)
    snprintf(s, sizeof(s), ", sent %" PRId64, sent);
  if (percent >= 0)
    snprintf(pct, sizeof(pct), ", %d%%", percent);
  return fitted(snprintf(buf, cap, "rows read %" PRIu64 "%s, %.0f rows/s%s, rejected %" PRIu64,
                         read, s, rate, pct, rejected));
}

int oc_progress_percent(int64_t done, int64_t total) {
  if (total <= 0 || done < 0)
    return -1;
  if (done >= total)
    return 100;
  return (int)(done * 100 / total);
}
