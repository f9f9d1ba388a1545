/*
 * spool.c - the spool-directory daemon (spool.h).
 *
 * A file's place is its state: DIR/ (new), processing/ (being published or
 * to be published again), done/, failed/. A file reaches done/ only after
 * oc_producer_file() saw every valid row acknowledged, so a crash at any
 * point leaves it in DIR/ or processing/, and both are published (again).
 */
#include "outcomes/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outcomes/catalog.h"
#include "outcomes/clock.h"
#include "outcomes/date.h"
#include "outcomes/http.h"
#include "outcomes/log.h"
#include "outcomes/metrics.h"
#include "outcomes/notify.h"

#define WAIT_STEP_MS 100
#define SCAN_MAX 10000 /* files taken per scan; the rest wait for the next */

/* What tells one version of the catalog file from another. */
typedef struct {
  bool exists;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
} file_version_t;

typedef struct spool_s {
  oc_producer_t *p;
  oc_spool_opts_t o;
  char *dir, *processing, *done, *failed; /* owned paths */
  int ino_fd;                             /* -1 without inotify */
  oc_backoff_t backoff;                   /* between attempts at a file */
  int64_t wait_ms;                        /* before the next attempt */
  bool retry;                             /* the last round ended on a Kafka failure */
  oc_catalog_t *catalog;                  /* the last one reloaded (owned), NULL before */
  const oc_catalog_t *catalog_in_use;     /* what the producer validates with */
  file_version_t catalog_version;         /* of the catalog file last read */
  /* Metrics (all NULL without metrics_listen; updates accept NULL). */
  oc_metrics_t *reg;
  oc_http_t *http;
  oc_metrics_counter_t *m_done, *m_failed, *m_retried, *m_published, *m_rejected;
  oc_metrics_counter_t *m_publish_failed;
  oc_metrics_gauge_t *m_pending;
  oc_metrics_histogram_t *m_duration;
} spool_t;

typedef enum { FILE_FINISHED = 0, FILE_RETRY, FILE_STOPPED } file_result_t;

static bool stopping(const spool_t *s) { return s->o.stop && *s->o.stop; }
static bool reload_asked(const spool_t *s) { return s->o.reload && *s->o.reload; }

static file_version_t file_version(const char *path) {
  file_version_t v;
  struct stat st;
  memset(&v, 0, sizeof(v));
  if (path && stat(path, &st) == 0) {
    v.exists = true;
    v.dev = st.st_dev;
    v.ino = st.st_ino;
    v.size = st.st_size;
    v.mtime = st.st_mtim;
  }
  return v;
}

static bool same_version(const file_version_t *a, const file_version_t *b) {
  return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The catalog file again, on SIGHUP or when the file changed (replaced,
 * written, removed) since it was last read. Each version is tried once: one
 * that cannot be read or parsed leaves the catalog in use as it is. */
static void reload_catalog(spool_t *s) {
  oc_catalog_t *cat = NULL;
  oc_err_t err;
  const char *trigger = NULL;
  file_version_t now = file_version(s->o.catalog_path);

  if (reload_asked(s)) {
    *s->o.reload = 0;
    trigger = "sighup";
  } else if (s->o.catalog_path && !same_version(&now, &s->catalog_version)) {
    trigger = "file_changed";
  }
  if (!trigger)
    return;
  s->catalog_version = now;
  oc_err_clear(&err);
  if (!s->o.catalog_path || oc_catalog_load_file(s->o.catalog_path, &cat, &err) != 0) {
    oc_log_err("catalog_reload_failed reason=\"%s\" metrics=%zu trigger=%s: the catalog in use "
               "is kept",
               s->o.catalog_path ? err.msg : "no catalog file", oc_catalog_count(s->catalog_in_use),
               trigger);
    return;
  }
  oc_catalog_log_reloaded(s->catalog_in_use, cat, trigger);
  oc_producer_set_catalog(s->p, cat);
  oc_catalog_destroy(s->catalog);
  s->catalog = cat;
  s->catalog_in_use = cat;
}

static char *path_join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", a, b);
  return p;
}

static int ensure_dir(const char *path, oc_err_t *err) {
  if (mkdir(path, 0755) == 0 || errno == EEXIST) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
      return 0;
    return oc_err_set(err, OC_ERR_IO, "'%s' is not a directory", path);
  }
  return oc_err_set(err, OC_ERR_IO, "mkdir '%s': %s", path, strerror(errno));
}

static bool ignored_name(const char *name) {
  size_t n = strlen(name);
  return name[0] == '.' || (n >= 4 && strcmp(name + n - 4, ".tmp") == 0);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* Regular files of dir that are not ignored (at most SCAN_MAX), sorted.
 * Caller frees with free_names(). With out NULL, only counts them. */
static int list_files(const char *dir, char ***out, size_t *n_out, oc_err_t *err) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;

  if (out)
    *out = NULL;
  *n_out = 0;
  if (!d)
    return oc_err_set(err, OC_ERR_IO, "opendir '%s': %s", dir, strerror(errno));
  while (n < SCAN_MAX && (de = readdir(d)) != NULL) {
    struct stat st;
    if (ignored_name(de->d_name))
      continue;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (!out) {
      n++;
      continue;
    }
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      char **nn = realloc(names, ncap * sizeof(*nn));
      if (!nn) {
        rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
        goto out;
      }
      names = nn;
      cap = ncap;
    }
    if (!(names[n] = strdup(de->d_name))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    n++;
  }
  if (out && n > 1)
    qsort(names, n, sizeof(*names), cmp_str);
  if (out)
    *out = names;
  *n_out = n;
  names = NULL;
out:
  if (names)
    free_names(names, n);
  closedir(d);
  return rc;
}

/* The .errors report being written for one file. */
typedef struct report_s {
  FILE *f;
  char *tmp_path; /* processing/.<name>.errors.tmp */
  uint64_t lines;
} report_t;

static void report_reject(void *opaque, const char *name, long line, const char *msg) {
  report_t *r = opaque;

  oc_log_warn("row_rejected file=\"%s\" line=%ld reason=\"%s\"", name, line, msg);
  if (!r->f)
    r->f = fopen(r->tmp_path, "w");
  if (r->f) {
    fprintf(r->f, "%s:%ld: %s\n", name, line, msg);
    r->lines++;
  }
}

/* Move processing/<name> (and its report, when there is one) into dest. */
static int finish(spool_t *s, const char *name, report_t *rep, const char *dest, oc_err_t *err) {
  char *from = path_join(s->processing, name);
  char *to = path_join(dest, name);
  char *rep_to = NULL;
  int rc = 0;

  if (!from || !to) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (rep->f) {
    size_t n = strlen(to) + sizeof(".errors");
    if (!(rep_to = malloc(n))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    snprintf(rep_to, n, "%s.errors", to);
    if (fflush(rep->f) != 0 || fsync(fileno(rep->f)) != 0)
      oc_log_warn("report_write file=\"%s\" error=\"%s\"", rep->tmp_path, strerror(errno));
    if (rename(rep->tmp_path, rep_to) != 0) {
      rc = oc_err_set(err, OC_ERR_IO, "rename '%s': %s", rep->tmp_path, strerror(errno));
      goto out;
    }
  }
  if (rename(from, to) != 0)
    rc = oc_err_set(err, OC_ERR_IO, "rename '%s' to '%s': %s", from, to, strerror(errno));
out:
  free(from);
  free(to);
  free(rep_to);
  return rc;
}

/* Publish processing/<name> and move it where it belongs. */
static int process(spool_t *s, const char *name, file_result_t *res, oc_err_t *err) {
  oc_produce_stats_t st;
  oc_err_t ferr;
  report_t rep = {0};
  char *path = path_join(s->processing, name);
  char *tmpname = NULL;
  const char *dest;
  int rc = 0;

  *res = FILE_FINISHED;
  oc_err_clear(&ferr);
  size_t n = strlen(name) + sizeof("..errors.tmp");
  tmpname = malloc(n);
  if (!path || !tmpname) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  snprintf(tmpname, n, ".%s.errors.tmp", name);
  if (!(rep.tmp_path = path_join(s->processing, tmpname))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  oc_log_info("file_start file=\"%s\"", name);
  double t0 = oc_metrics_now();
  oc_producer_set_default_observed_at(s->p, oc_timestamp_now());
  int frc = oc_producer_file(s->p, path, name, report_reject, &rep, &st, &ferr);

  if (frc == OC_ERR_KAFKA) {
    s->wait_ms = oc_backoff_next(&s->backoff);
    oc_log_err("file_retry file=\"%s\" not_delivered=%llu error=\"%s\" backoff_ms=%lld", name,
               (unsigned long long)st.not_delivered, ferr.msg, (long long)s->wait_ms);
    *res = FILE_RETRY;
    oc_metrics_counter_add(s->m_published, st.published);
    oc_metrics_counter_add(s->m_publish_failed, st.not_delivered);
    oc_metrics_counter_inc(s->m_retried);
    oc_http_set_ready(s->http, false, "Kafka unavailable: file left in processing/");
    if (oc_producer_fatal(s->p))
      rc = oc_err_set(err, OC_ERR_KAFKA, "%s", ferr.msg);
    goto out;
  }
  if (frc == 0 && st.interrupted) {
    oc_log_info("file_stopped file=\"%s\" published=%llu (left in processing/)", name,
                (unsigned long long)st.published);
    *res = FILE_STOPPED;
    goto out;
  }
  if (frc < 0) {
    /* The file as a whole is bad: say why in its report. */
    if (frc != OC_ERR_BAD_FIELD) /* a bad header was reported already */
      report_reject(&rep, name, 0, ferr.msg);
    dest = s->failed;
  } else if (st.rejected && (st.withheld || st.published == 0)) {
    dest = s->failed;
  } else {
    dest = s->done;
  }
  if (finish(s, name, &rep, dest, &ferr) < 0) {
    /* Left in processing/: tried again after the backoff. */
    s->wait_ms = oc_backoff_next(&s->backoff);
    oc_log_err("file_move_failed file=\"%s\" error=\"%s\" backoff_ms=%lld", name, ferr.msg,
               (long long)s->wait_ms);
    *res = FILE_RETRY;
    goto out;
  }
  oc_metrics_counter_inc(dest == s->done ? s->m_done : s->m_failed);
  oc_metrics_counter_add(s->m_published, st.published);
  oc_metrics_counter_add(s->m_rejected, st.rejected);
  oc_metrics_histogram_observe(s->m_duration, oc_metrics_now() - t0);
  oc_http_set_ready(s->http, true, NULL);
  oc_log_info("file_%s file=\"%s\" read=%llu published=%llu rejected=%llu",
              dest == s->done ? "done" : "failed", name, (unsigned long long)st.read,
              (unsigned long long)st.published, (unsigned long long)st.rejected);
out:
  if (rep.f)
    fclose(rep.f);
  if (rep.tmp_path)
    unlink(rep.tmp_path); /* gone already when it was moved */
  free(rep.tmp_path);
  free(tmpname);
  free(path);
  return rc;
}

/* Sleep up to ms, waking early for a stop request or (when wake_on_event)
 * a directory event. */
static void wait_for(spool_t *s, int64_t ms, bool wake_on_event) {
  int64_t end = oc_clock_ms() + ms;
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

  while (!stopping(s) && !reload_asked(s)) {
    int64_t left = end - oc_clock_ms();
    if (left <= 0)
      return;
    struct pollfd pfd = {.fd = s->ino_fd, .events = POLLIN};
    int timeout = (int)(left < WAIT_STEP_MS ? left : WAIT_STEP_MS);
    /* Waiting for files, or serving a deliberate backoff: healthy. */
    oc_notify_watchdog_kick(oc_notify_now_usec());
    oc_http_tick(s->http);
    int n = poll(&pfd, s->ino_fd >= 0 ? 1 : 0, timeout);
    if (n > 0 && (pfd.revents & POLLIN)) {
      bool any = false;
      while (read(s->ino_fd, buf, sizeof(buf)) > 0)
        any = true; /* drain: a rescan finds what changed */
      if (any && wake_on_event)
        return;
    }
  }
}

/* Publish everything in processing/, then take new files from DIR. The
 * pending gauge counts the files of both as this round's scans found them,
 * less those finished since. */
static int one_round(spool_t *s, oc_err_t *err) {
  char **names = NULL;
  size_t n = 0, pending, waiting = 0;
  file_result_t res;
  int rc;

  s->retry = false;
  for (int phase = 0; phase < 2 && !stopping(s); phase++) {
    if ((rc = list_files(phase == 0 ? s->processing : s->dir, &names, &n, err)) < 0)
      return rc;
    if (phase == 0 && list_files(s->dir, NULL, &waiting, err) < 0)
      waiting = 0; /* phase 1 reports it */
    pending = n + (phase == 0 ? waiting : 0);
    oc_metrics_gauge_set_int(s->m_pending, (int64_t)pending);
    for (size_t i = 0; i < n && !stopping(s); i++) {
      if (phase == 1) {
        char *from = path_join(s->dir, names[i]);
        char *to = path_join(s->processing, names[i]);
        int r = (from && to) ? rename(from, to) : -1;
        int e = errno;
        free(from);
        free(to);
        if (r != 0) {
          if (e != ENOENT) /* gone since the scan: not ours any more */
            oc_log_warn("file_take file=\"%s\" error=\"%s\"", names[i], strerror(e));
          else
            oc_metrics_gauge_set_int(s->m_pending, (int64_t)--pending);
          continue;
        }
      }
      reload_catalog(s);
      if ((rc = process(s, names[i], &res, err)) < 0)
        goto out;
      oc_notify_watchdog_kick(oc_notify_now_usec());
      oc_http_tick(s->http);
      if (res == FILE_RETRY) {
        wait_for(s, s->wait_ms, false);
        s->retry = true;
        rc = 0;
        goto out; /* start again with processing/ */
      }
      if (res == FILE_FINISHED) {
        oc_backoff_reset(&s->backoff);
        oc_metrics_gauge_set_int(s->m_pending, (int64_t)--pending);
      }
    }
    free_names(names, n);
    names = NULL;
    n = 0;
  }
  rc = 0;
out:
  if (names)
    free_names(names, n);
  return rc;
}

/* The registry and endpoint of opts->metrics_listen (names: docs/metrics.md). */
static int metrics_start(spool_t *s, oc_err_t *err) {
  static const char *const l_result[] = {"result"};
  static const char *const l_topic[] = {"topic"};
  static const char *const l_version[] = {"version"};
  oc_metrics_family_t *f_build, *f_files, *f_pub, *f_rej, *f_dur, *f_failed, *f_pending;
  int rc;

  if (!s->o.metrics_listen || !*s->o.metrics_listen)
    return 0;
  if (!(s->reg = oc_metrics_new()))
    return oc_err_set(err, OC_ERR_NOMEM, "metrics: out of memory");
  if ((rc = oc_metrics_add_gauge(s->reg, "outcomes_build_info", "build of the program", l_version,
                                 1, &f_build, err)) != 0 ||
      (rc = oc_metrics_add_counter(s->reg, "outcomes_spool_files_total",
                                   "files by result: done, failed, retried (Kafka failure)",
                                   l_result, 1, &f_files, err)) != 0 ||
      (rc = oc_metrics_add_counter(s->reg, "outcomes_records_published_total",
                                   "rows acknowledged by the broker", l_topic, 1, &f_pub, err)) !=
          0 ||
      (rc = oc_metrics_add_counter(s->reg, "outcomes_records_rejected_total",
                                   "rows refused by parsing or validation", NULL, 0, &f_rej,
                                   err)) != 0 ||
      (rc = oc_metrics_add_histogram(s->reg, "outcomes_spool_file_duration_seconds",
                                     "from picking a file up to done/ or failed/", NULL, 0, NULL, 0,
                                     &f_dur, err)) != 0 ||
      (rc = oc_metrics_add_counter(s->reg, "outcomes_records_publish_failed_total",
                                   "valid rows not acknowledged (failed, purged or timed out)",
                                   l_topic, 1, &f_failed, err)) != 0 ||
      (rc = oc_metrics_add_gauge(s->reg, "outcomes_spool_files_pending",
                                 "files waiting in the spool directory and processing/, as "
                                 "the last scan found them, less those finished since",
                                 NULL, 0, &f_pending, err)) != 0)
    return rc;
  const char *version[] = {OC_VERSION}, *done[] = {"done"}, *failed[] = {"failed"},
             *retried[] = {"retried"}, *topic[] = {s->o.topic ? s->o.topic : ""};
  oc_metrics_gauge_set(oc_metrics_gauge(f_build, version), 1);
  s->m_done = oc_metrics_counter(f_files, done);
  s->m_failed = oc_metrics_counter(f_files, failed);
  s->m_retried = oc_metrics_counter(f_files, retried);
  s->m_published = oc_metrics_counter(f_pub, topic);
  s->m_rejected = oc_metrics_counter(f_rej, NULL);
  s->m_publish_failed = oc_metrics_counter(f_failed, topic);
  s->m_pending = oc_metrics_gauge(f_pending, NULL);
  s->m_duration = oc_metrics_histogram(f_dur, NULL);
  oc_http_opts_t hopts = {s->o.metrics_listen, s->reg, 0, 0, 0};
  if ((rc = oc_http_start(&hopts, &s->http, err)) != 0)
    return oc_err_prefix(err, "metrics.listen: ");
  oc_log_info("metrics_listening port=%u", (unsigned)oc_http_port(s->http));
  return 0;
}

int oc_spool_run(oc_producer_t *p, const oc_spool_opts_t *opts, oc_err_t *err) {
  spool_t s;
  int rc;

  memset(&s, 0, sizeof(s));
  s.p = p;
  s.o = *opts;
  s.catalog_in_use = opts->catalog;
  s.catalog_version = file_version(opts->catalog_path); /* what opts->catalog was read from */
  s.ino_fd = -1;
  if (s.o.rescan_ms <= 0)
    s.o.rescan_ms = 5000;
  oc_backoff_init(&s.backoff, s.o.retry_min_ms > 0 ? s.o.retry_min_ms : 1000,
                  s.o.retry_max_ms > 0 ? s.o.retry_max_ms : 60000);
  s.dir = strdup(opts->dir);
  s.processing = path_join(opts->dir, "processing");
  s.done = path_join(opts->dir, "done");
  s.failed = path_join(opts->dir, "failed");
  if (!s.dir || !s.processing || !s.done || !s.failed) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = ensure_dir(s.dir, err)) < 0 || (rc = ensure_dir(s.processing, err)) < 0 ||
      (rc = ensure_dir(s.done, err)) < 0 || (rc = ensure_dir(s.failed, err)) < 0)
    goto out;
  s.ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (s.ino_fd >= 0 && inotify_add_watch(s.ino_fd, s.dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    oc_log_warn("inotify_unavailable dir=\"%s\" error=\"%s\" (polling every %lld ms)", s.dir,
                strerror(errno), (long long)s.o.rescan_ms);
    close(s.ino_fd);
    s.ino_fd = -1;
  }
  oc_log_info("watch_start dir=\"%s\" inotify=%s rescan_ms=%lld", s.dir,
              s.ino_fd >= 0 ? "yes" : "no", (long long)s.o.rescan_ms);
  if ((rc = metrics_start(&s, err)) < 0)
    goto out;
  oc_http_set_ready(s.http, true, NULL);
  oc_notify_ready("watching %s", s.dir);

  while (!stopping(&s)) {
    reload_catalog(&s);
    if ((rc = one_round(&s, err)) < 0)
      goto out;
    if (!s.retry)
      wait_for(&s, s.o.rescan_ms, true);
  }
  rc = 0;
  oc_log_info("watch_stop dir=\"%s\"", s.dir);
out:
  oc_notify_stopping();
  oc_http_destroy(s.http); /* before the registry its thread reads */
  oc_metrics_destroy(s.reg);
  if (s.catalog) /* the caller's catalog back, before this one goes */
    oc_producer_set_catalog(s.p, opts->catalog);
  oc_catalog_destroy(s.catalog);
  if (s.ino_fd >= 0)
    close(s.ino_fd);
  free(s.dir);
  free(s.processing);
  free(s.done);
  free(s.failed);
  return rc;
}
