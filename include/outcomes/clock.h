/*
 * clock.h - monotonic time and the one exponential backoff every retry loop
 * uses.
 */
#ifndef OUTCOMES_CLOCK_H
#define OUTCOMES_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Milliseconds of CLOCK_MONOTONIC: for intervals and deadlines, never for
 * wall-clock times. */
int64_t oc_clock_ms(void);

/* Exponential backoff with jitter: the ceiling is first_ms, then twice the
 * last, or max_ms when twice would pass it; each wait is drawn from the
 * upper half of its ceiling, [ceiling - ceiling/2, ceiling], by a generator
 * seeded per instance from getrandom(2), so that instances retrying after
 * one outage do not hit the recovered service in lock-step. */
typedef struct oc_backoff_s {
  int64_t first_ms, max_ms;
  int64_t cur_ms; /* the last wait's ceiling; 0: the next one is first_ms */
  uint64_t rng;   /* xorshift64 state, never 0 */
} oc_backoff_t;

void oc_backoff_init(oc_backoff_t *b, int64_t first_ms, int64_t max_ms);

/* The next wait in milliseconds (and remember its ceiling). */
int64_t oc_backoff_next(oc_backoff_t *b);

/* After a success: the next ceiling is first_ms again. */
void oc_backoff_reset(oc_backoff_t *b);

#ifdef __cplusplus
}
#endif
#endif
