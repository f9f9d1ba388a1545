/* err.c - error values; see include/outcomes/err.h. */
#include "outcomes/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void oc_err_clear(oc_err_t *err) {
  if (!err)
    return;
  err->code = OC_OK;
  err->retriable = false;
  err->fatal = false;
  err->msg[0] = '\0';
}

__attribute__((format(printf, 4, 0))) static int err_vset(oc_err_t *err, int code, bool retriable,
                                                          const char *fmt, va_list ap) {
  if (!err)
    return code;
  err->code = code;
  err->retriable = retriable;
  err->fatal = false;
  vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  return code;
}

int oc_err_set(oc_err_t *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err_vset(err, code, false, fmt, ap);
  va_end(ap);
  return code;
}

int oc_err_set_retriable(oc_err_t *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err_vset(err, code, true, fmt, ap);
  va_end(ap);
  return code;
}

int oc_err_prefix(oc_err_t *err, const char *fmt, ...) {
  char prefix[OC_ERR_MSG_MAX];
  char old[OC_ERR_MSG_MAX];
  va_list ap;

  if (!err)
    return OC_ERR_INTERNAL;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof(old));
  /* Truncation keeps the front of the message, which carries the context. */
  size_t plen = strnlen(prefix, sizeof(prefix) - 1);
  size_t olen = strnlen(old, sizeof(old) - 1);
  if (plen > sizeof(err->msg) - 1)
    plen = sizeof(err->msg) - 1;
  if (olen > sizeof(err->msg) - 1 - plen)
    olen = sizeof(err->msg) - 1 - plen;
  memcpy(err->msg, prefix, plen);
  memcpy(err->msg + plen, old, olen);
  err->msg[plen + olen] = '\0';
  return err->code;
}

const char *oc_err_code_name(int code) {
  switch (code) {
  case OC_OK: return "ok";
  case OC_ERR_INTERNAL: return "internal";
  case OC_ERR_NOMEM: return "out_of_memory";
  case OC_ERR_IO: return "io";
  case OC_ERR_USAGE: return "usage";
  case OC_ERR_CONFIG: return "config";
  case OC_ERR_LIMIT: return "limit";
  case OC_ERR_KAFKA: return "kafka";
  case OC_ERR_PG: return "postgresql";
  case OC_ERR_CONFLICT: return "conflict";
  case OC_ERR_NOT_FOUND: return "not_found";
  case OC_ERR_DECODE: return "undecodable";
  case OC_ERR_SCHEMA: return "bad_schema";
  case OC_ERR_UNKNOWN_SCHEMA: return "unknown_fingerprint";
  case OC_ERR_BAD_KEY: return "bad_key";
  case OC_ERR_BAD_FIELD: return "bad_field";
  case OC_ERR_UNKNOWN_METRIC: return "unknown_metric";
  case OC_ERR_RANGE: return "out_of_range";
  case OC_ERR_MISALIGNED: return "misaligned_period";
  case OC_ERR_RATIO_MISSING: return "ratio_missing";
  case OC_ERR_RATIO_MISMATCH: return "ratio_inconsistent";
  case OC_ERR_TOO_MANY_HEADERS: return "too_many_headers";
  }
  return "unknown_error";
}

bool oc_err_is_data(int code) { return code <= OC_ERR_DECODE; }

int oc_err_exit_status(int code) {
  switch (code) {
  case OC_OK: return OC_EX_OK;
  case OC_ERR_USAGE: return OC_EX_USAGE;
  case OC_ERR_LIMIT:
  case OC_ERR_DECODE:
  case OC_ERR_SCHEMA:
  case OC_ERR_UNKNOWN_SCHEMA:
  case OC_ERR_BAD_KEY:
  case OC_ERR_BAD_FIELD:
  case OC_ERR_UNKNOWN_METRIC:
  case OC_ERR_RANGE:
  case OC_ERR_MISALIGNED:
  case OC_ERR_RATIO_MISSING:
  case OC_ERR_RATIO_MISMATCH:
  case OC_ERR_TOO_MANY_HEADERS: return OC_EX_DATAERR;
  case OC_ERR_NOT_FOUND: return OC_EX_NOINPUT;
  case OC_ERR_KAFKA:
  case OC_ERR_PG: return OC_EX_UNAVAILABLE;
  case OC_ERR_IO: return OC_EX_IOERR;
  case OC_ERR_CONFLICT: return OC_EX_TEMPFAIL;
  case OC_ERR_CONFIG: return OC_EX_CONFIG;
  case OC_ERR_INTERNAL:
  case OC_ERR_NOMEM:
  default: return OC_EX_SOFTWARE;
  }
}
