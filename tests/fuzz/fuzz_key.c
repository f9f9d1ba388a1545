/*
 * fuzz_key.c - libFuzzer target for the Kafka key codec (lib/key.c).
 *
 * Decodes arbitrary bytes. When decoding succeeds the key must be canonical:
 * re-encoding the identity gives back exactly the input bytes. When it
 * fails, the error must be OC_ERR_BAD_KEY with a message that is valid
 * UTF-8 without control characters (it goes to a PostgreSQL text column).
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_key.c \
 *     lib/key.c lib/record.c lib/date.c lib/err.c lib/catalog.c -lm
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 without C0, DEL or C1 (U+0080..U+009F is C2 80..C2 9F). */
static int text_ok(const char *s, size_t n) {
  if (!oc_utf8_valid(s, n))
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7F || (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9F))
      return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  oc_fact_id_t id;
  oc_err_t err;
  char buf[OC_KEY_MAX + 1];
  size_t len = 0;

  oc_err_clear(&err);
  if (oc_key_decode((const char *)data, size, &id, &err) != 0) {
    size_t n = strlen(err.msg);
    if (err.code != OC_ERR_BAD_KEY || n == 0 || !text_ok(err.msg, n))
      abort();
    return 0;
  }
  if (oc_key_encode(&id, buf, sizeof(buf), &len, &err) != 0)
    abort(); /* a decoded identity is always encodable */
  if (len != size || memcmp(buf, data, size) != 0)
    abort(); /* not canonical: two keys for one identity */
  return 0;
}
