/* schema_registry.c - the Confluent-compatible registry client (libcurl,
 * jansson) and the value.format setting; see
 * include/outcomes/schema_registry.h. */
#include "outcomes/schema_registry.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "outcomes/tls_policy.h"

#define URL_MAX 2048
#define CONTENT_TYPE "application/vnd.schemaregistry.v1+json"

struct oc_sr_s {
  CURL *curl;
  struct curl_slist *headers;
  char url[URL_MAX]; /* base, without a trailing '/' */
  char *user, *password;
  char *ca;
  long timeout_ms;
  /* The answer being received. */
  char *body;
  size_t len, cap;
  bool too_long;
};

int oc_value_format_get(const oc_config_t *cfg, oc_value_format_t *out, oc_err_t *err) {
  const char *f = oc_config_get_str(cfg, "value.format");
  const char *url = oc_config_get_str(cfg, "schema.registry.url");
  bool has_url = url && *url;

  if (!f || !*f) {
    *out = has_url ? OC_VALUE_CONFLUENT : OC_VALUE_SINGLE_OBJECT;
    return 0;
  }
  if (strcmp(f, "single-object") == 0) {
    *out = OC_VALUE_SINGLE_OBJECT;
    return 0;
  }
  if (strcmp(f, "confluent") != 0)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "value.format: '%s' is neither 'confluent' nor 'single-object'", f);
  if (!has_url)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "value.format=confluent needs schema.registry.url (the ids come from it)");
  *out = OC_VALUE_CONFLUENT;
  return 0;
}

/* ---- answers ----------------------------------------------------------- */

static json_t *load_object(const char *body, size_t len, const char *what, oc_err_t *err) {
  json_error_t jerr;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    oc_err_set(err, OC_ERR_DECODE, "%s: not JSON (line %d column %d: %s)", what, jerr.line,
               jerr.column, jerr.text);
    return NULL;
  }
  if (!json_is_object(root)) {
    json_decref(root);
    oc_err_set(err, OC_ERR_DECODE, "%s: not a JSON object", what);
    return NULL;
  }
  return root;
}

int oc_sr_parse_id(const char *body, size_t len, uint32_t *id, oc_err_t *err) {
  json_t *root = load_object(body, len, "registration answer", err);
  json_int_t v;
  if (!root)
    return OC_ERR_DECODE;
  json_t *j = json_object_get(root, "id");
  if (!json_is_integer(j) || (v = json_integer_value(j)) < 0 || v > (json_int_t)UINT32_MAX) {
    json_decref(root);
    return oc_err_set(err, OC_ERR_DECODE, "registration answer: no \"id\" of 0..%" PRIu32,
                      UINT32_MAX);
  }
  *id = (uint32_t)v;
  json_decref(root);
  return 0;
}

int oc_sr_parse_schema(const char *body, size_t len, char **json, oc_err_t *err) {
  json_t *root = load_object(body, len, "schema answer", err);
  int rc = 0;

  *json = NULL;
  if (!root)
    return OC_ERR_DECODE;
  json_t *type = json_object_get(root, "schemaType");
  json_t *s = json_object_get(root, "schema");
  if (type && (!json_is_string(type) || strcmp(json_string_value(type), "AVRO") != 0)) {
    rc = oc_err_set(err, OC_ERR_SCHEMA, "schema type %s, not AVRO",
                    json_is_string(type) ? json_string_value(type) : "(not a string)");
  } else if (!json_is_string(s)) {
    rc = oc_err_set(err, OC_ERR_DECODE, "schema answer: no \"schema\" string");
  } else if (!(*json = strndup(json_string_value(s), json_string_length(s)))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  } else if (strlen(*json) != json_string_length(s)) {
    free(*json);
    *json = NULL;
    rc = oc_err_set(err, OC_ERR_DECODE, "schema answer: NUL byte in the schema");
  }
  json_decref(root);
  return rc;
}

/* Printable bytes of s[0..n), control characters as '?', into buf. */
static void printable(const char *s, size_t n, char *buf, size_t cap) {
  size_t i = 0;
  if (cap == 0)
    return;
  for (; i < n && i + 1 < cap; i++)
    buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
  buf[i] = '\0';
}

void oc_sr_parse_error(const char *body, size_t len, char *buf, size_t cap) {
  json_t *root = json_loadb(body, len, 0, NULL);
  json_t *m = json_is_object(root) ? json_object_get(root, "message") : NULL;
  if (json_is_string(m))
    printable(json_string_value(m), json_string_length(m), buf, cap);
  else
    printable(body, len < 200 ? len : 200, buf, cap);
  json_decref(root);
}

/* ---- the client -------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  oc_sr_t *sr = arg;
  size_t add = size * n;
  if (add > OC_SR_RESPONSE_MAX - sr->len) {
    sr->too_long = true;
    return 0; /* CURLE_WRITE_ERROR */
  }
  if (sr->len + add + 1 > sr->cap) {
    size_t cap = sr->cap ? sr->cap : 4096;
    while (cap < sr->len + add + 1)
      cap *= 2;
    char *b = realloc(sr->body, cap);
    if (!b)
      return 0;
    sr->body = b;
    sr->cap = cap;
  }
  memcpy(sr->body + sr->len, p, add);
  sr->len += add;
  sr->body[sr->len] = '\0';
  return add;
}

/* Scheme and host of url, checked against the TLS policy. */
static int check_url(const char *url, bool insecure, oc_err_t *err) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL;
  int rc = 0;

  if (!u)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "schema.registry.url: not a URL");
    goto out;
  }
  if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "schema.registry.url: scheme '%s' is not http or https",
                    scheme);
    goto out;
  }
  if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
    rc = oc_err_set(err, OC_ERR_CONFIG,
                    "schema.registry.url: credentials in the URL; use "
                    "schema.registry.basic.auth.user and .password.file");
    goto out;
  }
  if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
    rc = oc_err_set(err, OC_ERR_CONFIG, "schema.registry.url: has a query");
    goto out;
  }
  /* An IPv6 host comes in brackets. */
  size_t hl = strlen(host);
  const char *h = host;
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (strcmp(scheme, "http") == 0 && !insecure && !oc_host_is_local(h, hl))
    rc = oc_err_set(err, OC_ERR_CONFIG,
                    "schema.registry.url: plain http to %s, which is not this host: use https, "
                    "or set schema.registry.insecure=true",
                    host);
out:
  curl_free(scheme);
  curl_free(host);
  curl_free(user);
  curl_free(query);
  curl_url_cleanup(u);
  return rc;
}

static int dup_opt(const char *s, char **out, oc_err_t *err) {
  *out = NULL;
  if (!s || !*s)
    return 0;
  if (!(*out = strdup(s)))
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  return 0;
}

int oc_sr_new(const oc_config_t *cfg, oc_sr_t **out, oc_err_t *err) {
  const char *url = oc_config_get_str(cfg, "schema.registry.url");
  const char *ca = oc_config_get_str(cfg, "schema.registry.ssl.ca.location");
  oc_sr_t *sr = NULL;
  size_t n;
  int rc;

  *out = NULL;
  if (!url || !*url)
    return 0;
  n = strlen(url);
  while (n > 0 && url[n - 1] == '/')
    n--;
  if (n == 0 || n >= URL_MAX)
    return oc_err_set(err, OC_ERR_CONFIG, "schema.registry.url: empty or longer than %d bytes",
                      URL_MAX - 1);
  if ((rc = check_url(url, oc_config_get_bool(cfg, "schema.registry.insecure"), err)) != 0)
    return rc;
  if (ca && *ca) {
    FILE *f = fopen(ca, "r");
    if (!f)
      return oc_err_set(err, OC_ERR_CONFIG, "schema.registry.ssl.ca.location: cannot read '%s'",
                        ca);
    fclose(f);
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return oc_err_set(err, OC_ERR_INTERNAL, "libcurl cannot initialise");
  if (!(sr = calloc(1, sizeof(*sr))))
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  memcpy(sr->url, url, n);
  sr->url[n] = '\0';
  sr->timeout_ms = (long)oc_config_get_int(cfg, "schema.registry.timeout");
  if ((rc = dup_opt(oc_config_get_str(cfg, "schema.registry.basic.auth.user"), &sr->user, err)) ||
      (rc = dup_opt(oc_config_get_str(cfg, "schema.registry.basic.auth.password"), &sr->password,
                    err)) ||
      (rc = dup_opt(ca, &sr->ca, err)))
    goto out;
  sr->curl = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Accept: " CONTENT_TYPE ", application/json");
  sr->headers = h ? curl_slist_append(h, "Content-Type: " CONTENT_TYPE) : NULL;
  if (!sr->headers && h)
    curl_slist_free_all(h);
  if (!sr->curl || !sr->headers) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  *out = sr;
  sr = NULL;
out:
  oc_sr_destroy(sr);
  return rc;
}

const char *oc_sr_url(const oc_sr_t *sr) { return sr->url; }

/* One request: method GET (post NULL) or POST; the status into *status,
 * the answer in sr->body[0..sr->len). Transport failures are OC_ERR_IO,
 * retriable. */
static int request(oc_sr_t *sr, const char *path, const char *post, long *status, oc_err_t *err) {
  char url[URL_MAX + 512];
  CURL *c = sr->curl;
  CURLcode cc;

  *status = 0;
  sr->len = 0;
  sr->too_long = false;
  if (sr->body)
    sr->body[0] = '\0';
  if ((size_t)snprintf(url, sizeof(url), "%s%s", sr->url, path) >= sizeof(url))
    return oc_err_set(err, OC_ERR_LIMIT, "registry URL too long");
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, sr->timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, sr->timeout_ms);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, sr->headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, sr);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "outcomes/" OC_VERSION);
  if (sr->ca)
    curl_easy_setopt(c, CURLOPT_CAINFO, sr->ca);
  if (sr->user) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, sr->user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, sr->password ? sr->password : "");
  }
  if (post)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
  cc = curl_easy_perform(c);
  if (sr->too_long)
    return oc_err_set(err, OC_ERR_IO, "schema registry %s: answer longer than %zu bytes", url,
                      OC_SR_RESPONSE_MAX);
  if (cc != CURLE_OK)
    return oc_err_set_retriable(err, OC_ERR_IO, "schema registry %s: %s", url,
                                curl_easy_strerror(cc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  return 0;
}

/* The registry's message in the answer received (printable, cut). */
static void answer_message(const oc_sr_t *sr, char *msg, size_t cap) {
  oc_sr_parse_error(sr->body ? sr->body : "", sr->len, msg, cap);
}

/* An answer other than 200, as an error of the right code. */
static int status_error(oc_sr_t *sr, const char *what, long status, oc_err_t *err) {
  char msg[256];
  answer_message(sr, msg, sizeof(msg));
  if (status == 401 || status == 403)
    return oc_err_set(err, OC_ERR_CONFIG, "schema registry %s: %s: HTTP %ld (credentials): %s",
                      sr->url, what, status, msg);
  if (status == 408 || status == 429 || status >= 500)
    return oc_err_set_retriable(err, OC_ERR_IO, "schema registry %s: %s: HTTP %ld: %s", sr->url,
                                what, status, msg);
  return oc_err_set(err, OC_ERR_IO, "schema registry %s: %s: HTTP %ld: %s", sr->url, what, status,
                    msg);
}

/* subject with every byte outside [A-Za-z0-9._~-] percent-encoded. */
static int escape_subject(const char *subject, char *buf, size_t cap, oc_err_t *err) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)subject; *p; p++) {
    if (o + 4 > cap)
      return oc_err_set(err, OC_ERR_LIMIT, "subject longer than %zu bytes", cap / 3);
    if (isalnum(*p) || *p == '.' || *p == '_' || *p == '~' || *p == '-') {
      buf[o++] = (char)*p;
    } else {
      buf[o++] = '%';
      buf[o++] = hex[*p >> 4];
      buf[o++] = hex[*p & 15];
    }
  }
  buf[o] = '\0';
  return 0;
}

int oc_sr_register(oc_sr_t *sr, const char *subject, const char *schema_json, uint32_t *id,
                   oc_err_t *err) {
  char path[400], esc[300], what[320];
  json_t *req = json_pack("{s:s}", "schema", schema_json);
  char *post = req ? json_dumps(req, JSON_COMPACT) : NULL;
  long status;
  int rc;

  json_decref(req);
  if (!post)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  if ((rc = escape_subject(subject, esc, sizeof(esc), err)) != 0)
    goto out;
  snprintf(path, sizeof(path), "/subjects/%s/versions", esc);
  snprintf(what, sizeof(what), "register under subject '%s'", subject);
  if ((rc = request(sr, path, post, &status, err)) != 0)
    goto out;
  if (status == 409 || status == 422) {
    char msg[256];
    answer_message(sr, msg, sizeof(msg));
    rc = oc_err_set(err, OC_ERR_CONFIG,
                    "schema registry %s refused the schema under subject '%s' "
                    "(HTTP %ld%s): %s",
                    sr->url, subject, status,
                    status == 409 ? ", incompatible with its versions" : ", invalid", msg);
  } else if (status != 200) {
    rc = status_error(sr, what, status, err);
  } else if ((rc = oc_sr_parse_id(sr->body, sr->len, id, err)) != 0) {
    oc_err_prefix(err, "schema registry %s: ", sr->url);
  }
out:
  free(post);
  return rc;
}

int oc_sr_schema_by_id(oc_sr_t *sr, uint32_t id, char **json, oc_err_t *err) {
  char path[64], what[64];
  long status;
  int rc;

  *json = NULL;
  snprintf(path, sizeof(path), "/schemas/ids/%" PRIu32, id);
  snprintf(what, sizeof(what), "schema id %" PRIu32, id);
  if ((rc = request(sr, path, NULL, &status, err)) != 0)
    return rc;
  if (status == 404) {
    char msg[256];
    answer_message(sr, msg, sizeof(msg));
    return oc_err_set(err, OC_ERR_NOT_FOUND, "schema id %" PRIu32 ": not in the registry: %s", id,
                      msg);
  }
  if (status != 200)
    return status_error(sr, what, status, err);
  if ((rc = oc_sr_parse_schema(sr->body, sr->len, json, err)) != 0)
    oc_err_prefix(err, "schema id %" PRIu32 ": ", id);
  return rc;
}

void oc_sr_destroy(oc_sr_t *sr) {
  if (!sr)
    return;
  if (sr->curl)
    curl_easy_cleanup(sr->curl);
  curl_slist_free_all(sr->headers);
  free(sr->user);
  if (sr->password) {
    sodium_memzero(sr->password, strlen(sr->password));
    free(sr->password);
  }
  free(sr->ca);
  free(sr->body);
  free(sr);
}
