/* gen_internal.h - shared by lib/gen.c and lib/gen_out.c; not installed. */
#ifndef OC_GEN_INTERNAL_H
#define OC_GEN_INTERNAL_H

#include <stdio.h>

#include "outcomes/gen.h"
#include "outcomes/record.h"

#define NUM_MAX 32 /* room for a number from oc_gen_fmt_num() */

#define OC_GEN_CSV_HEADER \
  "org_id,facility_id,metric,grain,period_start,value,numerator,denominator,source," \
  "observed_at\n"

/* The shortest decimal that reads back as exactly v; returns buf. */
const char *oc_gen_fmt_num(double v, char buf[NUM_MAX]);

/* Write s as one CSV field, quoted only when it must be (RFC 4180). */
void oc_gen_put_csv(FILE *f, const char *s);

/* org_id,facility_id,metric,GRAIN,YYYY-MM-DD (no newline). */
void oc_gen_write_csv_identity(FILE *f, const oc_fact_id_t *id);

/* One row in the producer's CSV columns, or as a JSON Lines object
 * (absent fields omitted), with its newline. */
void oc_gen_write_csv_row(FILE *f, const oc_observation_t *obs);
void oc_gen_write_jsonl_row(FILE *f, const oc_observation_t *obs);

#endif
