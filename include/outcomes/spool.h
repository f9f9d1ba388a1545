/*
 * spool.h - the spool-directory daemon of outcomes-produce (--watch DIR).
 *
 * Files are placed into DIR by rename (write elsewhere or under a dot name
 * or a ".tmp" name, then rename). Names starting with '.' or ending in
 * ".tmp" are ignored. Each file is
 *
 *   1. moved to DIR/processing/,
 *   2. published (produce.h),
 *   3. moved to DIR/done/ once every valid row is acknowledged; if some rows
 *      were rejected, DIR/done/<name>.errors lists them beside it;
 *      or moved to DIR/failed/ with DIR/failed/<name>.errors when nothing
 *      could be published: every row rejected, a bad file (unknown format,
 *      bad header, unreadable), or any rejected row under --strict.
 *
 * When Kafka fails (a delivery not acknowledged) the file stays in
 * processing/ and is tried again with a backoff (retry_min_ms doubling to
 * retry_max_ms); no new file is taken meanwhile. Files found in
 * processing/ at start-up (left by a crash or a stop) are published again
 * first: safe, since the consumer is idempotent. A name already in done/ or
 * failed/ is replaced.
 *
 * New files are noticed through inotify and by a rescan every rescan_ms
 * (inotify may be unavailable, or miss files on network file systems).
 * Under systemd (Type=notify) it sends READY=1 once the directories are set
 * up, WATCHDOG=1 while waiting or between files, and STOPPING=1 when it
 * stops. With metrics_listen it serves /metrics (files by result, records
 * published and rejected, file duration), /healthz and /readyz (not ready
 * while Kafka fails).
 *
 * When *reload becomes non-zero (SIGHUP), or catalog_path has changed since
 * it was last read (another inode, size or mtime; checked between files and
 * at every scan), the catalog file is read again: the files taken from then on are validated with
 * it, and "catalog_reloaded added=... removed=... changed=..." is logged; a
 * file that cannot be read or parsed leaves the catalog in use as it was,
 * logged as "catalog_reload_failed reason=..." once per version of the file.
 */
#ifndef OUTCOMES_SPOOL_H
#define OUTCOMES_SPOOL_H

#include <signal.h>
#include <stdint.h>

#include "outcomes/err.h"
#include "outcomes/produce.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oc_spool_opts_s {
  const char *dir;      /* borrowed */
  int64_t rescan_ms;    /* periodic rescan; 0 = 5000 */
  int64_t retry_min_ms; /* first backoff after a Kafka failure; 0 = 1000 */
  int64_t retry_max_ms; /* largest backoff; 0 = 60000 */
  /* Borrowed stop request (as in oc_produce_opts_t): the file being
   * published is flushed within the flush timeout and left in processing/. */
  const volatile sig_atomic_t *stop;
  /* host:port serving /metrics, /healthz and /readyz; NULL or "": none. */
  const char *metrics_listen;
  const char *topic; /* borrowed: the label of the published counter */
  /* Borrowed: set to 1 (by a SIGHUP handler) to reload the catalog from
   * catalog_path; reset to 0 here. NULL: never. */
  volatile sig_atomic_t *reload;
  const char *catalog_path;    /* borrowed */
  const oc_catalog_t *catalog; /* borrowed: the catalog p was made with */
} oc_spool_opts_t;

/* Watch opts->dir until a stop request. p (borrowed) publishes; its
 * options (strict, format, retract) apply to every file. Returns 0 after a
 * stop request; OC_ERR_IO when the directories cannot be set up or read;
 * OC_ERR_KAFKA when the producer hit a fatal error (restart the process). */
int oc_spool_run(oc_producer_t *p, const oc_spool_opts_t *opts, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
