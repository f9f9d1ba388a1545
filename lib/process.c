/* process.c - the signal counter and the reload flag; see process.h. */
#include "outcomes/process.h"

#include <stddef.h>
#include <string.h>

static volatile sig_atomic_t *signal_counter;

static void on_signal(int sig) {
  (void)sig;
  if (*signal_counter < 2)
    *signal_counter = *signal_counter + 1;
}

/* Handle sig with handler (SIG_IGN to ignore it). */
static int install(int sig, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

int oc_signals_install(volatile sig_atomic_t *counter) {
  signal_counter = counter;
  if (install(SIGTERM, on_signal, 0) != 0 || install(SIGINT, on_signal, 0) != 0)
    return -1;
  return install(SIGPIPE, SIG_IGN, 0);
}

static volatile sig_atomic_t *reload_flag;

static void on_reload(int sig) {
  (void)sig;
  *reload_flag = 1;
}

int oc_signals_install_reload(volatile sig_atomic_t *flag) {
  reload_flag = flag;
  return install(SIGHUP, on_reload, SA_RESTART);
}
