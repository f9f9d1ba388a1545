/*
 * gen.h - a seeded, deterministic generator of synthetic observations for
 * tests and benchmarks (tools/outcomes-gen).
 *
 * Shape. Fact identities are enumerated period by period: for each period
 * index k, each grain, each org, each facility slot (the org-level slot
 * first when asked for) and each metric. Every identity gets a base version
 * and, each with its own probability (a share of identities, decided by a
 * PRNG seeded from the seed and the identity's index):
 *
 *   restatements  1 to 3 later versions (later observed_at, new value)
 *   ties          a version with the same observed_at as the final one and
 *                 another value, later in the stream: it wins by offset
 *   late          an older version (observed_at before the base) arriving
 *                 after the final one: it must end stale
 *   duplicates    an exact copy of one version, later in the stream
 *   invalid       one invalid row (unknown metric, out of range, misaligned
 *                 period, ratio without numerator/denominator, ratio
 *                 inconsistent, bad id), never part of any fact
 *   tombstones    the identity is retracted after the whole stream
 *
 * Rows of one identity are spread over a window of the identities that
 * follow it (at most OC_GEN_WINDOW), so the stream is interleaved yet built
 * in constant memory whatever its length.
 *
 * Expected facts. The final version of an identity is decided when its
 * plan is drawn, by a rule independent of the stream order: the tie when
 * there is one, else the last restatement, else the base (versions of one
 * identity get strictly increasing observed_at, the late one the smallest,
 * and the tie is placed after the version it ties with). A retracted
 * identity has no fact. Publishing the stream in file order, then the
 * retractions, and applying docs/design.md §4 (last writer wins by
 * observed_at, then offset) must leave exactly the expected facts.
 *
 * Files written by oc_gen_write_dir() into a directory D:
 *   D/stream.csv or D/stream.jsonl  every row, in publish order; header
 *       org_id,facility_id,metric,grain,period_start,value,numerator,
 *       denominator,source,observed_at (the producer's input format;
 *       empty facility_id = org level; empty numerator/denominator =
 *       absent; JSON Lines omit absent fields)
 *   D/retract.csv        org_id,facility_id,metric,grain,period_start: the
 *       identities to retract (tombstones), to publish after the stream
 *   D/expected_facts.csv the standing facts, one row per identity, in the
 *       stream's columns (so it can itself be published)
 *   D/expected_invalid.csv  row,line,field,code,message: each invalid row
 *       of the stream (row = 1-based data row, line = line in the stream
 *       file), the field it must be rejected for, the dead-letter code
 *       (oc_err_code_name) and oc_observation_validate()'s message (a
 *       reader may word its own checks differently: the producer says
 *       "org_id: missing" for an empty CSV field; compare line, field and
 *       code)
 *   D/manifest.txt       key=value: the options, the counts, the order
 */
#ifndef OUTCOMES_GEN_H
#define OUTCOMES_GEN_H

#include <stdint.h>
#include <stdio.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows of one identity appear within this many identities of its own. */
#define OC_GEN_WINDOW 256

typedef enum oc_gen_format_e {
  OC_GEN_CSV = 0,
  OC_GEN_JSONL = 1,
} oc_gen_format_t;

/* The kinds of invalid rows, each with the dead-letter code it must get. */
typedef enum oc_gen_invalid_e {
  OC_GEN_INVALID_UNKNOWN_METRIC = 0, /* OC_ERR_UNKNOWN_METRIC, field metric */
  OC_GEN_INVALID_RANGE = 1,          /* OC_ERR_RANGE, field value */
  OC_GEN_INVALID_MISALIGNED = 2,     /* OC_ERR_MISALIGNED, field period_start */
  OC_GEN_INVALID_RATIO_MISSING = 3,  /* OC_ERR_RATIO_MISSING, numerator or denominator */
  OC_GEN_INVALID_RATIO_MISMATCH = 4, /* OC_ERR_RATIO_MISMATCH, field value */
  OC_GEN_INVALID_BAD_ID = 5,         /* OC_ERR_BAD_FIELD, org_id or facility_id */
} oc_gen_invalid_t;
#define OC_GEN_INVALID_KINDS 6

/* The metric code used for unknown-metric rows (never in a catalog). */
#define OC_GEN_UNKNOWN_METRIC "zz_no_such_metric"

typedef struct oc_gen_opts_s {
  uint64_t seed;
  unsigned orgs;       /* ids org-000001 ..; default 3 */
  unsigned facilities; /* per org, ids org-000001-f01 ..; default 2 */
  int org_level;       /* non-zero: also org-level facts (empty facility_id) */
  const char *metrics; /* borrowed: comma-separated codes; NULL = the whole catalog */
  unsigned grains;     /* bit mask of 1u << oc_grain_t; 0 = MONTH only */
  oc_date_t start;     /* first period, floored to each grain; default 2023-01-01 */
  unsigned periods;    /* periods per grain; default 12 */
  uint64_t rows;       /* when > 0: choose orgs so the stream has about this many rows */
  /* Shares of identities, each in [0, 1]. */
  double duplicates, restatements, late, ties, tombstones, invalid;
  oc_gen_format_t format;
} oc_gen_opts_t;

typedef struct oc_gen_stats_s {
  uint64_t identities;   /* fact identities generated */
  uint64_t rows;         /* rows in the stream, valid and invalid */
  uint64_t restated;     /* identities with at least one restatement */
  uint64_t restatements; /* restatement rows */
  uint64_t ties;         /* tie rows (same observed_at, later offset) */
  uint64_t late;         /* late older rows */
  uint64_t duplicates;   /* exact duplicate rows */
  uint64_t invalid;      /* invalid rows */
  uint64_t invalid_by_kind[OC_GEN_INVALID_KINDS];
  uint64_t tombstones; /* retracted identities */
  uint64_t facts;      /* expected standing facts */
} oc_gen_stats_t;

/* Where oc_gen_run() writes; every stream is borrowed and left open. Only
 * stream is required; a NULL one is not written. */
typedef struct oc_gen_sinks_s {
  FILE *stream;
  FILE *retract;
  FILE *facts;
  FILE *invalid;
} oc_gen_sinks_t;

/* Fill opts with the defaults above (seed 1, every share 0, CSV). */
void oc_gen_opts_init(oc_gen_opts_t *opts);

/* Parse "day,week,month" (any case) into a grain mask. OC_ERR_USAGE on an
 * unknown or empty name. */
int oc_gen_parse_grains(const char *list, unsigned *mask_out, oc_err_t *err);

/* Name of an invalid kind ("unknown_metric", ...), for reports. */
const char *oc_gen_invalid_name(oc_gen_invalid_t kind);

/* Check opts against cat (metrics known, shares in [0,1], periods within
 * 0001..9999) and work out the org count when opts->rows is set. On
 * success *orgs_out (may be NULL) gets the number of orgs a run will
 * generate. Errors are OC_ERR_USAGE. */
int oc_gen_check(const oc_gen_opts_t *opts, const oc_catalog_t *cat, unsigned *orgs_out,
                 oc_err_t *err);

/* Generate into sinks. opts, cat and sinks are borrowed; stats (may be NULL)
 * is filled. Memory stays bounded by OC_GEN_WINDOW whatever the size.
 * Errors: OC_ERR_USAGE (bad options), OC_ERR_IO (a write failed),
 * OC_ERR_NOMEM, OC_ERR_INTERNAL (an invalid row did not fail validation
 * with its intended code, or a valid one failed). */
int oc_gen_run(const oc_gen_opts_t *opts, const oc_catalog_t *cat, const oc_gen_sinks_t *sinks,
               oc_gen_stats_t *stats, oc_err_t *err);

/* Generate the files listed at the top of this header into dir, which must
 * exist. Errors as oc_gen_run, with the path in the message. */
int oc_gen_write_dir(const oc_gen_opts_t *opts, const oc_catalog_t *cat, const char *dir,
                     oc_gen_stats_t *stats, oc_err_t *err);

#ifdef __cplusplus
}
#endif
#endif
