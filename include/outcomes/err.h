/*
 * err.h - error values carried through the library.
 *
 * Every fallible function takes an `oc_err_t *err` as its last argument,
 * returns 0 on success or a negative OC_ERR_* code on failure, and fills
 * `err` (which may be NULL) with the code, whether retrying may help, and a
 * message that names its context: file:line, topic/partition/offset, field.
 */
#ifndef OUTCOMES_ERR_H
#define OUTCOMES_ERR_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Codes. The names returned by oc_err_code_name() are stable: they are the
 * dead-letter reason codes stored in PostgreSQL and exposed as metrics. */
typedef enum oc_errcode_e {
  OC_OK = 0,
  OC_ERR_INTERNAL = -1,   /* a bug: an invariant did not hold */
  OC_ERR_NOMEM = -2,      /* allocation failed */
  OC_ERR_IO = -3,         /* file or socket I/O */
  OC_ERR_USAGE = -4,      /* bad arguments from the caller or user */
  OC_ERR_CONFIG = -5,     /* bad configuration key or value */
  OC_ERR_LIMIT = -6,      /* a size or count bound was exceeded */
  OC_ERR_KAFKA = -7,      /* librdkafka reported an error */
  OC_ERR_PG = -8,         /* libpq / PostgreSQL reported an error */
  OC_ERR_CONFLICT = -9,   /* compare-and-set lost: another writer moved on */
  OC_ERR_NOT_FOUND = -10, /* a looked-up item does not exist */
  /* Data errors: the record is bad, not the system. */
  OC_ERR_DECODE = -20,           /* bytes are not a valid encoding */
  OC_ERR_SCHEMA = -21,           /* a schema is invalid or cannot be resolved */
  OC_ERR_UNKNOWN_SCHEMA = -22,   /* fingerprint not in the registry */
  OC_ERR_BAD_KEY = -23,          /* Kafka key missing, malformed or not matching */
  OC_ERR_BAD_FIELD = -24,        /* a field is missing or malformed */
  OC_ERR_UNKNOWN_METRIC = -25,   /* metric code not in the catalog */
  OC_ERR_RANGE = -26,            /* value outside the metric's valid range */
  OC_ERR_MISALIGNED = -27,       /* period_start not aligned to the grain */
  OC_ERR_RATIO_MISSING = -28,    /* ratio metric without numerator/denominator */
  OC_ERR_RATIO_MISMATCH = -29,   /* value inconsistent with num/den */
  OC_ERR_TOO_MANY_HEADERS = -30, /* a Kafka record with more headers than allowed */
} oc_errcode_t;

#define OC_ERR_MSG_MAX 512

typedef struct oc_err_s {
  int code;       /* OC_OK or an OC_ERR_* value */
  bool retriable; /* trying the same operation again may succeed */
  bool fatal;     /* the object that failed cannot be used any more */
  char msg[OC_ERR_MSG_MAX];
} oc_err_t;

/* Reset to OC_OK with an empty message. NULL is accepted. */
void oc_err_clear(oc_err_t *err);

/* Fill err (if not NULL) with code and a printf-style message, clearing the
 * retriable and fatal flags. Returns code, so that callers can write
 * `return oc_err_set(err, OC_ERR_IO, "open '%s': %s", path, strerror(errno));` */
int oc_err_set(oc_err_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* As oc_err_set, and marks the error retriable. */
int oc_err_set_retriable(oc_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend context ("file.csv:12: ") to the message already in err.
 * Returns err->code (or OC_ERR_INTERNAL when err is NULL). */
int oc_err_prefix(oc_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stable snake_case name of a code, e.g. "unknown_metric". Never NULL. */
const char *oc_err_code_name(int code);

/* True for the data errors (OC_ERR_DECODE and above in magnitude): the
 * record is bad and goes to the dead letters; the system is fine. */
bool oc_err_is_data(int code);

/* Exit statuses after sysexits(3), spelled out: the header is BSD, not
 * POSIX. */
enum {
  OC_EX_OK = 0,
  OC_EX_USAGE = 64,       /* bad command line */
  OC_EX_DATAERR = 65,     /* bad input data */
  OC_EX_NOINPUT = 66,     /* an input (file, topic, dead letter) does not exist */
  OC_EX_UNAVAILABLE = 69, /* Kafka or PostgreSQL unavailable, not delivered */
  OC_EX_SOFTWARE = 70,    /* internal error */
  OC_EX_IOERR = 74,       /* read or write error */
  OC_EX_TEMPFAIL = 75,    /* try again later (interrupted, refused for now) */
  OC_EX_CONFIG = 78,      /* configuration error */
};

/* The exit status of a program that fails with code: the one table every
 * main() uses.
 *   OC_OK 0; OC_ERR_USAGE 64; the data errors (OC_ERR_DECODE ..
 *   OC_ERR_TOO_MANY_HEADERS) and OC_ERR_LIMIT 65; OC_ERR_NOT_FOUND 66;
 *   OC_ERR_KAFKA and OC_ERR_PG 69; OC_ERR_INTERNAL, OC_ERR_NOMEM and any
 *   code not listed here 70; OC_ERR_IO 74; OC_ERR_CONFLICT 75;
 *   OC_ERR_CONFIG 78. */
int oc_err_exit_status(int code);

#ifdef __cplusplus
}
#endif
#endif
