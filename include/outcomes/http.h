/*
 * http.h - the daemons' HTTP endpoint for monitoring (libmicrohttpd).
 *
 *   GET /metrics  200, the registry in Prometheus text format 0.0.4
 *   GET /healthz  200 "ok" while the owner's main loop has called
 *                 oc_http_tick() within health_max_age_ms, else 503
 *   GET /readyz   200 "ready" after oc_http_set_ready(srv, true, ...), else
 *                 503 with the reason given (initially "starting"); the
 *                 gauge outcomes_ready, which the server adds to the
 *                 registry, says the same: 1 or 0
 *   anything else 404; other methods on those paths 405 (HEAD is allowed);
 *   requests with a body 413.
 *
 * The server answers from a thread of its own; the owner only calls the
 * setters, which are cheap and thread-safe. It is meant for a trusted
 * network: no TLS, no authentication; the default address is loopback.
 */
#ifndef OUTCOMES_HTTP_H
#define OUTCOMES_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outcomes/err.h"
#include "outcomes/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OC_HTTP_DEFAULT_LISTEN "127.0.0.1:9464"
#define OC_HTTP_HOST_MAX 255
#define OC_HTTP_REASON_MAX 256

typedef struct oc_http_s oc_http_t;

typedef struct oc_http_opts_s {
  const char *listen;            /* "host:port" or "[v6]:port"; NULL = default;
                                  port 0 = ephemeral (see oc_http_port) */
  oc_metrics_t *metrics;         /* borrowed, must outlive the server; NULL
                                  serves an empty /metrics; gains the
                                  family outcomes_ready */
  unsigned health_max_age_ms;    /* 0 = 30000 */
  unsigned connection_limit;     /* 0 = 64 at once, 4 per client address */
  unsigned connection_timeout_s; /* 0 = 10 s idle per connection */
} oc_http_opts_t;

/*
 * Split a listen address: "127.0.0.1:9464", "localhost:9464", "[::1]:9464",
 * "0.0.0.0:9464" or "[::]:9464" for every interface. host (at least
 * OC_HTTP_HOST_MAX + 1 bytes) receives the host without brackets. The host
 * may not be empty. Errors: OC_ERR_CONFIG naming the address.
 */
int oc_http_parse_listen(const char *listen, char *host, size_t host_size, uint16_t *port,
                         oc_err_t *err);

/*
 * Bind the address (resolved with getaddrinfo, first result) and start
 * serving. On success *out is the running server; caller frees with
 * oc_http_destroy(). Errors: OC_ERR_CONFIG for a bad address, OC_ERR_IO
 * when it cannot be bound (e.g. "listen 127.0.0.1:9464: bind: Address
 * already in use"), OC_ERR_NOMEM, OC_ERR_INTERNAL when libmicrohttpd
 * refuses to start.
 */
int oc_http_start(const oc_http_opts_t *opts, oc_http_t **out, oc_err_t *err);

/* The bound port (useful with port 0); 0 for NULL. */
uint16_t oc_http_port(const oc_http_t *srv);

/* Record that the owner's main loop made progress or is healthily idle. */
void oc_http_tick(oc_http_t *srv);

/* Set readiness; reason (copied, truncated to OC_HTTP_REASON_MAX - 1
 * bytes, may be NULL) is shown by /readyz while not ready. */
void oc_http_set_ready(oc_http_t *srv, bool ready, const char *reason);

/* Stop listening and wait for the server thread; in-flight requests are
 * finished or dropped. Idempotent; the setters stay callable. Call stop
 * and destroy from the owner's thread only. */
void oc_http_stop(oc_http_t *srv);

/* Stop (if needed) and free. Accepts NULL. */
void oc_http_destroy(oc_http_t *srv);

#ifdef __cplusplus
}
#endif
#endif
