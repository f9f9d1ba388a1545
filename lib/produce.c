/*
 * produce.c - files of observations to Kafka, every delivery checked
 * (produce.h).
 *
 * Delivery accounting: each message carries a pointer to the current
 * file's counters as its opaque; the delivery report callback (served by
 * rd_kafka_poll() on this thread) moves it from in flight to acknowledged
 * or failed. A file is left only when nothing of it is in flight, so the
 * counters outlive every report that points at them.
 */
#include "outcomes/produce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outcomes/date.h"
#include "outcomes/clock.h"
#include "outcomes/kafka.h"
#include "outcomes/key.h"
#include "outcomes/log.h"
#include "outcomes/notify.h"

#define VALUE_MAX 4096
#define POLL_MS 100
/* Delivery reports are served after every POLL_EVERY messages handed over
 * (and whenever the queue is full): a poll per message cost as much as
 * parsing a field. A failure is noticed at most this many rows later. */
#define POLL_EVERY 64
/* Rows of a regular file between two calls of the progress function. */
#define PROGRESS_EVERY 64

const char *const oc_produce_reserved_keys[] = {
    "enable.idempotence",       "acks", "request.required.acks", "delivery.report.only.error",
    "enable.gapless.guarantee", NULL,
};

/* Files are published whole, so a batch may wait a little to fill: with 20
 * ms (librdkafka's default is 5) the local broker of the benchmark spent
 * about 30% less CPU per record (fewer, larger produce requests), for at
 * most 20 ms more per file. The rest stay librdkafka's defaults
 * (batch.num.messages 10000, batch.size 1 MB, queue.buffering.max.messages
 * 100000, compression.type none: lz4 cost the client more CPU than it saved
 * the broker there). tests/bench/README.md has the figures.
 *
 * Keys are partitioned as the Java client does (murmur2 of the key bytes;
 * random for a null key), not by librdkafka's own default
 * (consistent_random, CRC32): a Java producer and outcomes-produce writing
 * one topic then put each fact identity in the same partition. */
const char *const oc_produce_kafka_defaults[][2] = {
    {"linger.ms", "20"},
    {"partitioner", "murmur2_random"},
    {NULL, NULL},
};

int oc_produce_kafka_conf_defaults(rd_kafka_conf_t *conf, oc_err_t *err) {
  int rc;
  for (size_t i = 0; oc_produce_kafka_defaults[i][0]; i++)
    if ((rc = oc_kafka_conf_set(conf, oc_produce_kafka_defaults[i][0],
                                oc_produce_kafka_defaults[i][1], NULL, err)) != 0)
      return rc;
  return 0;
}

/* Per-file delivery counters, updated by the delivery report callback. */
typedef struct file_state_s {
  uint64_t produced; /* handed to librdkafka */
  uint64_t acked;
  uint64_t failed;
  uint64_t possibly_persisted;
  rd_kafka_resp_err_t first_err;
} file_state_t;

struct oc_producer_s {
  oc_produce_opts_t opts;
  oc_kprod_t *kp; /* NULL in a dry run */
  rd_kafka_topic_t *rkt;
  file_state_t *cur; /* the file being published */
};

static int stop_level(const oc_producer_t *p) { return p->opts.stop ? (int)*p->opts.stop : 0; }

static void on_delivery(void *opaque, const rd_kafka_message_t *m) {
  file_state_t *f = m->_private;

  (void)opaque;
  if (!f)
    return;
  if (m->err) {
    f->failed++;
    if (!f->first_err)
      f->first_err = m->err;
    if (rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
      f->possibly_persisted++;
  } else {
    f->acked++;
  }
}

int oc_producer_new(rd_kafka_conf_t *conf, const oc_produce_opts_t *opts, oc_producer_t **out,
                    oc_err_t *err) {
  oc_producer_t *p = NULL;
  int rc = 0;

  *out = NULL;
  p = calloc(1, sizeof(*p));
  if (!p) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  p->opts = *opts;
  if (opts->dry_run)
    goto done;
  if (!conf) {
    rc = oc_err_set(err, OC_ERR_INTERNAL, "no kafka configuration");
    goto out;
  }
  if (!opts->retract && !opts->codec) {
    rc = oc_err_set(err, OC_ERR_INTERNAL, "no codec");
    goto out;
  }
  oc_kprod_opts_t ko = {
      .on_delivery = on_delivery,
      .opaque = p,
      .stop = opts->stop,
      .poll_every = POLL_EVERY,
  };
  rc = oc_kprod_new(conf, &ko, &p->kp, err);
  conf = NULL; /* taken over by oc_kprod_new */
  if (rc != 0)
    goto out;
  p->rkt = rd_kafka_topic_new(oc_kprod_handle(p->kp), opts->topic, NULL);
  if (!p->rkt) {
    rc = oc_kafka_err(err, rd_kafka_last_error(), "topic");
    goto out;
  }
done:
  *out = p;
  p = NULL;
out:
  if (conf)
    rd_kafka_conf_destroy(conf);
  oc_producer_destroy(p);
  return rc;
}

bool oc_producer_fatal(const oc_producer_t *p) { return p->kp && oc_kprod_fatal(p->kp); }

rd_kafka_t *oc_producer_handle(oc_producer_t *p) { return p->kp ? oc_kprod_handle(p->kp) : NULL; }

void oc_producer_set_default_observed_at(oc_producer_t *p, oc_timestamp_t ts) {
  p->opts.default_observed_at = ts;
}

void oc_producer_set_catalog(oc_producer_t *p, const oc_catalog_t *cat) { p->opts.catalog = cat; }

void oc_producer_destroy(oc_producer_t *p) {
  if (!p)
    return;
  if (p->rkt)
    rd_kafka_topic_destroy(p->rkt);
  /* Every file waits for its own reports; this only drains what a failed
   * file may have left (nothing normally). */
  oc_kprod_destroy(p->kp);
  free(p);
}

static uint64_t inflight(const file_state_t *f) { return f->produced - f->acked - f->failed; }

/* Hand one message to librdkafka, waiting while its queue is full.
 * Returns 0, OC_KPROD_GAVE_UP when a stop request, a fatal error or a
 * failed delivery ended the wait, or OC_ERR_KAFKA. */
static int send_one(oc_producer_t *p, const char *key, size_t key_len, const void *val,
                    size_t val_len, oc_err_t *err) {
  oc_kprod_msg_t m = {
      .rkt = p->rkt,
      .key = key,
      .key_len = key_len,
      .value = val,
      .value_len = val_len,
      .opaque = p->cur,
  };
  int rc = oc_kprod_send(p->kp, &m, err);
  if (rc == 0)
    p->cur->produced++;
  return rc;
}

/* Wait until nothing of the current file is in flight. Unbounded unless a
 * stop is requested (librdkafka's message.timeout.ms bounds each message);
 * after a stop, purge what is left once flush_timeout_ms has passed. */
static void drain(oc_producer_t *p) {
  int64_t stop_at = -1;
  bool purged = false;

  while (inflight(p->cur) > 0) {
    oc_kprod_poll(p->kp, POLL_MS);
    /* Waiting for acknowledgements (bounded by message.timeout.ms) is
     * progress: the service is alive. */
    oc_notify_watchdog_kick(oc_notify_now_usec());
    int lvl = stop_level(p);
    if (lvl == 0 || purged)
      continue;
    if (stop_at < 0) {
      stop_at = oc_clock_ms();
      oc_log_info("flush_on_stop in_flight=%llu timeout_ms=%lld",
                  (unsigned long long)inflight(p->cur), (long long)p->opts.flush_timeout_ms);
    }
    if (lvl >= 2 || oc_clock_ms() - stop_at >= p->opts.flush_timeout_ms) {
      oc_log_warn("flush_timeout purging=%llu", (unsigned long long)inflight(p->cur));
      oc_kprod_purge(p->kp);
      purged = true;
    }
  }
}

/* Open path (called name in errors); "-" is standard input. *owned says
 * whether to fclose. With regular_only, a symbolic link is not followed and
 * anything but a regular file is refused unread (O_NONBLOCK: a FIFO does
 * not block the open). */
static int open_input(const char *path, const char *name, bool regular_only, FILE **f, bool *owned,
                      oc_err_t *err) {
  struct stat st;
  int fd, flags = O_RDONLY | O_CLOEXEC;

  if (strcmp(path, "-") == 0) {
    *f = stdin;
    *owned = false;
    return 0;
  }
  if (regular_only)
    flags |= O_NOFOLLOW | O_NONBLOCK;
  if ((fd = open(path, flags)) < 0) {
    int e = errno;
    if (regular_only && e == ELOOP)
      return oc_err_set(err, OC_ERR_IO, "%s: not a regular file (a symbolic link): not read", name);
    return oc_err_set(err, e == ENOENT ? OC_ERR_NOT_FOUND : OC_ERR_IO, "%s: %s", name, strerror(e));
  }
  if (regular_only && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
                       fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)) {
    close(fd);
    return oc_err_set(err, OC_ERR_IO, "%s: not a regular file: not read", name);
  }
  if (!(*f = fdopen(fd, "rb"))) {
    int e = errno;
    close(fd);
    return oc_err_set(err, OC_ERR_IO, "%s: %s", name, strerror(e));
  }
  *owned = true;
  return 0;
}

/* Copy a non-seekable input (a pipe) into an anonymous temporary file so
 * that --strict can read it twice. */
static int spool_to_tmp(FILE *in, FILE **out, oc_err_t *err) {
  char buf[65536];
  size_t n;
  FILE *t = tmpfile();

  if (!t)
    return oc_err_set(err, OC_ERR_IO, "tmpfile: %s", strerror(errno));
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
    if (fwrite(buf, 1, n, t) != n) {
      fclose(t);
      return oc_err_set(err, OC_ERR_IO, "tmpfile write: %s", strerror(errno));
    }
  }
  if (ferror(in)) {
    fclose(t);
    return oc_err_set(err, OC_ERR_IO, "read: %s", strerror(errno ? errno : EIO));
  }
  rewind(t);
  *out = t;
  return 0;
}

/* Tell the caller's progress function where the file stands. sized: f is
 * a regular file, whose position ftello() knows without a system call. */
static void progress(oc_producer_t *p, FILE *f, bool sized, const char *name, bool send,
                     const oc_produce_stats_t *st) {
  if (!p->opts.progress)
    return;
  oc_produce_progress_t pr = {
      .name = name,
      .read = st->read,
      .sent = send && p->cur ? p->cur->acked : 0,
      .rejected = st->rejected,
      .offset = -1,
  };
  if (sized) {
    off_t at = ftello(f);
    pr.offset = at >= 0 ? (int64_t)at : -1;
  }
  p->opts.progress(p->opts.progress_opaque, &pr);
}

/* One pass over the file: validate every row and, when send, publish the
 * valid ones. */
static int one_pass(oc_producer_t *p, FILE *f, oc_input_format_t fmt, const char *name, bool send,
                    oc_reject_fn reject, void *opaque, oc_produce_stats_t *st, oc_err_t *err) {
  oc_input_t *in = NULL;
  oc_observation_t obs;
  oc_err_t rowerr;
  char key[OC_KEY_MAX + 1];
  unsigned char val[VALUE_MAX];
  size_t key_len, val_len = 0;
  uint64_t valid = 0;
  long line = 0;
  unsigned flags = p->opts.retract ? OC_INPUT_RETRACT : 0;
  int rc, read_rc = 0;
  bool eof = false;
  struct stat fst;
  bool sized = p->opts.progress && fstat(fileno(f), &fst) == 0 && S_ISREG(fst.st_mode);

  rc = oc_input_open(f, fmt, flags, p->opts.catalog, p->opts.default_observed_at, &in, err);
  if (rc < 0) {
    /* Header errors read "line N: reason": report them as "name:N: reason". */
    char *end = NULL;
    long hl = 0;
    if (err && strncmp(err->msg, "line ", 5) == 0)
      hl = strtol(err->msg + 5, &end, 10);
    if (end && strncmp(end, ": ", 2) == 0) {
      char reason[OC_ERR_MSG_MAX];
      snprintf(reason, sizeof(reason), "%s", end + 2);
      if (reject && rc == OC_ERR_BAD_FIELD)
        reject(opaque, name, hl, reason);
      return oc_err_set(err, rc, "%s:%ld: %s", name, hl, reason);
    }
    return oc_err_prefix(err, "%s: ", name);
  }
  for (;;) {
    if (stop_level(p) >= 1) {
      st->interrupted = true;
      break;
    }
    /* A file may take longer than the watchdog's interval: rows read are
     * progress (the kick is rate-limited; a no-op outside systemd). */
    if ((st->read & (POLL_EVERY * 16 - 1)) == 0)
      oc_notify_watchdog_kick(oc_notify_now_usec());
    if (send && (p->cur->failed || oc_producer_fatal(p)))
      break;
    rc = oc_input_next(in, &obs, &line, &rowerr);
    if (rc == 0) {
      eof = true;
      break;
    }
    if (rc < 0 && rowerr.fatal) {
      /* The rows sent so far are still waited for below: their delivery
       * reports point at this file's counters. */
      read_rc = oc_err_set(err, rowerr.code, "%s:%ld: %s", name, line, rowerr.msg);
      break;
    }
    st->read++;
    if (rc < 0) {
      st->rejected++;
      if (reject)
        reject(opaque, name, line, rowerr.msg);
      progress(p, f, sized, name, send, st);
      continue;
    }
    /* A regular file is read fast: every PROGRESS_EVERY rows is often
     * enough. Rows from a pipe may come one by one. */
    if (!sized || (st->read & (PROGRESS_EVERY - 1)) == 0)
      progress(p, f, sized, name, send, st);
    valid++;
    if (!send)
      continue;
    if ((rc = oc_key_encode(&obs.id, key, sizeof(key), &key_len, &rowerr)) < 0 ||
        (!p->opts.retract &&
         (rc = oc_obs_encode(p->opts.codec, &obs, val, sizeof(val), &val_len, &rowerr)) < 0)) {
      /* Validation passed, so this is a disagreement between modules. */
      st->rejected++;
      valid--;
      if (reject)
        reject(opaque, name, line, rowerr.msg);
      continue;
    }
    rc = send_one(p, key, key_len, p->opts.retract ? NULL : val, p->opts.retract ? 0 : val_len,
                  &rowerr);
    if (rc == OC_KPROD_GAVE_UP) {
      st->interrupted = stop_level(p) >= 1;
      break;
    }
    if (rc < 0) {
      oc_log_err("produce_failed file=\"%s\" line=%ld error=\"%s\"", name, line, rowerr.msg);
      break;
    }
  }
  rc = read_rc;
  if (!send) {
    progress(p, f, sized, name, send, st);
    goto out;
  }
  drain(p);
  progress(p, f, sized, name, send, st);
  st->published += p->cur->acked;
  st->not_delivered += valid - p->cur->acked;
  st->possibly_persisted += p->cur->possibly_persisted;
  /* Records not delivered, or a producer that failed for good before the
   * file was read to its end (perhaps before this file began), outweigh a
   * read error: the file is to be published again. */
  if (valid > p->cur->acked) {
    rc = oc_err_set(err, OC_ERR_KAFKA, "%s: %llu record%s not delivered%s%s", name,
                    (unsigned long long)(valid - p->cur->acked),
                    valid - p->cur->acked == 1 ? "" : "s", p->cur->first_err ? ": " : "",
                    p->cur->first_err ? rd_kafka_err2str(p->cur->first_err) : "");
  } else if (oc_producer_fatal(p) && !eof && read_rc == 0 && !st->interrupted) {
    rc = oc_err_set(err, OC_ERR_KAFKA,
                    "%s: not read to its end: the Kafka producer failed for good", name);
  }
  if (rc == OC_ERR_KAFKA) {
    if (err && !oc_producer_fatal(p))
      err->retriable = true;
    if (err && oc_producer_fatal(p))
      err->fatal = true;
  }
out:
  oc_input_destroy(in);
  return rc;
}

int oc_producer_stream(oc_producer_t *p, FILE *f, oc_input_format_t fmt, const char *name,
                       oc_reject_fn reject, void *opaque, oc_produce_stats_t *st, oc_err_t *err) {
  file_state_t fs;
  FILE *tmp = NULL;
  bool send = !p->opts.dry_run;
  int rc;

  memset(st, 0, sizeof(*st));
  memset(&fs, 0, sizeof(fs));
  if (p->opts.strict && send) {
    /* Two passes: publish only when the first finds no bad row. */
    if (fseek(f, 0, SEEK_SET) != 0) {
      if ((rc = spool_to_tmp(f, &tmp, err)) < 0)
        goto out;
    }
    FILE *src = tmp ? tmp : f;
    if ((rc = one_pass(p, src, fmt, name, false, reject, opaque, st, err)) < 0)
      goto out;
    if (st->rejected || st->interrupted) {
      st->withheld = st->rejected > 0;
      goto out;
    }
    rewind(src);
    memset(st, 0, sizeof(*st));
    p->cur = &fs;
    rc = one_pass(p, src, fmt, name, true, NULL, NULL, st, err);
    p->cur = NULL;
    goto out;
  }
  p->cur = &fs;
  rc = one_pass(p, f, fmt, name, send, reject, opaque, st, err);
  p->cur = NULL;
out:
  if (tmp)
    fclose(tmp);
  if (rc == 0)
    oc_log_debug("file_done file=\"%s\" read=%llu published=%llu rejected=%llu", name,
                 (unsigned long long)st->read, (unsigned long long)st->published,
                 (unsigned long long)st->rejected);
  return rc;
}

int oc_producer_file(oc_producer_t *p, const char *path, const char *name, oc_reject_fn reject,
                     void *opaque, oc_produce_stats_t *st, oc_err_t *err) {
  FILE *f = NULL;
  bool owned = false;
  oc_input_format_t fmt = p->opts.format;
  int rc;

  memset(st, 0, sizeof(*st));
  if (!name)
    name = strcmp(path, "-") == 0 ? "<stdin>" : path;
  if (fmt == OC_INPUT_AUTO) {
    if (strcmp(path, "-") == 0)
      return oc_err_set(err, OC_ERR_USAGE, "standard input: --format csv|jsonl|fhir is required");
    if ((rc = oc_input_format_from_path(path, &fmt, err)) < 0)
      return rc;
  }
  if ((rc = open_input(path, name, p->opts.regular_only, &f, &owned, err)) < 0)
    return rc;
  rc = oc_producer_stream(p, f, fmt, name, reject, opaque, st, err);
  if (owned)
    fclose(f);
  return rc;
}
