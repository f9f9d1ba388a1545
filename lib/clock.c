/* clock.c - monotonic time and backoff; see include/outcomes/clock.h. */
#include "outcomes/clock.h"

#include <time.h>

int64_t oc_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void oc_backoff_init(oc_backoff_t *b, int64_t first_ms, int64_t max_ms) {
  b->first_ms = first_ms > 0 ? first_ms : 1;
  b->max_ms = max_ms > b->first_ms ? max_ms : b->first_ms;
  b->cur_ms = 0;
}

int64_t oc_backoff_next(oc_backoff_t *b) {
  if (b->cur_ms == 0)
    b->cur_ms = b->first_ms;
  else if (b->cur_ms <= b->max_ms - b->cur_ms) /* 2 * cur <= max, without overflow */
    b->cur_ms *= 2;
  else
    b->cur_ms = b->max_ms;
  return b->cur_ms;
}

void oc_backoff_reset(oc_backoff_t *b) { b->cur_ms = 0; }
