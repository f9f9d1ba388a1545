/*
 * csv.c - streaming RFC 4180 reader with bounded memory (see csv.h).
 *
 * One byte at a time through a small state machine over a fixed read
 * buffer. A bad record switches the machine to "discard": it keeps
 * tracking quotes and line breaks so that it finds the end of the record,
 * but stores nothing more, and the first error found is reported once the
 * record ends.
 */
#include "outcomes/csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outcomes/buf.h"

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#endif

#define READ_BUF 65536

typedef enum {
  ST_START_FIELD = 0, /* at the first byte of a field */
  ST_UNQUOTED,        /* inside an unquoted field */
  ST_QUOTED,          /* inside a quoted field */
  ST_QUOTE_SEEN,      /* a '"' inside a quoted field: "" or the end */
} csv_state_t;

struct oc_csv_s {
  FILE *in; /* borrowed */
  unsigned char rbuf[READ_BUF];
  size_t rpos, rlen;
  bool started; /* first read done (BOM checked) */
  bool eof;

  /* The record being read: fields one after the other, each followed by a
   * NUL; starts[i] and lens[i] locate field i. Its bounds are checked here
   * (OC_CSV_FIELD_MAX, OC_CSV_RECORD_MAX), before each append. */
  oc_buf_t rec;
  size_t starts[OC_CSV_FIELDS_MAX];
  size_t lens[OC_CSV_FIELDS_MAX];
  size_t nfields;
  size_t field_start; /* offset in buf of the field being read */
  bool field_quoted;
  bool field_hi; /* the field has a byte >= 0x80: check its UTF-8 */

  csv_state_t state;
  bool in_record;
  bool skip_lf;  /* the last record ended with CR: swallow one LF */
  bool prev_cr;  /* the last byte was CR (for line counting) */
  bool discard;  /* this record is bad: find its end, store nothing */
  long line;     /* current physical line, 1-based */
  long rec_line; /* line where the current record started */

  int err_code; /* first error of the current record, 0 if none */
  long bad_field;
  char err_msg[OC_ERR_MSG_MAX];
};

oc_csv_t *oc_csv_new(FILE *in) {
  oc_csv_t *r = calloc(1, sizeof(*r));

  if (!r)
    return NULL;
  r->in = in;
  r->line = 1;
  r->bad_field = -1;
  return r;
}

void oc_csv_destroy(oc_csv_t *r) {
  if (!r)
    return;
  oc_buf_release(&r->rec);
  free(r);
}

size_t oc_csv_count(const oc_csv_t *r) { return r->nfields; }

const char *oc_csv_field(const oc_csv_t *r, size_t i, size_t *len_out) {
  if (i >= r->nfields) {
    if (len_out)
      *len_out = 0;
    return "";
  }
  if (len_out)
    *len_out = r->lens[i];
  return r->rec.p + r->starts[i];
}

long oc_csv_line(const oc_csv_t *r) { return r->rec_line; }

long oc_csv_bad_field(const oc_csv_t *r) { return r->bad_field; }

/* Offset of the first byte that is not well-formed UTF-8, or -1. Same rules
 * as oc_utf8_valid(): no overlongs, no surrogates, nothing above U+10FFFF. */
static long utf8_bad_at(const unsigned char *s, size_t len) {
  size_t i = 0;

  while (i < len) {
    unsigned c = s[i];
    size_t n;
    uint32_t cp, min;

    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return (long)i;
    }
    if (len - i < n)
      return (long)i;
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return (long)i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return (long)i;
    i += n;
  }
  return -1;
}

/* Record the first error of the record and start discarding. */
static void rec_error(oc_csv_t *r, int code, long field, const char *msg) {
  r->discard = true;
  if (r->err_code)
    return;
  r->err_code = code;
  r->bad_field = field;
  snprintf(r->err_msg, sizeof(r->err_msg), "%s", msg);
}

static void rec_reset(oc_csv_t *r) {
  oc_buf_reset(&r->rec);
  r->nfields = 0;
  r->field_start = 0;
  r->field_quoted = false;
  r->field_hi = false;
  r->state = ST_START_FIELD;
  r->discard = false;
  r->err_code = 0;
  r->bad_field = -1;
  r->err_msg[0] = '\0';
}

static void put_byte(oc_csv_t *r, unsigned char c) {
  char msg[96];

  if (r->discard)
    return;
  if (r->rec.len - r->field_start >= OC_CSV_FIELD_MAX) {
    snprintf(msg, sizeof(msg), "field longer than %zu bytes", OC_CSV_FIELD_MAX);
    rec_error(r, OC_ERR_LIMIT, (long)r->nfields, msg);
    return;
  }
  /* The record's bytes, not counting the NULs between fields. */
  if (r->rec.len - r->nfields >= OC_CSV_RECORD_MAX) {
    snprintf(msg, sizeof(msg), "record longer than %zu bytes", OC_CSV_RECORD_MAX);
    rec_error(r, OC_ERR_LIMIT, -1, msg);
    return;
  }
  oc_buf_putc(&r->rec, (char)c);
  if (r->rec.failed) {
    rec_error(r, OC_ERR_NOMEM, -1, "out of memory");
    return;
  }
  r->field_hi |= c >= 0x80;
}

/* Bytes that end a run of ordinary bytes: in an unquoted field (1) and in a
 * quoted one (2). */
static const unsigned char special[256] = {
    ['\r'] = 3,
    ['\n'] = 3,
    ['"'] = 3,
    [','] = 1,
};

/* The end of the run of ordinary bytes that starts at q (the first special
 * byte selected by mask, or end); *hi gets 0x80 when the run holds a byte
 * >= 0x80. Sixteen bytes at a time with SSE2 (every x86-64 has it), the
 * rest one at a time. */
static const unsigned char *run_end(const unsigned char *q, const unsigned char *end,
                                    unsigned char mask, unsigned char *hi) {
  unsigned char h = 0;
#if defined(__SSE2__) && defined(__GNUC__)
  const __m128i quote = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
  const __m128i comma = _mm_set1_epi8((mask & 1) ? ',' : '"');
  unsigned high = 0; /* the high bits of the bytes of the run so far */

  while (end - q >= 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
    __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, comma)),
                              _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
    unsigned stop = (unsigned)_mm_movemask_epi8(sp);
    unsigned hb = (unsigned)_mm_movemask_epi8(v);
    if (stop) {
      unsigned k = (unsigned)__builtin_ctz(stop); /* bytes before the special one */
      high |= hb & ((1u << k) - 1);
      *hi = high ? 0x80 : 0;
      return q + k;
    }
    high |= hb;
    q += 16;
  }
  h = high ? 0x80 : 0;
#endif
  while (q < end && !(special[*q] & mask))
    h |= *q++;
  *hi = h & 0x80;
  return q;
}

/* The common case, a run of ordinary bytes from rbuf[rpos], in bulk; mask
 * selects the special bytes. */
static void put_run(oc_csv_t *r, unsigned char mask) {
  const unsigned char *p = r->rbuf + r->rpos;
  unsigned char hi;
  const unsigned char *q = run_end(p, r->rbuf + r->rlen, mask, &hi);
  size_t n = (size_t)(q - p);
  if (n == 0)
    return;
  r->rpos += n;
  r->prev_cr = false;
  if (r->discard)
    return;
  if (r->rec.len - r->field_start + n > OC_CSV_FIELD_MAX ||
      r->rec.len - r->nfields + n > OC_CSV_RECORD_MAX) {
    for (size_t i = 0; i < n; i++) /* the slow path reports the bound */
      put_byte(r, p[i]);
    return;
  }
  oc_buf_put(&r->rec, p, n);
  if (r->rec.failed) {
    rec_error(r, OC_ERR_NOMEM, -1, "out of memory");
    return;
  }
  r->field_hi |= hi != 0;
}

static void end_field(oc_csv_t *r) {
  char msg[96];
  long bad;

  if (r->discard)
    goto out;
  if (r->nfields >= OC_CSV_FIELDS_MAX) {
    snprintf(msg, sizeof(msg), "more than %d fields", OC_CSV_FIELDS_MAX);
    rec_error(r, OC_ERR_LIMIT, -1, msg);
    goto out;
  }
  size_t flen = r->rec.len - r->field_start;
  bad = r->field_hi ? utf8_bad_at((const unsigned char *)r->rec.p + r->field_start, flen) : -1;
  if (bad >= 0) {
    snprintf(msg, sizeof(msg), "invalid UTF-8 at byte %ld", bad);
    rec_error(r, OC_ERR_BAD_FIELD, (long)r->nfields, msg);
    goto out;
  }
  oc_buf_putc(&r->rec, '\0');
  if (r->rec.failed) {
    rec_error(r, OC_ERR_NOMEM, -1, "out of memory");
    goto out;
  }
  r->starts[r->nfields] = r->field_start;
  r->lens[r->nfields] = flen;
  r->nfields++;
  r->field_start = r->rec.len;
out:
  r->field_quoted = false;
  r->field_hi = false;
  r->state = ST_START_FIELD;
}

/* The record ended. Returns true when it is to be handed to the caller
 * (good or bad), false for a blank line. */
static bool end_record(oc_csv_t *r) {
  bool blank = !r->err_code && r->nfields == 0 && r->rec.len == r->field_start &&
               !r->field_quoted && r->state == ST_START_FIELD;

  r->in_record = false;
  if (blank)
    return false;
  end_field(r);
  return true;
}

/* A pipe, a terminal or a socket gives what has arrived, so that records
 * are handed on as they come (a producer fed by `tail -f` publishes each
 * line then, not once 64 KiB are there); a regular file, or a stream
 * without a descriptor (fmemopen), is read in whole blocks. */
static size_t read_some(oc_csv_t *r, bool *failed) {
  int fd = fileno(r->in);
  struct stat st;
  *failed = false;
  if (fd < 0 || fstat(fd, &st) != 0 || S_ISREG(st.st_mode)) {
    size_t n = fread(r->rbuf, 1, sizeof(r->rbuf), r->in);
    *failed = n == 0 && ferror(r->in);
    return n;
  }
  for (;;) {
    ssize_t n = read(fd, r->rbuf, sizeof(r->rbuf));
    if (n >= 0)
      return (size_t)n;
    if (errno != EINTR) {
      *failed = true;
      return 0;
    }
  }
}

static int fill(oc_csv_t *r, oc_err_t *err) {
  bool failed;
  r->rlen = read_some(r, &failed);
  r->rpos = 0;
  if (r->rlen == 0) {
    if (failed)
      return oc_err_set(err, OC_ERR_IO, "read: %s", strerror(errno ? errno : EIO));
    r->eof = true;
    return 0;
  }
  if (!r->started) {
    r->started = true;
    if (r->rlen >= 3 && r->rbuf[0] == 0xEF && r->rbuf[1] == 0xBB && r->rbuf[2] == 0xBF)
      r->rpos = 3;
  }
  return 0;
}

/* What to tell the caller about the record that just ended. */
static int deliver(oc_csv_t *r, oc_err_t *err) {
  if (r->err_code) {
    int code = r->err_code;
    oc_err_set(err, code, "%s", r->err_msg);
    r->nfields = 0;
    return code;
  }
  return 1;
}

int oc_csv_next(oc_csv_t *r, oc_err_t *err) {
  for (;;) {
    if (r->rpos == r->rlen) {
      if (r->eof)
        return 0;
      int rc = fill(r, err);
      if (rc < 0)
        return rc;
      if (r->eof) {
        if (!r->in_record)
          return 0;
        if (r->state == ST_QUOTED)
          rec_error(r, OC_ERR_BAD_FIELD, (long)r->nfields,
                    "unterminated quoted field at end of input");
        if (end_record(r))
          return deliver(r, err);
        return 0;
      }
      continue;
    }

    unsigned char c = r->rbuf[r->rpos++];

    if (r->skip_lf) {
      r->skip_lf = false;
      if (c == '\n') {
        r->prev_cr = false;
        continue;
      }
    }
    if (!r->in_record) {
      r->in_record = true;
      r->rec_line = r->line;
      rec_reset(r);
    }
    /* Line counting: LF, CRLF and a lone CR are one break each. */
    if (c == '\r') {
      r->line++;
      r->prev_cr = true;
    } else {
      if (c == '\n' && !r->prev_cr)
        r->line++;
      r->prev_cr = false;
    }

    switch (r->state) {
    case ST_START_FIELD:
      if (c == '"') {
        r->field_quoted = true;
        r->state = ST_QUOTED;
        break;
      }
      /* fall through */
    case ST_UNQUOTED:
      if (c == ',') {
        end_field(r);
      } else if (c == '\r' || c == '\n') {
        r->skip_lf = c == '\r';
        if (end_record(r))
          return deliver(r, err);
      } else if (c == '"') {
        if (!r->discard)
          rec_error(r, OC_ERR_BAD_FIELD, (long)r->nfields, "quote inside an unquoted field");
      } else {
        r->rpos--; /* c starts the run */
        put_run(r, 1);
        r->state = ST_UNQUOTED;
      }
      break;
    case ST_QUOTED:
      if (c == '"') {
        r->state = ST_QUOTE_SEEN;
      } else {
        put_byte(r, c);
        if (c != '\r' && c != '\n')
          put_run(r, 2);
      }
      break;
    case ST_QUOTE_SEEN:
      if (c == '"') {
        put_byte(r, c);
        r->state = ST_QUOTED;
      } else if (c == ',') {
        end_field(r);
      } else if (c == '\r' || c == '\n') {
        r->skip_lf = c == '\r';
        if (end_record(r))
          return deliver(r, err);
      } else {
        rec_error(r, OC_ERR_BAD_FIELD, (long)r->nfields, "text after the closing quote of a field");
        r->state = ST_UNQUOTED;
      }
      break;
    }
  }
}
