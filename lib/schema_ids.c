/* schema_ids.c - Confluent schema ids to writer schemas, cached, and the
 * registry set-up of every program; see include/outcomes/schema_ids.h. */
#include "outcomes/schema_ids.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/avro.h"
#include "outcomes/clock.h"
#include "outcomes/log.h"

typedef struct id_entry_s {
  uint32_t id;
  bool ok;
  uint64_t fp;     /* ok */
  int code;        /* !ok: the data error */
  int64_t t_until; /* !ok: asked again after */
  char msg[200];   /* !ok */
} id_entry_t;

/* A writer schema registered by reframe: its fingerprint and its id. */
typedef struct registered_s {
  uint64_t fp;
  uint32_t id;
} registered_t;

#define REGISTERED_MAX 64

struct oc_schema_ids_s {
  oc_sr_t *sr;
  registered_t registered[REGISTERED_MAX];
  size_t n_registered;
  oc_obs_codec_t *codec; /* borrowed */
  int64_t failed_ttl_ms;
  uint32_t writer_id;
  id_entry_t *entries;
  size_t n;
  size_t last; /* index of the last hit: most records share one id */
  oc_schema_ids_stats_t stats;
};

int oc_schema_ids_new(oc_sr_t *sr, oc_obs_codec_t *codec, int64_t failed_ttl_ms,
                      oc_schema_ids_t **out, oc_err_t *err) {
  oc_schema_ids_t *ids = calloc(1, sizeof(*ids));
  *out = NULL;
  if (ids)
    ids->entries = calloc(OC_SCHEMA_IDS_MAX, sizeof(*ids->entries));
  if (!ids || !ids->entries) {
    if (ids)
      free(ids);
    oc_sr_destroy(sr);
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  }
  ids->sr = sr;
  ids->codec = codec;
  ids->failed_ttl_ms = failed_ttl_ms;
  oc_obs_codec_set_resolver(codec, oc_schema_ids_resolve, ids);
  *out = ids;
  return 0;
}

static id_entry_t *lookup(oc_schema_ids_t *ids, uint32_t id) {
  if (ids->last < ids->n && ids->entries[ids->last].id == id)
    return &ids->entries[ids->last];
  for (size_t i = 0; i < ids->n; i++)
    if (ids->entries[i].id == id) {
      ids->last = i;
      return &ids->entries[i];
    }
  return NULL;
}

/* A free entry for id: expired failures are dropped first, then all. */
static id_entry_t *slot(oc_schema_ids_t *ids, uint32_t id, int64_t now) {
  if (ids->n == OC_SCHEMA_IDS_MAX) {
    size_t keep = 0;
    for (size_t i = 0; i < ids->n; i++)
      if (ids->entries[i].ok || ids->entries[i].t_until > now)
        ids->entries[keep++] = ids->entries[i];
    ids->n = keep < OC_SCHEMA_IDS_MAX ? keep : 0;
    ids->last = 0;
  }
  id_entry_t *e = &ids->entries[ids->n++];
  memset(e, 0, sizeof(*e));
  e->id = id;
  return e;
}

/* Remember a data error for id and return it. */
static int remember_failure(oc_schema_ids_t *ids, id_entry_t *e, int code, const char *msg,
                            int64_t now, oc_err_t *err) {
  e->ok = false;
  e->code = code;
  e->t_until = now + ids->failed_ttl_ms;
  /* Kept shorter than the message, which the caller still has whole. */
  snprintf(e->msg, sizeof(e->msg), "%.*s", (int)sizeof(e->msg) - 1, msg);
  ids->stats.failed++;
  oc_log_warn("schema_id_unusable id=%" PRIu32 " code=%s error=\"%s\"", e->id,
              oc_err_code_name(code), msg);
  return oc_err_set(err, code, "%s", msg);
}

int oc_schema_ids_resolve(void *arg, uint32_t id, uint64_t *fp, oc_err_t *err) {
  oc_schema_ids_t *ids = arg;
  int64_t now = oc_clock_ms();
  id_entry_t *e = lookup(ids, id);
  oc_err_t why;
  char *json = NULL;
  int rc;

  if (e && e->ok) {
    *fp = e->fp;
    return 0;
  }
  if (e && e->t_until > now)
    return oc_err_set(err, e->code, "%s", e->msg);
  oc_err_clear(&why);
  rc = oc_sr_schema_by_id(ids->sr, id, &json, &why);
  if (rc == 0) {
    rc = oc_obs_codec_add_writer(ids->codec, json, strlen(json), fp, &why);
    free(json);
    if (rc == 0) {
      if (!e)
        e = slot(ids, id, now);
      e->ok = true;
      e->fp = *fp;
      ids->stats.fetched++;
      oc_log_info("schema_id_learnt id=%" PRIu32 " fingerprint=%016" PRIx64, id, *fp);
      return 0;
    }
    if (rc == OC_ERR_SCHEMA || rc == OC_ERR_LIMIT) {
      char msg[OC_ERR_MSG_MAX + 64];
      snprintf(msg, sizeof(msg), "schema id %" PRIu32 ": %s", id, why.msg);
      return remember_failure(ids, e ? e : slot(ids, id, now), OC_ERR_SCHEMA, msg, now, err);
    }
  } else if (rc == OC_ERR_NOT_FOUND || rc == OC_ERR_SCHEMA) {
    return remember_failure(ids, e ? e : slot(ids, id, now),
                            rc == OC_ERR_NOT_FOUND ? OC_ERR_UNKNOWN_SCHEMA : OC_ERR_SCHEMA, why.msg,
                            now, err);
  }
  /* The system, not the record: it waits. */
  ids->stats.errors++;
  if (rc == OC_ERR_NOMEM)
    return oc_err_set(err, rc, "%s", why.msg);
  rc = oc_err_set_retriable(err, rc == OC_ERR_DECODE ? OC_ERR_IO : rc, "%s", why.msg);
  return rc;
}

int oc_schema_ids_setup(const oc_config_t *cfg, oc_obs_codec_t *codec, const char *topic,
                        oc_schema_ids_t **out, oc_err_t *err) {
  oc_value_format_t format = OC_VALUE_SINGLE_OBJECT;
  oc_schema_ids_t *ids = NULL;
  oc_sr_t *sr = NULL;
  char subject[512];
  char *json = NULL;
  int rc;

  *out = NULL;
  if ((topic && (rc = oc_value_format_get(cfg, &format, err)) != 0) ||
      (rc = oc_sr_new(cfg, &sr, err)) != 0)
    return rc;
  if (!sr)
    return 0;
  rc =
      oc_schema_ids_new(sr, codec, oc_config_get_int(cfg, "schema.registry.failed.ttl"), &ids, err);
  if (rc != 0)
    return rc;
  if (topic && format == OC_VALUE_CONFLUENT) {
    if ((size_t)snprintf(subject, sizeof(subject), "%s-value", topic) >= sizeof(subject)) {
      rc = oc_err_set(err, OC_ERR_CONFIG, "topic name too long for a subject");
      goto out;
    }
    if (!(json = oc_obs_codec_writer_json(codec))) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
      goto out;
    }
    if ((rc = oc_sr_register(ids->sr, subject, json, &ids->writer_id, err)) != 0)
      goto out;
    oc_obs_codec_frame_confluent(codec, ids->writer_id);
    /* Reading what this program writes needs no request. */
    id_entry_t *e = slot(ids, ids->writer_id, oc_clock_ms());
    e->ok = true;
    e->fp = oc_obs_codec_writer_fingerprint(codec);
    oc_log_info("schema_registered subject=%s id=%" PRIu32 " registry=%s", subject, ids->writer_id,
                oc_sr_url(ids->sr));
  }
  *out = ids;
  ids = NULL;
out:
  free(json);
  oc_schema_ids_destroy(ids);
  return rc;
}

/* The registry's id of the writer schema fp under subject, registered on
 * first use. */
static int id_of_writer(oc_schema_ids_t *ids, const char *subject, uint64_t fp, uint32_t *id,
                        oc_err_t *err) {
  char *json;
  int rc;
  for (size_t i = 0; i < ids->n_registered; i++)
    if (ids->registered[i].fp == fp) {
      *id = ids->registered[i].id;
      return 0;
    }
  if (!(json = oc_obs_codec_schema_json(ids->codec, fp)))
    return oc_err_set(err, OC_ERR_UNKNOWN_SCHEMA,
                      "fingerprint %016" PRIx64 " is no schema of the schema directory", fp);
  rc = oc_sr_register(ids->sr, subject, json, id, err);
  free(json);
  if (rc != 0)
    return rc;
  if (ids->n_registered == REGISTERED_MAX)
    ids->n_registered = 0;
  ids->registered[ids->n_registered++] = (registered_t){fp, *id};
  oc_log_info("schema_registered subject=%s id=%" PRIu32 " fingerprint=%016" PRIx64, subject, *id,
              fp);
  return 0;
}

int oc_schema_ids_reframe(oc_schema_ids_t *ids, oc_value_format_t to, const char *subject,
                          const void *in, size_t len, void *buf, size_t cap, size_t *out_len,
                          oc_err_t *err) {
  const unsigned char *p = in;
  unsigned char hdr[OC_AVRO_HEADER_LEN];
  size_t hdr_len, body_len;
  oc_obs_frame_t f;
  uint32_t id;
  uint64_t fp;
  int rc;

  *out_len = 0;
  if ((rc = oc_obs_frame_read(in, len, &f, err)) != 0)
    return rc;
  if (f.format == to) { /* already so: the header as it is */
    hdr_len = f.header_len;
    memcpy(hdr, p, hdr_len);
  } else if (to == OC_VALUE_CONFLUENT) {
    if ((rc = id_of_writer(ids, subject, f.fingerprint, &id, err)) != 0)
      return rc;
    hdr_len = oc_obs_confluent_header(hdr, id);
  } else {
    if ((rc = oc_schema_ids_resolve(ids, f.schema_id, &fp, err)) != 0)
      return rc;
    oc_avro_header_write(hdr, sizeof(hdr), fp, NULL);
    hdr_len = OC_AVRO_HEADER_LEN;
  }
  body_len = len - f.header_len;
  if (cap < hdr_len + body_len)
    return oc_err_set(err, OC_ERR_LIMIT, "value of %zu bytes longer than %zu", hdr_len + body_len,
                      cap);
  memcpy(buf, hdr, hdr_len);
  memcpy((unsigned char *)buf + hdr_len, p + f.header_len, body_len);
  *out_len = hdr_len + body_len;
  return 0;
}

uint32_t oc_schema_ids_writer_id(const oc_schema_ids_t *ids) { return ids ? ids->writer_id : 0; }

void oc_schema_ids_stats(const oc_schema_ids_t *ids, oc_schema_ids_stats_t *out) {
  if (ids)
    *out = ids->stats;
  else
    memset(out, 0, sizeof(*out));
}

void oc_schema_ids_destroy(oc_schema_ids_t *ids) {
  if (!ids)
    return;
  oc_obs_codec_set_resolver(ids->codec, NULL, NULL);
  oc_sr_destroy(ids->sr);
  free(ids->entries);
  free(ids);
}
