/* test_http.c - the monitoring endpoint (lib/http.c, include/outcomes/http.h),
 * exercised with a small blocking HTTP/1.1 client over a real socket. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "outcomes/http.h"
#include "outcomes/metrics.h"

typedef struct resp_s {
  int status;
  char head[4096]; /* status line and headers */
  char body[65536];
} resp_t;

/* Connect to the loopback of family (AF_INET or AF_INET6) on port. */
static int dial(int family, uint16_t port) {
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof(ss));
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof(*a);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*a);
  }
  int fd = socket(family, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Send a raw request and read the whole response (the request asks the
 * server to close). Fails the test on a socket error or timeout. */
static void exchange(int family, uint16_t port, const char *request, resp_t *r) {
  static char raw[sizeof(r->head) + sizeof(r->body)];
  size_t got = 0;
  int fd = dial(family, port);
  if (fd < 0)
    fail_msg("connect to port %u: %s", (unsigned)port, strerror(errno));
  size_t len = strlen(request), sent = 0;
  while (sent < len) {
    ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
    if (n <= 0)
      fail_msg("send: %s", strerror(errno));
    sent += (size_t)n;
  }
  for (;;) {
    if (got >= sizeof(raw) - 1)
      fail_msg("response too large");
    ssize_t n = recv(fd, raw + got, sizeof(raw) - 1 - got, 0);
    if (n < 0)
      fail_msg("recv: %s", strerror(errno));
    if (n == 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  raw[got] = '\0';

  char *sep = strstr(raw, "\r\n\r\n");
  if (!sep)
    fail_msg("no end of headers in '%s'", raw);
  size_t hlen = (size_t)(sep - raw);
  assert_true(hlen < sizeof(r->head));
  memcpy(r->head, raw, hlen);
  r->head[hlen] = '\0';
  snprintf(r->body, sizeof(r->body), "%s", sep + 4);
  if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
    fail_msg("bad status line in '%s'", r->head);
}

static void get(uint16_t port, const char *method, const char *path, resp_t *r) {
  char req[512];
  snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
           method, path);
  exchange(AF_INET, port, req, r);
}

/* The value of header name (case-insensitive) in r, or fail. */
static const char *header(const resp_t *r, const char *name) {
  static char value[512];
  size_t nlen = strlen(name);
  for (const char *line = strstr(r->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
    const char *h = line + 2;
    if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':') {
      const char *v = h + nlen + 1;
      while (*v == ' ')
        v++;
      const char *end = strstr(v, "\r\n");
      size_t vlen = end ? (size_t)(end - v) : strlen(v);
      snprintf(value, sizeof(value), "%.*s", (int)vlen, v);
      return value;
    }
  }
  fail_msg("no header '%s' in:\n%s", name, r->head);
  return NULL;
}

static oc_http_t *start(const char *listen, oc_metrics_t *reg, unsigned health_ms) {
  oc_http_opts_t opts;
  oc_http_t *srv = NULL;
  oc_err_t err;
  memset(&opts, 0, sizeof(opts));
  opts.listen = listen;
  opts.metrics = reg;
  opts.health_max_age_ms = health_ms;
  oc_err_clear(&err);
  if (oc_http_start(&opts, &srv, &err) != 0)
    fail_msg("start on %s: %s", listen, err.msg);
  assert_true(oc_http_port(srv) != 0);
  return srv;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_metrics_endpoint_serves_the_registry_text(void **state) {
  (void)state;
  static const char *const reason[] = {"reason"};
  oc_metrics_t *reg = oc_metrics_new();
  oc_metrics_family_t *consumed = NULL, *dead = NULL;
  resp_t r;
  char *want = NULL;
  oc_err_t err;

  assert_int_equal(oc_metrics_add_counter(reg, "outcomes_records_consumed_total", "Records polled.",
                                          NULL, 0, &consumed, &err),
                   0);
  assert_int_equal(oc_metrics_add_counter(reg, "outcomes_dead_letters_total", "Dead letters.",
                                          reason, 1, &dead, &err),
                   0);
  oc_metrics_counter_add(oc_metrics_counter(consumed, NULL), 7);
  oc_metrics_counter_inc(oc_metrics_counter(dead, (const char *[]){"unknown_metric"}));

  oc_http_t *srv = start("127.0.0.1:0", reg, 0);
  get(oc_http_port(srv), "GET", "/metrics", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  assert_int_equal(oc_metrics_render(reg, &want, NULL, &err), 0);
  assert_string_equal(r.body, want);
  assert_non_null(strstr(r.body, "outcomes_records_consumed_total 7\n"));
  assert_non_null(strstr(r.body, "outcomes_dead_letters_total{reason=\"unknown_metric\"} 1\n"));
  free(want);

  /* Later updates show in the next scrape; a query string is ignored. */
  oc_metrics_counter_add(oc_metrics_counter(consumed, NULL), 3);
  get(oc_http_port(srv), "GET", "/metrics?x=1", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "outcomes_records_consumed_total 10\n"));

  /* HEAD gives the headers without the body. */
  get(oc_http_port(srv), "HEAD", "/metrics", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "");

  oc_http_destroy(srv);
  oc_metrics_destroy(reg);
}

static void test_metrics_without_registry_is_empty(void **state) {
  (void)state;
  resp_t r;
  oc_http_t *srv = start("127.0.0.1:0", NULL, 0);
  get(oc_http_port(srv), "GET", "/metrics", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "");
  oc_http_destroy(srv);
}

static void test_healthz_follows_the_main_loop_ticks(void **state) {
  (void)state;
  resp_t r;
  oc_http_t *srv = start("127.0.0.1:0", NULL, 300);

  get(oc_http_port(srv), "GET", "/healthz", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ok\n");
  assert_string_equal(header(&r, "Content-Type"), "text/plain; charset=utf-8");

  sleep_ms(450); /* no tick: stalled */
  get(oc_http_port(srv), "GET", "/healthz", &r);
  assert_int_equal(r.status, 503);
  if (strncmp(r.body, "stalled: main loop last ticked ", 31) != 0)
    fail_msg("healthz body '%s'", r.body);

  oc_http_tick(srv);
  get(oc_http_port(srv), "GET", "/healthz", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ok\n");
  oc_http_destroy(srv);
}

static void test_readyz_is_503_with_reason_until_set_ready(void **state) {
  (void)state;
  resp_t r;
  oc_http_t *srv = start("127.0.0.1:0", NULL, 0);
  uint16_t port = oc_http_port(srv);

  get(port, "GET", "/readyz", &r);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.body, "not ready: starting\n");

  oc_http_set_ready(srv, false, "waiting for partition assignment");
  get(port, "GET", "/readyz", &r);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.body, "not ready: waiting for partition assignment\n");

  oc_http_set_ready(srv, true, NULL);
  get(port, "GET", "/readyz", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ready\n");

  oc_http_set_ready(srv, false, "postgresql connection lost");
  get(port, "GET", "/readyz", &r);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.body, "not ready: postgresql connection lost\n");
  oc_http_destroy(srv);
}

static void test_unknown_paths_404_other_methods_405_bodies_413(void **state) {
  (void)state;
  resp_t r;
  oc_http_t *srv = start("127.0.0.1:0", NULL, 0);
  uint16_t port = oc_http_port(srv);

  get(port, "GET", "/", &r);
  assert_int_equal(r.status, 404);
  get(port, "GET", "/metrics/extra", &r);
  assert_int_equal(r.status, 404);

  exchange(AF_INET, port,
           "POST /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Content-Length: 0\r\n\r\n",
           &r);
  assert_int_equal(r.status, 405);
  assert_string_equal(header(&r, "Allow"), "GET, HEAD");
  get(port, "DELETE", "/readyz", &r);
  assert_int_equal(r.status, 405);
  get(port, "PUT", "/healthz", &r);
  assert_int_equal(r.status, 405);

  exchange(AF_INET, port,
           "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Content-Length: 5\r\n\r\nhello",
           &r);
  assert_int_equal(r.status, 413);
  assert_string_equal(r.body, "request bodies are not accepted\n");

  /* The server still answers after all that. */
  get(port, "GET", "/healthz", &r);
  assert_int_equal(r.status, 200);
  oc_http_destroy(srv);
}

static void test_address_in_use_fails_with_a_clear_error(void **state) {
  (void)state;
  char addr[64];
  oc_http_opts_t opts;
  oc_http_t *second = NULL;
  oc_err_t err;
  char want[128];

  oc_http_t *first = start("127.0.0.1:0", NULL, 0);
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)oc_http_port(first));
  memset(&opts, 0, sizeof(opts));
  opts.listen = addr;
  oc_err_clear(&err);
  assert_int_equal(oc_http_start(&opts, &second, &err), OC_ERR_IO);
  assert_null(second);
  snprintf(want, sizeof(want), "listen %s: bind: %s", addr, strerror(EADDRINUSE));
  assert_string_equal(err.msg, want);
  oc_http_destroy(first);
}

static void expect_parse(const char *addr, const char *host, uint16_t port) {
  char h[OC_HTTP_HOST_MAX + 1];
  uint16_t p = 1;
  oc_err_t err;
  if (oc_http_parse_listen(addr, h, sizeof(h), &p, &err) != 0)
    fail_msg("parse '%s': %s", addr, err.msg);
  assert_string_equal(h, host);
  assert_int_equal(p, port);
}

static void expect_refused(const char *addr, const char *msg) {
  char h[OC_HTTP_HOST_MAX + 1];
  uint16_t p = 0;
  oc_err_t err;
  oc_err_clear(&err);
  assert_int_equal(oc_http_parse_listen(addr, h, sizeof(h), &p, &err), OC_ERR_CONFIG);
  assert_string_equal(err.msg, msg);
}

static void test_listen_addresses_parse_or_are_refused(void **state) {
  (void)state;
  expect_parse(OC_HTTP_DEFAULT_LISTEN, "127.0.0.1", 9464);
  expect_parse("[::1]:9464", "::1", 9464);
  expect_parse("[::]:0", "::", 0);
  expect_parse("localhost:65535", "localhost", 65535);
  expect_parse("0.0.0.0:80", "0.0.0.0", 80);

  expect_refused("9464", "listen address '9464': expected 'host:port'");
  expect_refused(":9464", "listen address ':9464': missing host (use 0.0.0.0 or [::] for "
                          "every interface)");
  expect_refused("127.0.0.1:", "listen address '127.0.0.1:': missing port");
  expect_refused("127.0.0.1:65536",
                 "listen address '127.0.0.1:65536': port must be a number from 0 to 65535");
  expect_refused("127.0.0.1:99999999999999999999",
                 "listen address '127.0.0.1:99999999999999999999': port must be a number "
                 "from 0 to 65535");
  expect_refused("127.0.0.1:9x",
                 "listen address '127.0.0.1:9x': port must be a number from 0 to 65535");
  expect_refused("::1:9464", "listen address '::1:9464': put an IPv6 address in brackets, "
                             "e.g. '[::1]:9464'");
  expect_refused("[::1]9464", "listen address '[::1]9464': expected '[ipv6]:port'");
  expect_refused("[::1", "listen address '[::1': expected '[ipv6]:port'");

  /* oc_http_start reports the same errors. */
  oc_http_opts_t opts;
  oc_http_t *srv = NULL;
  oc_err_t err;
  memset(&opts, 0, sizeof(opts));
  opts.listen = "nohostport";
  assert_int_equal(oc_http_start(&opts, &srv, &err), OC_ERR_CONFIG);
  assert_null(srv);
  assert_string_equal(err.msg, "listen address 'nohostport': expected 'host:port'");
  assert_null(srv);
  opts.listen = "127.0.0.1:65536";
  assert_int_equal(oc_http_start(&opts, &srv, &err), OC_ERR_CONFIG);
  assert_null(srv);
}

static bool ipv6_loopback_available(void) {
  struct sockaddr_in6 a;
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  memset(&a, 0, sizeof(a));
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  close(fd);
  return ok;
}

static void test_ipv6_loopback_listens(void **state) {
  (void)state;
  resp_t r;
  if (!ipv6_loopback_available()) {
    print_message("no IPv6 loopback on this host\n");
    skip();
  }
  oc_http_t *srv = start("[::1]:0", NULL, 0);
  exchange(AF_INET6, oc_http_port(srv),
           "GET /healthz HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "ok\n");
  oc_http_destroy(srv);
}

/* One client holding connections open cannot lock the others out: from
 * 127.0.0.2 (a loopback address of its own) it opens many and sends
 * nothing; the scraper on 127.0.0.1 is still served. */
static void test_one_client_cannot_take_every_connection(void **state) {
  (void)state;
  enum { HOG = 64 };
  int fds[HOG];
  oc_http_t *srv = start("127.0.0.1:0", NULL, 0);
  struct sockaddr_in src = {.sin_family = AF_INET};
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(oc_http_port(srv))};
  src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < HOG; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fds[i] >= 0);
    assert_int_equal(bind(fds[i], (struct sockaddr *)&src, sizeof(src)), 0);
    assert_int_equal(connect(fds[i], (struct sockaddr *)&dst, sizeof(dst)), 0);
  }
  sleep_ms(200); /* the server has accepted (or refused) them all */
  oc_http_tick(srv);
  resp_t r;
  get(oc_http_port(srv), "GET", "/healthz", &r);
  assert_int_equal(r.status, 200);
  for (int i = 0; i < HOG; i++)
    close(fds[i]);
  oc_http_destroy(srv);
}

static void test_stop_closes_the_port_and_destroy_is_clean(void **state) {
  (void)state;
  resp_t r;
  oc_metrics_t *reg = oc_metrics_new();
  oc_http_t *srv = start("127.0.0.1:0", reg, 0);
  uint16_t port = oc_http_port(srv);

  /* A connection left idle and open must not block the stop. */
  int idle = dial(AF_INET, port);
  assert_true(idle >= 0);
  get(port, "GET", "/readyz", &r);
  assert_int_equal(r.status, 503);

  oc_http_stop(srv);
  oc_http_stop(srv); /* idempotent */
  assert_int_equal(dial(AF_INET, port), -1);
  assert_int_equal(errno, ECONNREFUSED);
  /* The owner's setters stay harmless after the stop. */
  oc_http_tick(srv);
  oc_http_set_ready(srv, true, "late");
  close(idle);
  oc_http_destroy(srv);
  oc_http_destroy(NULL);
  oc_metrics_destroy(reg);

  /* The port is free again at once. */
  char addr[64];
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)port);
  srv = start(addr, NULL, 0);
  assert_int_equal(oc_http_port(srv), port);
  oc_http_destroy(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics_endpoint_serves_the_registry_text),
      cmocka_unit_test(test_metrics_without_registry_is_empty),
      cmocka_unit_test(test_healthz_follows_the_main_loop_ticks),
      cmocka_unit_test(test_readyz_is_503_with_reason_until_set_ready),
      cmocka_unit_test(test_unknown_paths_404_other_methods_405_bodies_413),
      cmocka_unit_test(test_address_in_use_fails_with_a_clear_error),
      cmocka_unit_test(test_listen_addresses_parse_or_are_refused),
      cmocka_unit_test(test_ipv6_loopback_listens),
      cmocka_unit_test(test_one_client_cannot_take_every_connection),
      cmocka_unit_test(test_stop_closes_the_port_and_destroy_is_clean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
