/* process.c - exit statuses and the signal counter; see process.h. */
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

int oc_exit_status(const oc_err_t *err) {
  switch (err->code) {
  case OC_OK: return OC_EX_OK;
  case OC_ERR_USAGE: return OC_EX_USAGE;
  case OC_ERR_CONFIG: return OC_EX_CONFIG;
  case OC_ERR_NOT_FOUND: return OC_EX_NOINPUT;
  case OC_ERR_KAFKA:
  case OC_ERR_PG: return OC_EX_UNAVAILABLE;
  case OC_ERR_IO: return OC_EX_IOERR;
  default: return oc_err_is_data(err->code) ? OC_EX_DATAERR : OC_EX_SOFTWARE;
  }
}
