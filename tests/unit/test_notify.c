/* test_notify.c - the sd_notify wrapper (lib/notify.c) against a real
 * listening AF_UNIX datagram socket set as NOTIFY_SOCKET, in both the path
 * and the abstract-namespace ("@name") forms. */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "outcomes/err.h"
#include "outcomes/notify.h"

#define SEC 1000000u

/* A listening notify socket: fd, its NOTIFY_SOCKET value and, for a path
 * socket, the directory to remove. */
typedef struct listener_s {
  int fd;
  char notify_socket[108];
  char dir[64];
} listener_t;

/* Bind a datagram socket. abstract: "@oc-test-notify-<pid>-<n>" instead of
 * a path in a fresh temporary directory. Sets NOTIFY_SOCKET. */
static void listener_open(listener_t *l, int abstract) {
  static int seq;
  struct sockaddr_un sa;
  socklen_t len;

  memset(l, 0, sizeof(*l));
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(l->fd >= 0);
  if (abstract) {
    snprintf(l->notify_socket, sizeof(l->notify_socket), "@oc-test-notify-%ld-%d", (long)getpid(),
             ++seq);
    /* sun_path[0] = '\0', then the name without '@'; the length counts no
     * terminator, exactly as libsystemd computes it. */
    memcpy(sa.sun_path + 1, l->notify_socket + 1, strlen(l->notify_socket) - 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(l->notify_socket));
  } else {
    snprintf(l->dir, sizeof(l->dir), "/tmp/oc-test-notify-XXXXXX");
    assert_non_null(mkdtemp(l->dir));
    snprintf(l->notify_socket, sizeof(l->notify_socket), "%s/notify", l->dir);
    memcpy(sa.sun_path, l->notify_socket, strlen(l->notify_socket) + 1);
    len = (socklen_t)sizeof(sa);
  }
  if (bind(l->fd, (struct sockaddr *)&sa, len) != 0)
    fail_msg("bind '%s': %s", l->notify_socket, strerror(errno));
  assert_int_equal(setenv("NOTIFY_SOCKET", l->notify_socket, 1), 0);
}

static void listener_close(listener_t *l) {
  unsetenv("NOTIFY_SOCKET");
  close(l->fd);
  if (l->dir[0]) {
    unlink(l->notify_socket);
    rmdir(l->dir);
  }
}

/* The next datagram, within one second; fails the test when none comes. */
static const char *next_datagram(listener_t *l) {
  static char buf[4096];
  struct pollfd p = {.fd = l->fd, .events = POLLIN};
  ssize_t n;

  if (poll(&p, 1, 1000) != 1)
    fail_msg("no datagram on '%s' within 1 s", l->notify_socket);
  n = recv(l->fd, buf, sizeof(buf) - 1, 0);
  assert_true(n >= 0);
  buf[n] = '\0';
  return buf;
}

/* No datagram is waiting (everything expected was read, nothing extra). */
static void assert_no_datagram(listener_t *l) {
  char buf[64];
  ssize_t n = recv(l->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
  if (n >= 0) {
    buf[n] = '\0';
    fail_msg("unexpected datagram '%s'", buf);
  }
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void set_watchdog(const char *usec, long pid) {
  char b[32];
  if (usec)
    setenv("WATCHDOG_USEC", usec, 1);
  else
    unsetenv("WATCHDOG_USEC");
  if (pid > 0) {
    snprintf(b, sizeof(b), "%ld", pid);
    setenv("WATCHDOG_PID", b, 1);
  } else {
    unsetenv("WATCHDOG_PID");
  }
}

/* The life of a daemon, in order: READY with a status, a status update,
 * watchdog kicks rate-limited to one per half interval, STOPPING. base is
 * a monotonic time unused by the other tests (the kick state is global). */
static void run_lifecycle(int abstract, uint64_t base) {
  listener_t l;

  listener_open(&l, abstract);
  set_watchdog("1000000", (long)getpid());

  assert_int_equal(oc_notify_ready("consuming %s", "outcomes.observations"), 1);
  assert_string_equal(next_datagram(&l), "READY=1\nSTATUS=consuming outcomes.observations");
  assert_int_equal(oc_notify_status("lag %d", 120), 1);
  assert_string_equal(next_datagram(&l), "STATUS=lag 120");

  assert_int_equal(oc_notify_watchdog_kick(base), 1); /* the first is always sent */
  assert_string_equal(next_datagram(&l), "WATCHDOG=1");
  assert_int_equal(oc_notify_watchdog_kick(base + 1), 0);
  assert_int_equal(oc_notify_watchdog_kick(base + SEC / 10), 0);
  assert_int_equal(oc_notify_watchdog_kick(base + SEC / 2 - 1), 0);
  assert_no_datagram(&l);
  assert_int_equal(oc_notify_watchdog_kick(base + SEC / 2), 1);
  assert_string_equal(next_datagram(&l), "WATCHDOG=1");
  assert_int_equal(oc_notify_watchdog_kick(base + SEC / 2 + SEC / 4), 0);
  assert_int_equal(oc_notify_watchdog_kick(base + 5 * SEC), 1);
  assert_string_equal(next_datagram(&l), "WATCHDOG=1");

  assert_int_equal(oc_notify_stopping(), 1);
  assert_string_equal(next_datagram(&l), "STOPPING=1");
  assert_no_datagram(&l);

  set_watchdog(NULL, 0);
  listener_close(&l);
}

static void test_path_socket_sees_ready_status_watchdog_stopping_in_order(void **state) {
  (void)state;
  run_lifecycle(0, 1000 * (uint64_t)SEC);
}

static void test_abstract_socket_sees_ready_status_watchdog_stopping_in_order(void **state) {
  (void)state;
  run_lifecycle(1, 2000 * (uint64_t)SEC);
}

static void test_without_notify_socket_everything_is_a_noop(void **state) {
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  set_watchdog("1000000", (long)getpid());
  assert_int_equal(oc_notify_ready(NULL), 0);
  assert_int_equal(oc_notify_ready("up %d", 1), 0);
  assert_int_equal(oc_notify_status("x"), 0);
  assert_int_equal(oc_notify_watchdog_kick(3000 * (uint64_t)SEC), 0);
  assert_int_equal(oc_notify_stopping(), 0);
  set_watchdog(NULL, 0);
}

static void test_watchdog_usec_follows_sd_watchdog_enabled(void **state) {
  (void)state;
  set_watchdog(NULL, 0);
  assert_int_equal(oc_notify_watchdog_usec(), 0);
  set_watchdog("30000000", 0); /* no WATCHDOG_PID: for us */
  assert_int_equal(oc_notify_watchdog_usec(), 30000000);
  set_watchdog("30000000", (long)getpid());
  assert_int_equal(oc_notify_watchdog_usec(), 30000000);
  set_watchdog("30000000", (long)getpid() + 1); /* meant for another process */
  assert_int_equal(oc_notify_watchdog_usec(), 0);
  set_watchdog("not-a-number", 0);
  assert_int_equal(oc_notify_watchdog_usec(), 0);
  set_watchdog("0", 0);
  assert_int_equal(oc_notify_watchdog_usec(), 0);
  set_watchdog(NULL, 0);
}

static void test_watchdog_disabled_sends_no_kick(void **state) {
  listener_t l;
  (void)state;
  listener_open(&l, 0);
  set_watchdog(NULL, 0);
  assert_int_equal(oc_notify_watchdog_kick(4000 * (uint64_t)SEC), 0);
  set_watchdog("1000000", (long)getpid() + 1); /* another process's watchdog */
  assert_int_equal(oc_notify_watchdog_kick(4001 * (uint64_t)SEC), 0);
  assert_no_datagram(&l);
  set_watchdog(NULL, 0);
  listener_close(&l);
}

static void test_ready_without_status_and_status_is_one_bounded_line(void **state) {
  listener_t l;
  char longtext[2 * OC_NOTIFY_STATUS_MAX];
  const char *got;
  (void)state;

  listener_open(&l, 1);
  assert_int_equal(oc_notify_ready(NULL), 1);
  assert_string_equal(next_datagram(&l), "READY=1");
  /* A newline would start another assignment (e.g. a forged READY=1). */
  assert_int_equal(oc_notify_status("%s", "waiting\nREADY=1"), 1);
  assert_string_equal(next_datagram(&l), "STATUS=waiting");
  memset(longtext, 'x', sizeof(longtext) - 1);
  longtext[sizeof(longtext) - 1] = '\0';
  assert_int_equal(oc_notify_status("%s", longtext), 1);
  got = next_datagram(&l);
  assert_int_equal(strncmp(got, "STATUS=xxx", 10), 0);
  assert_int_equal(strlen(got), strlen("STATUS=") + OC_NOTIFY_STATUS_MAX);
  listener_close(&l);
}

static void test_unreachable_socket_is_an_io_error(void **state) {
  (void)state;
  setenv("NOTIFY_SOCKET", "/nonexistent/oc-test-notify", 1);
  assert_int_equal(oc_notify_ready(NULL), OC_ERR_IO);
  assert_int_equal(oc_notify_stopping(), OC_ERR_IO);
  unsetenv("NOTIFY_SOCKET");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_socket_sees_ready_status_watchdog_stopping_in_order),
      cmocka_unit_test(test_abstract_socket_sees_ready_status_watchdog_stopping_in_order),
      cmocka_unit_test(test_without_notify_socket_everything_is_a_noop),
      cmocka_unit_test(test_watchdog_usec_follows_sd_watchdog_enabled),
      cmocka_unit_test(test_watchdog_disabled_sends_no_kick),
      cmocka_unit_test(test_ready_without_status_and_status_is_one_bounded_line),
      cmocka_unit_test(test_unreachable_socket_is_an_io_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
