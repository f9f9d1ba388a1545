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

int oc_signals_install(volatile sig_atomic_t *counter) {
  struct sigaction sa;

  signal_counter = counter;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
    return -1;
  sa.sa_handler = SIG_IGN;
  return sigaction(SIGPIPE, &sa, NULL);
}

static volatile sig_atomic_t *reload_flag;

static void on_reload(int sig) {
  (void)sig;
  *reload_flag = 1;
}

int oc_signals_install_reload(volatile sig_atomic_t *flag) {
  struct sigaction sa;

  reload_flag = flag;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_reload;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(SIGHUP, &sa, NULL);
}
