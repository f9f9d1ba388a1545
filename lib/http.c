/* http.c - /metrics, /healthz and /readyz over libmicrohttpd; see
 * include/outcomes/http.h. */
#include "outcomes/http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <microhttpd.h>

#include "outcomes/clock.h"
#include "outcomes/log.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_CONTENT_TYPE "text/plain; charset=utf-8"
#define DEFAULT_HEALTH_MAX_AGE_MS 30000u
#define DEFAULT_CONNECTION_LIMIT 64u
/* Connections one client address may hold: a client that opens many and
 * sends nothing must not lock the scraper and the probes out. */
#define PER_CLIENT_CONNECTION_LIMIT 4u
#define DEFAULT_CONNECTION_TIMEOUT_S 10u
/* Request line and headers must fit here; we never read bodies. */
#define CONNECTION_MEMORY_LIMIT ((size_t)16 * 1024)
#define LISTEN_BACKLOG 64

struct oc_http_s {
  struct MHD_Daemon *daemon; /* owned; NULL once stopped */
  oc_metrics_t *metrics;     /* borrowed */
  uint16_t port;
  int64_t health_max_age_ms;
  _Atomic int64_t last_tick_ms;
  _Atomic bool ready;
  oc_metrics_gauge_t *ready_gauge; /* outcomes_ready in metrics, or NULL */
  pthread_mutex_t reason_mu;       /* guards reason */
  char reason[OC_HTTP_REASON_MAX];
};

/* ---- listen address ---------------------------------------------------- */

int oc_http_parse_listen(const char *addr, char *host, size_t host_size, uint16_t *port,
                         oc_err_t *err) {
  const char *h, *h_end, *p;

  if (!addr || !host || !port)
    return oc_err_set(err, OC_ERR_USAGE, "listen address: missing argument");
  if (addr[0] == '[') {
    h = addr + 1;
    h_end = strchr(h, ']');
    if (!h_end || h_end[1] != ':')
      return oc_err_set(err, OC_ERR_CONFIG, "listen address '%s': expected '[ipv6]:port'", addr);
    p = h_end + 2;
  } else {
    h = addr;
    h_end = strrchr(addr, ':');
    if (!h_end)
      return oc_err_set(err, OC_ERR_CONFIG, "listen address '%s': expected 'host:port'", addr);
    if (memchr(h, ':', (size_t)(h_end - h)))
      return oc_err_set(err, OC_ERR_CONFIG,
                        "listen address '%s': put an IPv6 address in brackets, "
                        "e.g. '[::1]:9464'",
                        addr);
    p = h_end + 1;
  }
  size_t hlen = (size_t)(h_end - h);
  if (hlen == 0)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "listen address '%s': missing host (use 0.0.0.0 or [::] for "
                      "every interface)",
                      addr);
  if (hlen >= host_size || hlen > OC_HTTP_HOST_MAX)
    return oc_err_set(err, OC_ERR_CONFIG, "listen address '%s': host too long", addr);
  unsigned long v = 0;
  if (!*p)
    return oc_err_set(err, OC_ERR_CONFIG, "listen address '%s': missing port", addr);
  for (const char *q = p; *q; q++) {
    if (*q < '0' || *q > '9' || v > 65535)
      return oc_err_set(err, OC_ERR_CONFIG,
                        "listen address '%s': port must be a number from 0 to 65535", addr);
    v = v * 10 + (unsigned long)(*q - '0');
  }
  if (v > 65535)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "listen address '%s': port must be a number from 0 to 65535", addr);
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  *port = (uint16_t)v;
  return 0;
}

/* A bound, listening, close-on-exec socket for addr in *fd_out and its
 * port in *port_out. */
static int bind_listen(const char *addr, int *fd_out, uint16_t *port_out, oc_err_t *err) {
  char host[OC_HTTP_HOST_MAX + 1];
  char service[8];
  uint16_t port = 0;
  struct addrinfo hints, *ai = NULL;
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof(ss);
  int fd = -1, one = 1, rc;

  rc = oc_http_parse_listen(addr, host, sizeof(host), &port, err);
  if (rc)
    return rc;
  snprintf(service, sizeof(service), "%u", (unsigned)port);
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gai = getaddrinfo(host, service, &hints, &ai);
  if (gai != 0) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "listen %s: cannot resolve '%s': %s", addr, host,
                    gai_strerror(gai));
    goto out;
  }
  fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
  if (fd < 0) {
    rc = oc_err_set(err, OC_ERR_IO, "listen %s: socket: %s", addr, strerror(errno));
    goto out;
  }
  int fl = fcntl(fd, F_GETFL);
  /* Non-blocking, so that the server thread never sleeps in accept(). */
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    rc = oc_err_set(err, OC_ERR_IO, "listen %s: socket options: %s", addr, strerror(errno));
    goto out;
  }
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    rc = oc_err_set_retriable(err, OC_ERR_IO, "listen %s: bind: %s", addr, strerror(errno));
    goto out;
  }
  if (listen(fd, LISTEN_BACKLOG) != 0) {
    rc = oc_err_set(err, OC_ERR_IO, "listen %s: listen: %s", addr, strerror(errno));
    goto out;
  }
  if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
    rc = oc_err_set(err, OC_ERR_IO, "listen %s: getsockname: %s", addr, strerror(errno));
    goto out;
  }
  if (ss.ss_family == AF_INET6)
    *port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  else
    *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  *fd_out = fd; /* caller owns */
  fd = -1;

out:
  if (fd >= 0)
    close(fd);
  if (ai)
    freeaddrinfo(ai);
  return rc;
}

/* ---- requests ---------------------------------------------------------- */

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  (void)cls;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  oc_log_warn("http_error message=\"%s\"", msg);
}

/* Queue a response; body is copied unless must_free, in which case it is
 * malloc'd and taken over (freed even on failure). */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
                               const char *content_type, char *body, size_t len, bool must_free) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
  if (!resp) {
    if (must_free)
      free(body);
    return MHD_NO;
  }
  enum MHD_Result ok = MHD_YES;
  if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES ||
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES)
    ok = MHD_NO;
  if (ok == MHD_YES && status == MHD_HTTP_METHOD_NOT_ALLOWED &&
      MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)
    ok = MHD_NO;
  if (ok == MHD_YES)
    ok = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return ok;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status,
                                    const char *text) {
  return respond(conn, status, TEXT_CONTENT_TYPE, (char *)(uintptr_t)text, strlen(text), false);
}

static enum MHD_Result serve_metrics(oc_http_t *srv, struct MHD_Connection *conn) {
  char *text = NULL;
  size_t len = 0;
  oc_err_t err;

  if (!srv->metrics)
    return respond(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE, (char *)(uintptr_t) "", 0, false);
  if (oc_metrics_render(srv->metrics, &text, &len, &err) != 0) {
    oc_log_err("http_metrics_failed error=\"%s\"", err.msg);
    return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
  }
  return respond(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE, text, len, true);
}

static enum MHD_Result serve_healthz(oc_http_t *srv, struct MHD_Connection *conn) {
  char body[128];
  int64_t age = oc_clock_ms() - atomic_load(&srv->last_tick_ms);

  if (age <= srv->health_max_age_ms)
    return respond_text(conn, MHD_HTTP_OK, "ok\n");
  snprintf(body, sizeof(body), "stalled: main loop last ticked %" PRId64 " ms ago\n", age);
  return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result serve_readyz(oc_http_t *srv, struct MHD_Connection *conn) {
  char body[OC_HTTP_REASON_MAX + 16];

  if (atomic_load(&srv->ready))
    return respond_text(conn, MHD_HTTP_OK, "ready\n");
  pthread_mutex_lock(&srv->reason_mu);
  snprintf(body, sizeof(body), "not ready: %s\n", srv->reason);
  pthread_mutex_unlock(&srv->reason_mu);
  return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static bool has_body(struct MHD_Connection *conn) {
  const char *cl =
      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  const char *te =
      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
  return te != NULL || (cl != NULL && strcmp(cl, "0") != 0);
}

/* Every request is answered on its first call, before any body is read:
 * MHD then discards the body and closes the connection. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
  oc_http_t *srv = cls;
  enum MHD_Result (*serve)(oc_http_t *, struct MHD_Connection *) = NULL;
  (void)version;
  (void)upload_data;
  (void)upload_data_size;
  (void)con_cls;

  if (strcmp(url, "/metrics") == 0)
    serve = serve_metrics;
  else if (strcmp(url, "/healthz") == 0)
    serve = serve_healthz;
  else if (strcmp(url, "/readyz") == 0)
    serve = serve_readyz;
  if (!serve)
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
  if (has_body(conn))
    return respond_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request bodies are not accepted\n");
  return serve(srv, conn);
}

/* ---- lifecycle --------------------------------------------------------- */

int oc_http_start(const oc_http_opts_t *opts, oc_http_t **out, oc_err_t *err) {
  oc_http_t *srv = NULL;
  const char *addr;
  int fd = -1, rc = 0;
  bool mu_ok = false;

  if (!opts || !out)
    return oc_err_set(err, OC_ERR_USAGE, "http start: options and output required");
  addr = opts->listen && *opts->listen ? opts->listen : OC_HTTP_DEFAULT_LISTEN;
  srv = calloc(1, sizeof(*srv));
  if (!srv)
    return oc_err_set(err, OC_ERR_NOMEM, "http start: out of memory");
  if (pthread_mutex_init(&srv->reason_mu, NULL) != 0) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "http start: mutex");
    goto out;
  }
  mu_ok = true;
  srv->metrics = opts->metrics;
  if (srv->metrics) {
    oc_metrics_family_t *f_ready = NULL;
    if ((rc = oc_metrics_add_gauge(srv->metrics, "outcomes_ready", "1 while /readyz answers 200",
                                   NULL, 0, &f_ready, err)) != 0)
      goto out;
    srv->ready_gauge = oc_metrics_gauge(f_ready, NULL);
  }
  srv->health_max_age_ms =
      opts->health_max_age_ms ? opts->health_max_age_ms : DEFAULT_HEALTH_MAX_AGE_MS;
  atomic_init(&srv->last_tick_ms, oc_clock_ms());
  atomic_init(&srv->ready, false);
  snprintf(srv->reason, sizeof(srv->reason), "starting");

  rc = bind_listen(addr, &fd, &srv->port, err);
  if (rc)
    goto out;
  unsigned limit = opts->connection_limit ? opts->connection_limit : DEFAULT_CONNECTION_LIMIT;
  unsigned timeout =
      opts->connection_timeout_s ? opts->connection_timeout_s : DEFAULT_CONNECTION_TIMEOUT_S;
  srv->daemon = MHD_start_daemon(
      MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, srv,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)srv, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
      MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      PER_CLIENT_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT, MHD_OPTION_END);
  if (!srv->daemon) {
    /* On failure MHD leaves the socket we passed to us. */
    rc = oc_err_set(err, OC_ERR_INTERNAL, "listen %s: libmicrohttpd failed to start", addr);
    goto out;
  }
  fd = -1; /* owned by the daemon, closed by MHD_stop_daemon */
  *out = srv;
  srv = NULL;

out:
  if (fd >= 0)
    close(fd);
  if (srv) {
    if (mu_ok)
      pthread_mutex_destroy(&srv->reason_mu);
    free(srv);
  }
  return rc;
}

uint16_t oc_http_port(const oc_http_t *srv) { return srv ? srv->port : 0; }

void oc_http_tick(oc_http_t *srv) {
  if (srv)
    atomic_store(&srv->last_tick_ms, oc_clock_ms());
}

void oc_http_set_ready(oc_http_t *srv, bool ready, const char *reason) {
  if (!srv)
    return;
  pthread_mutex_lock(&srv->reason_mu);
  snprintf(srv->reason, sizeof(srv->reason), "%s", reason ? reason : "");
  pthread_mutex_unlock(&srv->reason_mu);
  atomic_store(&srv->ready, ready);
  oc_metrics_gauge_set(srv->ready_gauge, ready ? 1 : 0);
}

void oc_http_stop(oc_http_t *srv) {
  if (!srv || !srv->daemon)
    return;
  MHD_stop_daemon(srv->daemon);
  srv->daemon = NULL;
}

void oc_http_destroy(oc_http_t *srv) {
  if (!srv)
    return;
  oc_http_stop(srv);
  pthread_mutex_destroy(&srv->reason_mu);
  free(srv);
}
