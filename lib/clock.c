/* clock.c - monotonic time and backoff; see include/outcomes/clock.h. */
#include "outcomes/clock.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int64_t oc_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void oc_backoff_init(oc_backoff_t *b, int64_t first_ms, int64_t max_ms) {
  struct timespec ts;

  b->first_ms = first_ms > 0 ? first_ms : 1;
  b->max_ms = max_ms > b->first_ms ? max_ms : b->first_ms;
  b->cur_ms = 0;
  if (getrandom(&b->rng, sizeof(b->rng), GRND_NONBLOCK) != (ssize_t)sizeof(b->rng)) {
    /* No entropy yet (early boot): distinct enough per process and call. */
    clock_gettime(CLOCK_REALTIME, &ts);
    b->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
             (uint64_t)(uintptr_t)b;
  }
  if (b->rng == 0)
    b->rng = 0x9E3779B97F4A7C15u;
}

int64_t oc_backoff_next(oc_backoff_t *b) {
  if (b->cur_ms == 0)
    b->cur_ms = b->first_ms;
  else if (b->cur_ms <= b->max_ms - b->cur_ms) /* 2 * cur <= max, without overflow */
    b->cur_ms *= 2;
  else
    b->cur_ms = b->max_ms;
  /* xorshift64 (Marsaglia 2003): plenty for spreading retries. */
  b->rng ^= b->rng << 13;
  b->rng ^= b->rng >> 7;
  b->rng ^= b->rng << 17;
  uint64_t half = (uint64_t)(b->cur_ms / 2);
  return b->cur_ms - (int64_t)(b->rng % (half + 1));
}

void oc_backoff_reset(oc_backoff_t *b) { b->cur_ms = 0; }
