/* migrate_sum.c - what a migration's checksum covers (its statements, not
 * its comments or layout) and the checksums earlier releases recorded; see
 * include/outcomes/migrate.h.
 *
 * The scanner follows PostgreSQL's lexer as far as comments are concerned:
 * "--" starts a comment anywhere outside a literal (also inside what looks
 * like an operator), block comments nest, and a comment separates tokens
 * like whitespace does. What it keeps byte for byte:
 *   'string'    '' inside; E'...' (escape string) also takes \x escapes,
 *               so E'\'' is one literal; standard_conforming_strings is on
 *               (PostgreSQL's default since 9.1), so '\' ends a plain one
 *   "ident"     "" inside
 *   $tag$...$tag$  a dollar-quoted body: tag empty or [A-Za-z_][A-Za-z_0-9]*
 *               (and bytes >= 0x80), not after an identifier character
 *               (PostgreSQL identifiers may contain '$'), so $1 and a$b$
 *               are not bodies
 * Something left open at the end of the text (a literal, a body, a block
 * comment) runs to the end: PostgreSQL refuses such a file anyway. The
 * result is only ever hashed, never executed (joining two string literals
 * across a line break, which PostgreSQL concatenates, with a space would
 * not parse). */
#include <stdbool.h>
#include <string.h>

#include "outcomes/migrate.h"

static bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A character that may start a dollar-quote tag (or an identifier). */
static bool tag_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool tag_char(unsigned char c) { return tag_start(c) || (c >= '0' && c <= '9'); }

/* A character of an identifier or keyword (they may contain '$'). */
static bool ident_char(unsigned char c) { return tag_char(c) || c == '$'; }

/* End (one past) of the quoted token starting at s[i] == q. */
static size_t quoted_end(const char *s, size_t n, size_t i, char q, bool backslash) {
  size_t j = i + 1;
  while (j < n) {
    if (backslash && s[j] == '\\') {
      j += 2;
      continue;
    }
    if (s[j] == q) {
      if (j + 1 < n && s[j + 1] == q) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return n;
}

/* End of the dollar-quoted body starting at s[i] == '$', or 0 when s[i]
 * starts no body. */
static size_t dollar_end(const char *s, size_t n, size_t i) {
  size_t j = i + 1;
  if (i > 0 && ident_char((unsigned char)s[i - 1]))
    return 0;
  if (j < n && tag_start((unsigned char)s[j]))
    while (j < n && tag_char((unsigned char)s[j]))
      j++;
  if (j >= n || s[j] != '$')
    return 0;
  size_t tag_len = j + 1 - i;
  for (size_t k = j + 1; k + tag_len <= n; k++)
    if (s[k] == '$' && memcmp(s + k, s + i, tag_len) == 0)
      return k + tag_len;
  return n;
}

/* End of the comment starting at s[i], or 0 when none starts there. */
static size_t comment_end(const char *s, size_t n, size_t i) {
  if (i + 1 >= n)
    return 0;
  if (s[i] == '-' && s[i + 1] == '-') {
    const char *nl = memchr(s + i, '\n', n - i);
    return nl ? (size_t)(nl - s) : n;
  }
  if (s[i] == '/' && s[i + 1] == '*') {
    size_t j = i + 2, depth = 1;
    while (j < n && depth > 0) {
      if (j + 1 < n && s[j] == '/' && s[j + 1] == '*') {
        depth++;
        j += 2;
      } else if (j + 1 < n && s[j] == '*' && s[j + 1] == '/') {
        depth--;
        j += 2;
      } else {
        j++;
      }
    }
    return j;
  }
  return 0;
}

void oc_migrate_statement_text(const char *s, size_t n, oc_buf_t *out) {
  size_t i = 0, start = out->len;
  bool gap = false; /* whitespace or a comment since the last token byte */

  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t end;
    if (is_space(c)) {
      gap = true;
      i++;
      continue;
    }
    if ((end = comment_end(s, n, i)) != 0) {
      gap = true;
      i = end;
      continue;
    }
    if (gap && out->len > start)
      oc_buf_putc(out, ' ');
    gap = false;
    if (c == '\'') {
      /* E'...' when the E is a token of its own, not the end of a word. */
      bool esc = i >= 1 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                 (i < 2 || !ident_char((unsigned char)s[i - 2]));
      end = quoted_end(s, n, i, '\'', esc);
    } else if (c == '"') {
      end = quoted_end(s, n, i, '"', false);
    } else if (c != '$' || (end = dollar_end(s, n, i)) == 0) {
      end = i + 1;
    }
    oc_buf_put(out, s + i, end - i);
    i = end;
  }
}

/* ---- checksums recorded before they skipped comments ------------------- */

/* Each shipped migration as released with the whole-file checksum, and the
 * checksum of its statements. A database that recorded file_md5 accepts a
 * file whose statements have statements_md5. Frozen: later releases
 * record statement checksums and add nothing here. */
static const oc_migrate_legacy_sum_t legacy_sums[] = {
    {1, "roles", "f829fcda52c13222667c397ee329ee85", "2ed4c77b0cd139936ae0ee6d604c46da"},
    {2, "tables", "334eca84a73a37e76669d47aa0a11d3a", "bd4000e6ff36e78fd4b7d86a2ed45823"},
    {3, "views", "2b7897c49c1605a03671080004c3a323", "38aa3dae04ab03d193983725ef8b9ed9"},
    {4, "replay", "f37a3dceb27bafe62c191ac8db59d677", "1a9db97f5acea8f75d384f02cbb1d8fc"},
    {5, "privileges", "dc2033f282e7197d1d11bb01028ea0db", "973d5721fcdf627c2fda049013108f55"},
};

const oc_migrate_legacy_sum_t *oc_migrate_legacy_sums(size_t *n) {
  *n = sizeof(legacy_sums) / sizeof(legacy_sums[0]);
  return legacy_sums;
}
