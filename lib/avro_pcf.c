/* avro_pcf.c - Parsing Canonical Form of Avro schemas and the CRC-64-AVRO
 * fingerprint, per the Avro specification; see include/outcomes/avro.h. */
#include "avro_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/buf.h"

/* CRC-64-AVRO lookup table: fp = i; 8 times fp = (fp >> 1) ^ (EMPTY & -(fp & 1)).
 * Written out so that no lazy initialisation (and no race) is needed. */
static const uint64_t crc64_table[256] = {
    0x0000000000000000ULL, 0x2cf1cba6b75351faULL, 0x59e3974d6ea6a3f4ULL, 0x75125cebd9f5f20eULL,
    0xb3c72e9add4d47e8ULL, 0x9f36e53c6a1e1612ULL, 0xea24b9d7b3ebe41cULL, 0xc6d5727104b8b5e6ULL,
    0xe5341f40f335c0fbULL, 0xc9c5d4e644669101ULL, 0xbcd7880d9d93630fULL, 0x902643ab2ac032f5ULL,
    0x56f331da2e788713ULL, 0x7a02fa7c992bd6e9ULL, 0x0f10a69740de24e7ULL, 0x23e16d31f78d751dULL,
    0x48d27cf4afc4ceddULL, 0x6423b75218979f27ULL, 0x1131ebb9c1626d29ULL, 0x3dc0201f76313cd3ULL,
    0xfb15526e72898935ULL, 0xd7e499c8c5dad8cfULL, 0xa2f6c5231c2f2ac1ULL, 0x8e070e85ab7c7b3bULL,
    0xade663b45cf10e26ULL, 0x8117a812eba25fdcULL, 0xf405f4f93257add2ULL, 0xd8f43f5f8504fc28ULL,
    0x1e214d2e81bc49ceULL, 0x32d0868836ef1834ULL, 0x47c2da63ef1aea3aULL, 0x6b3311c55849bbc0ULL,
    0x91a4f9e95f899dbaULL, 0xbd55324fe8dacc40ULL, 0xc8476ea4312f3e4eULL, 0xe4b6a502867c6fb4ULL,
    0x2263d77382c4da52ULL, 0x0e921cd535978ba8ULL, 0x7b80403eec6279a6ULL, 0x57718b985b31285cULL,
    0x7490e6a9acbc5d41ULL, 0x58612d0f1bef0cbbULL, 0x2d7371e4c21afeb5ULL, 0x0182ba427549af4fULL,
    0xc757c83371f11aa9ULL, 0xeba60395c6a24b53ULL, 0x9eb45f7e1f57b95dULL, 0xb24594d8a804e8a7ULL,
    0xd976851df04d5367ULL, 0xf5874ebb471e029dULL, 0x809512509eebf093ULL, 0xac64d9f629b8a169ULL,
    0x6ab1ab872d00148fULL, 0x464060219a534575ULL, 0x33523cca43a6b77bULL, 0x1fa3f76cf4f5e681ULL,
    0x3c429a5d0378939cULL, 0x10b351fbb42bc266ULL, 0x65a10d106dde3068ULL, 0x4950c6b6da8d6192ULL,
    0x8f85b4c7de35d474ULL, 0xa3747f616966858eULL, 0xd666238ab0937780ULL, 0xfa97e82c07c0267aULL,
    0xa1f3b1a7f6bc745fULL, 0x8d027a0141ef25a5ULL, 0xf81026ea981ad7abULL, 0xd4e1ed4c2f498651ULL,
    0x12349f3d2bf133b7ULL, 0x3ec5549b9ca2624dULL, 0x4bd7087045579043ULL, 0x6726c3d6f204c1b9ULL,
    0x44c7aee70589b4a4ULL, 0x68366541b2dae55eULL, 0x1d2439aa6b2f1750ULL, 0x31d5f20cdc7c46aaULL,
    0xf700807dd8c4f34cULL, 0xdbf14bdb6f97a2b6ULL, 0xaee31730b66250b8ULL, 0x8212dc9601310142ULL,
    0xe921cd535978ba82ULL, 0xc5d006f5ee2beb78ULL, 0xb0c25a1e37de1976ULL, 0x9c3391b8808d488cULL,
    0x5ae6e3c98435fd6aULL, 0x7617286f3366ac90ULL, 0x03057484ea935e9eULL, 0x2ff4bf225dc00f64ULL,
    0x0c15d213aa4d7a79ULL, 0x20e419b51d1e2b83ULL, 0x55f6455ec4ebd98dULL, 0x79078ef873b88877ULL,
    0xbfd2fc8977003d91ULL, 0x9323372fc0536c6bULL, 0xe6316bc419a69e65ULL, 0xcac0a062aef5cf9fULL,
    0x3057484ea935e9e5ULL, 0x1ca683e81e66b81fULL, 0x69b4df03c7934a11ULL, 0x454514a570c01bebULL,
    0x839066d47478ae0dULL, 0xaf61ad72c32bfff7ULL, 0xda73f1991ade0df9ULL, 0xf6823a3fad8d5c03ULL,
    0xd563570e5a00291eULL, 0xf9929ca8ed5378e4ULL, 0x8c80c04334a68aeaULL, 0xa0710be583f5db10ULL,
    0x66a47994874d6ef6ULL, 0x4a55b232301e3f0cULL, 0x3f47eed9e9ebcd02ULL, 0x13b6257f5eb89cf8ULL,
    0x788534ba06f12738ULL, 0x5474ff1cb1a276c2ULL, 0x2166a3f7685784ccULL, 0x0d976851df04d536ULL,
    0xcb421a20dbbc60d0ULL, 0xe7b3d1866cef312aULL, 0x92a18d6db51ac324ULL, 0xbe5046cb024992deULL,
    0x9db12bfaf5c4e7c3ULL, 0xb140e05c4297b639ULL, 0xc452bcb79b624437ULL, 0xe8a377112c3115cdULL,
    0x2e7605602889a02bULL, 0x0287cec69fdaf1d1ULL, 0x7795922d462f03dfULL, 0x5b64598bf17c5225ULL,
    0xc15d213aa4d7a795ULL, 0xedacea9c1384f66fULL, 0x98beb677ca710461ULL, 0xb44f7dd17d22559bULL,
    0x729a0fa0799ae07dULL, 0x5e6bc406cec9b187ULL, 0x2b7998ed173c4389ULL, 0x0788534ba06f1273ULL,
    0x24693e7a57e2676eULL, 0x0898f5dce0b13694ULL, 0x7d8aa9373944c49aULL, 0x517b62918e179560ULL,
    0x97ae10e08aaf2086ULL, 0xbb5fdb463dfc717cULL, 0xce4d87ade4098372ULL, 0xe2bc4c0b535ad288ULL,
    0x898f5dce0b136948ULL, 0xa57e9668bc4038b2ULL, 0xd06cca8365b5cabcULL, 0xfc9d0125d2e69b46ULL,
    0x3a487354d65e2ea0ULL, 0x16b9b8f2610d7f5aULL, 0x63abe419b8f88d54ULL, 0x4f5a2fbf0fabdcaeULL,
    0x6cbb428ef826a9b3ULL, 0x404a89284f75f849ULL, 0x3558d5c396800a47ULL, 0x19a91e6521d35bbdULL,
    0xdf7c6c14256bee5bULL, 0xf38da7b29238bfa1ULL, 0x869ffb594bcd4dafULL, 0xaa6e30fffc9e1c55ULL,
    0x50f9d8d3fb5e3a2fULL, 0x7c0813754c0d6bd5ULL, 0x091a4f9e95f899dbULL, 0x25eb843822abc821ULL,
    0xe33ef64926137dc7ULL, 0xcfcf3def91402c3dULL, 0xbadd610448b5de33ULL, 0x962caaa2ffe68fc9ULL,
    0xb5cdc793086bfad4ULL, 0x993c0c35bf38ab2eULL, 0xec2e50de66cd5920ULL, 0xc0df9b78d19e08daULL,
    0x060ae909d526bd3cULL, 0x2afb22af6275ecc6ULL, 0x5fe97e44bb801ec8ULL, 0x7318b5e20cd34f32ULL,
    0x182ba427549af4f2ULL, 0x34da6f81e3c9a508ULL, 0x41c8336a3a3c5706ULL, 0x6d39f8cc8d6f06fcULL,
    0xabec8abd89d7b31aULL, 0x871d411b3e84e2e0ULL, 0xf20f1df0e77110eeULL, 0xdefed65650224114ULL,
    0xfd1fbb67a7af3409ULL, 0xd1ee70c110fc65f3ULL, 0xa4fc2c2ac90997fdULL, 0x880de78c7e5ac607ULL,
    0x4ed895fd7ae273e1ULL, 0x62295e5bcdb1221bULL, 0x173b02b01444d015ULL, 0x3bcac916a31781efULL,
    0x60ae909d526bd3caULL, 0x4c5f5b3be5388230ULL, 0x394d07d03ccd703eULL, 0x15bccc768b9e21c4ULL,
    0xd369be078f269422ULL, 0xff9875a13875c5d8ULL, 0x8a8a294ae18037d6ULL, 0xa67be2ec56d3662cULL,
    0x859a8fdda15e1331ULL, 0xa96b447b160d42cbULL, 0xdc791890cff8b0c5ULL, 0xf088d33678abe13fULL,
    0x365da1477c1354d9ULL, 0x1aac6ae1cb400523ULL, 0x6fbe360a12b5f72dULL, 0x434ffdaca5e6a6d7ULL,
    0x287cec69fdaf1d17ULL, 0x048d27cf4afc4cedULL, 0x719f7b249309bee3ULL, 0x5d6eb082245aef19ULL,
    0x9bbbc2f320e25affULL, 0xb74a095597b10b05ULL, 0xc25855be4e44f90bULL, 0xeea99e18f917a8f1ULL,
    0xcd48f3290e9addecULL, 0xe1b9388fb9c98c16ULL, 0x94ab6464603c7e18ULL, 0xb85aafc2d76f2fe2ULL,
    0x7e8fddb3d3d79a04ULL, 0x527e16156484cbfeULL, 0x276c4afebd7139f0ULL, 0x0b9d81580a22680aULL,
    0xf10a69740de24e70ULL, 0xddfba2d2bab11f8aULL, 0xa8e9fe396344ed84ULL, 0x8418359fd417bc7eULL,
    0x42cd47eed0af0998ULL, 0x6e3c8c4867fc5862ULL, 0x1b2ed0a3be09aa6cULL, 0x37df1b05095afb96ULL,
    0x143e7634fed78e8bULL, 0x38cfbd924984df71ULL, 0x4ddde17990712d7fULL, 0x612c2adf27227c85ULL,
    0xa7f958ae239ac963ULL, 0x8b08930894c99899ULL, 0xfe1acfe34d3c6a97ULL, 0xd2eb0445fa6f3b6dULL,
    0xb9d81580a22680adULL, 0x9529de261575d157ULL, 0xe03b82cdcc802359ULL, 0xccca496b7bd372a3ULL,
    0x0a1f3b1a7f6bc745ULL, 0x26eef0bcc83896bfULL, 0x53fcac5711cd64b1ULL, 0x7f0d67f1a69e354bULL,
    0x5cec0ac051134056ULL, 0x701dc166e64011acULL, 0x050f9d8d3fb5e3a2ULL, 0x29fe562b88e6b258ULL,
    0xef2b245a8c5e07beULL, 0xc3daeffc3b0d5644ULL, 0xb6c8b317e2f8a44aULL, 0x9a3978b155abf5b0ULL,
};

uint64_t oc_avro_crc64(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t fp = OC_AVRO_CRC64_EMPTY;

  for (size_t i = 0; i < len; i++)
    fp = (fp >> 8) ^ crc64_table[(fp ^ p[i]) & 0xff];
  return fp;
}

/* ---- Parsing Canonical Form ------------------------------------------ */

typedef struct pcf_s {
  oc_buf_t out;  /* the canonical form */
  json_t *names; /* full names defined so far, as a set */
  oc_err_t *err;
} pcf_t;

static const char *const primitives[] = {"null",  "boolean", "int",   "long",
                                         "float", "double",  "bytes", "string"};

static bool is_primitive(const char *s) {
  for (size_t i = 0; i < sizeof(primitives) / sizeof(primitives[0]); i++)
    if (strcmp(s, primitives[i]) == 0)
      return true;
  return false;
}

static void put(pcf_t *p, const char *s, size_t n) { oc_buf_put(&p->out, s, n); }

static void puts_raw(pcf_t *p, const char *s) { oc_buf_puts(&p->out, s); }

/* A JSON string literal; non-ASCII bytes pass through as UTF-8. */
static void put_json_string(pcf_t *p, const char *s) {
  put(p, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    switch (c) {
    case '"': put(p, "\\\"", 2); break;
    case '\\': put(p, "\\\\", 2); break;
    case '\b': put(p, "\\b", 2); break;
    case '\f': put(p, "\\f", 2); break;
    case '\n': put(p, "\\n", 2); break;
    case '\r': put(p, "\\r", 2); break;
    case '\t': put(p, "\\t", 2); break;
    default:
      if (c < 0x20) {
        snprintf(esc, sizeof(esc), "\\u%04x", c);
        put(p, esc, 6);
      } else {
        put(p, s, 1);
      }
    }
  }
  put(p, "\"", 1);
}

/* [A-Za-z_][A-Za-z0-9_]* */
static bool valid_simple_name(const char *s, size_t n) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
      return false;
  }
  return true;
}

/* Dot-separated simple names. */
static bool valid_full_name(const char *s) {
  const char *start = s;
  for (const char *q = s;; q++) {
    if (*q == '.' || *q == '\0') {
      if (!valid_simple_name(start, (size_t)(q - start)))
        return false;
      if (*q == '\0')
        return true;
      start = q + 1;
    }
  }
}

static int pcf_schema(pcf_t *p, const json_t *s, const char *ns, int depth, const char *where);

/* A type referenced by name: a primitive or an already defined named type. */
static int pcf_reference(pcf_t *p, const char *ref, const char *ns, const char *where) {
  char full[1024];

  if (is_primitive(ref)) {
    put_json_string(p, ref);
    return 0;
  }
  if (strchr(ref, '.') || !ns || !*ns)
    snprintf(full, sizeof(full), "%s", ref);
  else
    snprintf(full, sizeof(full), "%s.%s", ns, ref);
  if (json_object_get(p->names, full)) {
    put_json_string(p, full);
    return 0;
  }
  /* A short name not found in the enclosing namespace: the null namespace. */
  if (!strchr(ref, '.') && json_object_get(p->names, ref)) {
    put_json_string(p, ref);
    return 0;
  }
  return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: unknown type name '%s'", where, ref);
}

static int pcf_named(pcf_t *p, const json_t *s, const char *type, const char *ns, int depth,
                     const char *where) {
  const json_t *jname = json_object_get(s, "name");
  const json_t *jns = json_object_get(s, "namespace");
  char full[1024], here[1100];
  const char *name, *dot;
  char *new_ns = NULL;
  int rc = 0;

  if (!json_is_string(jname))
    return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: %s without a string \"name\"", where, type);
  name = json_string_value(jname);
  if (strlen(name) >= 512)
    return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: %s name too long", where, type);
  if (!valid_full_name(name))
    return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: invalid %s name '%s'", where, type, name);
  dot = strrchr(name, '.');
  if (dot) {
    snprintf(full, sizeof(full), "%s", name);
    new_ns = strndup(name, (size_t)(dot - name));
  } else {
    if (jns && !json_is_null(jns)) {
      if (!json_is_string(jns))
        return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: %s '%s': \"namespace\" must be a string",
                          where, type, name);
      ns = json_string_value(jns);
      if (strlen(ns) >= 500 || (*ns && !valid_full_name(ns)))
        return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: %s '%s': invalid namespace '%s'", where, type,
                          name, ns);
    }
    if (ns && *ns)
      snprintf(full, sizeof(full), "%s.%s", ns, name);
    else
      snprintf(full, sizeof(full), "%s", name);
    new_ns = strdup(ns ? ns : "");
  }
  if (!new_ns)
    return oc_err_set(p->err, OC_ERR_NOMEM, "out of memory");
  if (is_primitive(full)) {
    rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: %s may not be named '%s'", where, type, full);
    goto out;
  }
  if (json_object_get(p->names, full)) {
    rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: %s '%s' is defined twice", where, type, full);
    goto out;
  }
  /* Defined before its body, so that a record may refer to itself. */
  if (json_object_set_new(p->names, full, json_true()) != 0) {
    rc = oc_err_set(p->err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  snprintf(here, sizeof(here), "%s '%s'", type, full);

  puts_raw(p, "{\"name\":");
  put_json_string(p, full);
  if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0) {
    const json_t *fields = json_object_get(s, "fields");
    json_t *seen = NULL;
    if (!json_is_array(fields)) {
      rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: \"fields\" must be an array", here);
      goto out;
    }
    seen = json_object();
    if (!seen) {
      rc = oc_err_set(p->err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    puts_raw(p, ",\"type\":\"record\",\"fields\":[");
    for (size_t i = 0; i < json_array_size(fields) && rc == 0; i++) {
      const json_t *f = json_array_get(fields, i);
      const json_t *fname = json_object_get(f, "name");
      const json_t *ftype = json_object_get(f, "type");
      char fwhere[1400];
      if (!json_is_object(f) || !json_is_string(fname)) {
        rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: field %zu has no string \"name\"", here, i);
        break;
      }
      if (!valid_simple_name(json_string_value(fname), strlen(json_string_value(fname)))) {
        rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: invalid field name '%s'", here,
                        json_string_value(fname));
        break;
      }
      if (json_object_get(seen, json_string_value(fname))) {
        rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: duplicate field '%s'", here,
                        json_string_value(fname));
        break;
      }
      json_object_set_new(seen, json_string_value(fname), json_true());
      snprintf(fwhere, sizeof(fwhere), "%s field '%s'", here, json_string_value(fname));
      if (!ftype) {
        rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: no \"type\"", fwhere);
        break;
      }
      puts_raw(p, i ? ",{\"name\":" : "{\"name\":");
      put_json_string(p, json_string_value(fname));
      puts_raw(p, ",\"type\":");
      rc = pcf_schema(p, ftype, new_ns, depth + 1, fwhere);
      puts_raw(p, "}");
    }
    json_decref(seen);
    puts_raw(p, "]}");
  } else if (strcmp(type, "enum") == 0) {
    const json_t *symbols = json_object_get(s, "symbols");
    if (!json_is_array(symbols)) {
      rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: \"symbols\" must be an array", here);
      goto out;
    }
    puts_raw(p, ",\"type\":\"enum\",\"symbols\":[");
    for (size_t i = 0; i < json_array_size(symbols); i++) {
      const json_t *sym = json_array_get(symbols, i);
      const char *v = json_string_value(sym);
      if (!v || !valid_simple_name(v, strlen(v))) {
        rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: symbol %zu is not a valid name", here, i);
        goto out;
      }
      for (size_t k = 0; k < i; k++)
        if (strcmp(v, json_string_value(json_array_get(symbols, k))) == 0) {
          rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: duplicate symbol '%s'", here, v);
          goto out;
        }
      if (i)
        puts_raw(p, ",");
      put_json_string(p, v);
    }
    puts_raw(p, "]}");
  } else { /* fixed */
    const json_t *size = json_object_get(s, "size");
    char num[32];
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
      rc = oc_err_set(p->err, OC_ERR_SCHEMA, "%s: \"size\" must be a non-negative integer", here);
      goto out;
    }
    snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(size));
    puts_raw(p, ",\"type\":\"fixed\",\"size\":");
    puts_raw(p, num);
    puts_raw(p, "}");
  }
out:
  free(new_ns);
  return rc;
}

static int pcf_schema(pcf_t *p, const json_t *s, const char *ns, int depth, const char *where) {
  if (depth > OC_AVRO_MAX_DEPTH)
    return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: nested deeper than %d levels", where,
                      OC_AVRO_MAX_DEPTH);
  if (json_is_string(s))
    return pcf_reference(p, json_string_value(s), ns, where);
  if (json_is_array(s)) {
    int rc = 0;
    puts_raw(p, "[");
    for (size_t i = 0; i < json_array_size(s) && rc == 0; i++) {
      if (json_is_array(json_array_get(s, i)))
        return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: union branch %zu is a union (not allowed)",
                          where, i);
      if (i)
        puts_raw(p, ",");
      rc = pcf_schema(p, json_array_get(s, i), ns, depth + 1, where);
    }
    puts_raw(p, "]");
    return rc;
  }
  if (!json_is_object(s))
    return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: a schema must be a JSON string, object or array",
                      where);

  const json_t *jtype = json_object_get(s, "type");
  const char *type = json_string_value(jtype);
  if (!jtype)
    return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: object without \"type\"", where);
  if (!type)
    return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: \"type\" must be a string", where);
  if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0 || strcmp(type, "enum") == 0 ||
      strcmp(type, "fixed") == 0)
    return pcf_named(p, s, type, ns, depth, where);
  if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
    bool array = type[0] == 'a';
    const json_t *sub = json_object_get(s, array ? "items" : "values");
    if (!sub)
      return oc_err_set(p->err, OC_ERR_SCHEMA, "%s: %s without \"%s\"", where, type,
                        array ? "items" : "values");
    puts_raw(p, array ? "{\"type\":\"array\",\"items\":" : "{\"type\":\"map\",\"values\":");
    int rc = pcf_schema(p, sub, ns, depth + 1, where);
    puts_raw(p, "}");
    return rc;
  }
  /* A primitive with attributes ({"type":"int","logicalType":"date"}) or a
   * named type referenced through "type". */
  return pcf_reference(p, type, ns, where);
}

int oc_avro_pcf_from_json(const json_t *root, char **out, size_t *out_len, oc_err_t *err) {
  pcf_t p = {.err = err};
  int rc;

  *out = NULL;
  p.names = json_object();
  if (!p.names)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  rc = pcf_schema(&p, root, "", 0, "schema");
  if (rc == 0 && p.out.failed)
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory building the canonical form");
  if (rc == 0 && !p.out.p) /* cannot happen: every schema writes something */
    rc = oc_err_set(err, OC_ERR_INTERNAL, "empty canonical form");
  json_decref(p.names);
  if (rc != 0) {
    oc_buf_release(&p.out);
    return rc;
  }
  *out = oc_buf_detach(&p.out, out_len);
  return 0;
}

int oc_avro_canonical(const char *json, size_t len, char **out, size_t *out_len, oc_err_t *err) {
  json_error_t jerr;
  json_t *root;
  int rc;

  *out = NULL;
  root = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return oc_err_set(err, OC_ERR_SCHEMA, "invalid JSON at line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
  rc = oc_avro_pcf_from_json(root, out, out_len, err);
  json_decref(root);
  return rc;
}
