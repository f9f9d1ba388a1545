/* replay_cat.c - a span of a topic decoded to JSON Lines; see
 * oc_replay_cat in include/outcomes/replay.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "outcomes/date.h"
#include "outcomes/key.h"
#include "outcomes/log.h"
#include "outcomes/obs_codec.h"
#include "outcomes/schema_ids.h"
#include "replay_internal.h"

#define CAT_GROUP "outcomes-replay.cat" /* never joined, never committed */

typedef struct cat_part_s {
  oc_replay_range_t range;
  bool done;
} cat_part_t;

static json_t *date_json(oc_date_t d) {
  char buf[11];
  oc_date_format(d, buf);
  return json_string(buf);
}

/* A decoded string; bytes that are not UTF-8 (which validation would
 * refuse) shown as '?'. */
static json_t *text_json(const char *s) {
  json_t *j = json_string(s);
  if (j)
    return j;
  char *copy = strdup(s);
  if (!copy)
    return NULL;
  for (char *c = copy; *c; c++)
    if ((unsigned char)*c >= 0x80)
      *c = '?';
  j = json_string(copy);
  free(copy);
  return j;
}

/* The fields a key and a value share. */
static void put_id(json_t *o, const oc_fact_id_t *id) {
  json_object_set_new(o, "org_id", text_json(id->org_id));
  json_object_set_new(o, "facility_id",
                      id->facility_id[0] ? text_json(id->facility_id) : json_null());
  json_object_set_new(o, "metric", text_json(id->metric));
  json_object_set_new(o, "grain", json_string(oc_grain_name(id->grain)));
  json_object_set_new(o, "period_start", date_json(id->period_start));
}

static json_t *key_json(const rd_kafka_message_t *m) {
  oc_fact_id_t id;
  json_t *o = json_object();
  if (m->key && oc_key_decode(m->key, m->key_len, &id, NULL) == 0) {
    put_id(o, &id);
    return o;
  }
  char *hex = malloc(m->key_len * 2 + 1);
  if (hex) {
    for (size_t i = 0; i < m->key_len; i++)
      snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)m->key)[i]);
    hex[m->key_len * 2] = '\0';
    json_object_set_new(o, "hex", m->key ? json_string(hex) : json_null());
    free(hex);
  }
  return o;
}

static json_t *value_json(const oc_observation_t *obs) {
  char ts[32];
  json_t *o = json_object();
  put_id(o, &obs->id);
  json_object_set_new(o, "value", json_real(obs->value));
  json_object_set_new(o, "numerator", obs->has_numerator ? json_real(obs->numerator) : json_null());
  json_object_set_new(o, "denominator",
                      obs->has_denominator ? json_real(obs->denominator) : json_null());
  json_object_set_new(o, "source", text_json(obs->source));
  oc_timestamp_format(obs->observed_at, ts);
  json_object_set_new(o, "observed_at", json_string(ts));
  return o;
}

/* One record as one line. 0, or a failure of the system (the registry):
 * a record that does not decode is a line with "error". */
static int cat_one(oc_replay_t *r, oc_obs_codec_t *codec, const rd_kafka_message_t *m,
                   int64_t *n_errors, oc_err_t *err) {
  rd_kafka_timestamp_type_t tt;
  int64_t ts = rd_kafka_message_timestamp(m, &tt);
  json_t *o = json_object();
  oc_observation_t obs;
  oc_obs_frame_t frame;
  oc_err_t why;
  int rc = 0;

  if (!o)
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  json_object_set_new(o, "topic", json_string(rd_kafka_topic_name(m->rkt)));
  json_object_set_new(o, "partition", json_integer(m->partition));
  json_object_set_new(o, "offset", json_integer(m->offset));
  json_object_set_new(o, "timestamp", ts >= 0 ? json_integer(ts) : json_null());
  json_object_set_new(o, "key", key_json(m));
  oc_err_clear(&why);
  if (!m->payload) {
    json_object_set_new(o, "value", json_null());
  } else if (oc_obs_frame_read(m->payload, m->len, &frame, &why) != 0) {
    json_object_set_new(o, "error", text_json(why.msg));
    (*n_errors)++;
  } else {
    char fp[17];
    json_object_set_new(
        o, "format",
        json_string(frame.format == OC_VALUE_CONFLUENT ? "confluent" : "single-object"));
    if (frame.format == OC_VALUE_CONFLUENT) {
      json_object_set_new(o, "schema_id", json_integer(frame.schema_id));
    } else {
      snprintf(fp, sizeof(fp), "%016" PRIx64, frame.fingerprint);
      json_object_set_new(o, "fingerprint", json_string(fp));
    }
    rc = oc_obs_decode(codec, m->payload, m->len, &obs, &why);
    if (rc == 0) {
      json_object_set_new(o, "value", value_json(&obs));
    } else if (oc_err_is_data(rc) || !why.retriable) {
      json_object_set_new(o, "error", text_json(why.msg));
      (*n_errors)++;
      rc = 0;
    } else {
      *err = why;
    }
  }
  if (rc == 0) {
    char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!line) {
      rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    } else {
      if (r->out)
        r->out(r->opaque, line);
      free(line);
    }
  }
  json_decref(o);
  return rc;
}

static cat_part_t *find_part(cat_part_t *p, size_t n, int32_t partition) {
  for (size_t i = 0; i < n; i++)
    if (p[i].range.partition == partition)
      return &p[i];
  return NULL;
}

int oc_replay_cat(oc_replay_t *r, const oc_cat_opts_t *o, oc_err_t *err) {
  oc_obs_codec_t *codec = NULL;
  oc_schema_ids_t *ids = NULL;
  oc_replay_range_t *ranges = NULL;
  cat_part_t *p = NULL;
  rd_kafka_t *c = NULL;
  rd_kafka_topic_partition_list_t *assign = NULL;
  size_t n = 0, left = 0;
  int64_t printed = 0, n_errors = 0;
  int rc;

  if ((rc = oc_obs_codec_new(oc_config_get_str(r->cfg, "schema.dir"), &codec, err)) != 0 ||
      (rc = oc_schema_ids_setup(r->cfg, codec, NULL, &ids, err)) != 0 ||
      (rc = oc_replay_plan_span(r, o->topic, &o->span, &ranges, &n, err)) != 0)
    goto out;
  if (!(p = calloc(n ? n : 1, sizeof(*p)))) {
    rc = oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    goto out;
  }
  assign = rd_kafka_topic_partition_list_new((int)(n ? n : 1));
  for (size_t i = 0; i < n; i++) {
    p[i].range = ranges[i];
    p[i].done = ranges[i].start >= ranges[i].end;
    if (!p[i].done) {
      rd_kafka_topic_partition_list_add(assign, o->topic, ranges[i].partition)->offset =
          ranges[i].start;
      left++;
    }
  }
  if (left == 0)
    goto out;
  if ((rc = oc_replay_consumer(r, CAT_GROUP, &c, err)) != 0)
    goto out;
  rd_kafka_resp_err_t e = rd_kafka_assign(c, assign);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rc = oc_kafka_err(err, e, "assign");
    goto out;
  }
  while (left > 0 && !oc_replay_stopping(r) && (o->max_records == 0 || printed < o->max_records)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
    if (!m)
      continue;
    cat_part_t *q = m->rkt ? find_part(p, n, m->partition) : NULL;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (q && !q->done && m->offset >= q->range.end) {
        q->done = true;
        left--;
      }
    } else if (m->err) {
      rc = oc_kafka_err(err, m->err, "consume");
      if (err)
        oc_err_prefix(err, "%s [%" PRId32 "]: ", o->topic, m->partition);
    } else if (q && !q->done && m->offset < q->range.end) {
      if ((rc = cat_one(r, codec, m, &n_errors, err)) == 0)
        printed++;
      else if (err)
        oc_err_prefix(err, "%s [%" PRId32 "] offset %" PRId64 ": ", o->topic, m->partition,
                      m->offset);
      if (m->offset + 1 >= q->range.end) {
        q->done = true;
        left--;
      }
    }
    rd_kafka_message_destroy(m);
    if (rc != 0)
      break;
  }
  if (rc == 0 && left > 0 && oc_replay_stopping(r))
    rc = oc_err_set(err, OC_ERR_IO, "stopped on request after %" PRId64 " records", printed);
out:
  oc_log_info("cat topic=%s records=%" PRId64 " undecodable=%" PRId64, o->topic, printed, n_errors);
  if (assign)
    rd_kafka_topic_partition_list_destroy(assign);
  if (c) {
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
  }
  oc_schema_ids_destroy(ids);
  oc_obs_codec_destroy(codec);
  free(ranges);
  free(p);
  return rc;
}
