/* rollupd_health.c - what outcomes-rollupd says about itself: /readyz, the
 * up/down state of PostgreSQL and Kafka, the accounting of committed and
 * failed batches (counters, metrics, the run of failures and its backoff),
 * and the stats line. See rollupd_internal.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "outcomes/log.h"
#include "rollupd_internal.h"

/* /readyz: not ready while PostgreSQL is away or since ready.max.failures
 * batches in a row failed on a live connection (disk full, a revoked
 * permission, a statement timeout...); ready again at the next commit, or
 * when the partitions of the failing batches are revoked. The reason holds
 * no conninfo and no row data. */
void oc_rd_publish_ready(oc_rd_t *d) {
  char reason[OC_ROLLUPD_FAIL_REASON_MAX + 96];
  if (!d->pg_up) {
    oc_rmetrics_ready(d->metrics, false, "PostgreSQL unavailable");
    return;
  }
  if (d->failures < d->ready_max_failures) {
    oc_rmetrics_ready(d->metrics, true, NULL);
    return;
  }
  snprintf(reason, sizeof(reason), "batches failing: %s for %" PRId64 " s, %" PRId64 " attempts",
           d->fail_reason, (oc_clock_ms() - d->t_fail_first) / 1000, d->failures);
  oc_rmetrics_ready(d->metrics, false, reason);
}

void oc_rd_pg_state(oc_rd_t *d, bool up, const oc_err_t *err) {
  if (up == d->pg_up)
    return;
  d->pg_up = up;
  oc_rmetrics_state(d->metrics, d->pg_up, d->kafka_up);
  oc_rd_publish_ready(d);
  if (up)
    oc_log_info("pg_up");
  else
    oc_log_err("pg_down error=\"%s\" backoff_max_ms=%" PRId64, err ? err->msg : "",
               d->backoff.max_ms);
}

void oc_rd_kafka_state(oc_rd_t *d, bool up, int code, const char *reason) {
  if (up == d->kafka_up && (up || code == d->last_kafka_err))
    return;
  d->kafka_up = up;
  d->last_kafka_err = code;
  oc_rmetrics_state(d->metrics, d->pg_up, d->kafka_up);
  if (up)
    oc_log_info("kafka_up");
  else
    oc_log_warn("kafka_error code=%s reason=\"%s\"", rd_kafka_err2name(code), reason);
}

void oc_rd_log_stats(oc_rd_t *d, const char *event) {
  char reasons[512];
  size_t n = 0;
  reasons[0] = '\0';
  for (int i = 0; i < 64 && n < sizeof(reasons) - 64; i++)
    if (d->dead_by_code[i])
      n += (size_t)snprintf(reasons + n, sizeof(reasons) - n, " dead_%s=%" PRId64,
                            oc_err_code_name(-i), d->dead_by_code[i]);
  double secs = (double)(oc_clock_ms() - d->t_start) / 1000.0;
  oc_log_info("%s batches=%" PRId64 " consumed=%" PRId64 " applied=%" PRId64 " stale=%" PRId64
              " dead_lettered=%" PRId64 " conflicts=%" PRId64 " retries=%" PRId64
              " records_per_s=%.0f%s",
              event, d->n_batches, d->n_consumed, d->n_applied, d->n_stale, d->n_dead,
              d->n_conflicts, d->n_retries, secs > 0 ? (double)d->n_consumed / secs : 0.0, reasons);
  d->t_stats = oc_clock_ms();
}

void oc_rd_log_progress(oc_rd_t *d, bool last) {
  int64_t t = oc_clock_ms(), pos, lag;
  if (oc_progress_wanted(&d->progress, t, last) && oc_rd_position(d, &pos, &lag))
    oc_progress_report(&d->progress, t, pos, lag, last, NULL);
}

static void count_dead(const char *code, int64_t n, void *arg) {
  oc_rd_t *d = arg;
  for (int i = 0; i < 64; i++)
    if (strcmp(oc_err_code_name(-i), code) == 0)
      d->dead_by_code[i] += n;
  oc_rmetrics_dead(d->metrics, code, n);
}

void oc_rd_batch_committed(oc_rd_t *d, size_t count, int64_t ms) {
  int64_t applied = 0, stale = 0, dead = 0;
  for (size_t i = 0; i < oc_batch_part_count(d->batch); i++) {
    const oc_batch_part_t *bp = oc_batch_part_at(d->batch, i);
    oc_rd_part_t *p = oc_rd_part_find(d, bp->partition);
    if (p)
      p->stored = bp->next;
    int64_t lo = -1, hi = -1; /* cached by librdkafka: no request */
    if (rd_kafka_get_watermark_offsets(d->rk, d->topic, bp->partition, &lo, &hi) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
      hi = -1;
    oc_rmetrics_partition(d->metrics, bp->partition, bp->next, hi, true);
    applied += bp->applied;
    stale += bp->stale;
    dead += bp->dead_lettered;
  }
  int64_t retries = oc_batch_retries(d->batch);
  oc_batch_dead_letter_counts(d->batch, count_dead, d);
  oc_rmetrics_batch(d->metrics, (int64_t)count, applied, stale, (double)ms / 1000.0);
  oc_rmetrics_batch_retries(d->metrics, retries);
  d->n_batches++;
  d->n_consumed += (int64_t)count;
  d->n_applied += applied;
  d->n_stale += stale;
  d->n_dead += dead;
  d->n_retries += retries;
  oc_log_debug("batch_applied messages=%zu partitions=%zu applied=%" PRId64 " stale=%" PRId64
               " dead_lettered=%" PRId64 " retries=%" PRId64 " ms=%" PRId64,
               count, oc_batch_part_count(d->batch), applied, stale, dead, retries, ms);
  if (d->failures) {
    bool was_unready = d->failures >= d->ready_max_failures;
    oc_log_info("batch_recovered after_failures=%" PRId64 " failing_s=%" PRId64, d->failures,
                (oc_clock_ms() - d->t_fail_first) / 1000);
    d->failures = 0;
    d->t_fail_log = 0;
    oc_rmetrics_consecutive_failures(d->metrics, 0);
    if (was_unready)
      oc_rd_publish_ready(d);
  }
  oc_backoff_reset(&d->backoff);
  d->last_failure[0] = '\0';
  oc_rd_pg_state(d, true, NULL);
}

void oc_rd_failures_forget(oc_rd_t *d, const char *why) {
  if (!d->failures)
    return;
  oc_log_info("batch_failures_forgotten reason=%s after_failures=%" PRId64 " failing_s=%" PRId64,
              why, d->failures, (oc_clock_ms() - d->t_fail_first) / 1000);
  d->failures = 0;
  d->t_fail_log = 0;
  d->last_failure[0] = '\0';
  oc_rmetrics_consecutive_failures(d->metrics, 0);
  oc_rd_publish_ready(d);
}

/* The short form of a failure for /readyz, which answers without
 * authentication: "SQLSTATE 53100", or the error's code name; never the
 * server's text, which may quote values, nor the conninfo. */
static void fail_reason(char *buf, size_t cap, int rc, const char *msg) {
  const char *s = strstr(msg, "SQLSTATE ");

  if (rc == OC_ERR_CONFLICT)
    snprintf(buf, cap, "%s",
             strncmp(msg, "offsets", 7) == 0 ? "offsets conflict"
                                             : "facts changed by other writers");
  else if (s && strspn(s + 9, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 5)
    snprintf(buf, cap, "SQLSTATE %.5s", s + 9);
  else
    snprintf(buf, cap, "error %s", oc_err_code_name(rc));
}

/* batch_failed is logged once per distinct error; a stall that lasts must
 * still show in the journal: from the failure that makes /readyz say not
 * ready, then at most once per stats.interval. */
static void still_failing(oc_rd_t *d, const oc_err_t *err) {
  int64_t t = oc_clock_ms();
  if (d->failures < d->ready_max_failures || (d->t_fail_log && t - d->t_fail_log < d->stats_ms))
    return;
  d->t_fail_log = t;
  oc_log_warn("batch_still_failing attempts=%" PRId64 " failing_s=%" PRId64 " error=\"%s\"",
              d->failures, (t - d->t_fail_first) / 1000, err->msg);
}

void oc_rd_batch_failed(oc_rd_t *d, size_t count, int rc, const oc_err_t *err) {
  if (d->failures++ == 0)
    d->t_fail_first = oc_clock_ms();
  d->need_recover = true;
  fail_reason(d->fail_reason, sizeof(d->fail_reason), rc, err->msg);
  oc_rmetrics_batch_failed(d->metrics, rc == OC_ERR_CONFLICT);
  oc_rmetrics_consecutive_failures(d->metrics, d->failures);
  if (d->failures >= d->ready_max_failures)
    oc_rd_publish_ready(d);
  if (rc == OC_ERR_CONFLICT) {
    d->n_conflicts++;
    oc_log_warn("%s messages=%zu error=\"%s\"",
                strncmp(err->msg, "offsets", 7) == 0 ? "offsets_conflict" : "facts_conflict", count,
                err->msg);
  } else if (rc == OC_ERR_PG && (!d->pg || PQstatus(d->pg) != CONNECTION_OK)) {
    oc_rd_pg_state(d, false, err);
  } else if (strcmp(err->msg, d->last_failure) != 0) {
    /* Once per distinct error, not once per retry. */
    snprintf(d->last_failure, sizeof(d->last_failure), "%s", err->msg);
    oc_log_err("batch_failed messages=%zu retrying=1 error=\"%s\"", count, err->msg);
  }
  if (d->pg_up) /* else pg_down said it, once per outage */
    still_failing(d, err);
}
