/* test_fhir.c - HL7 FHIR R4 MeasureReports into observations: the HL7
 * specification's and the Da Vinci DEQM guide's own examples
 * (tests/data/fhir), Bundles, NDJSON, the period, unit and population
 * rules, and each rejection with its FHIR path. */
#include "testutil.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/date.h"
#include "outcomes/fhir.h"
#include "outcomes/input.h"

static oc_catalog_t *cat;
static const oc_timestamp_t run_start = INT64_C(1711929600000000); /* 2024-04-01Z */

/* Metrics for the measures of the examples, and a few of this test's own. */
static const char catalog_tsv[] =
    "code\tname\tunit\tkind\tdirection\tmin\tmax\tmeasure_url\n"
    "prev_linear\tPreventive care, linear composite\t1\tratio\thigher_is_better\t0\t1\t"
    "http://hl7.org/fhir/uv/cqm/Measure/PreventiveCareandWellnessPatientLevelLinearComposite\n"
    "prev_weighted\tPreventive care, weighted composite\t1\tratio\thigher_is_better\t0\t1\t"
    "http://hl7.org/fhir/uv/cqm/Measure/PreventiveCareandWellnessWeightedComposite\n"
    "alara_ct\tCT dose\t1\tratio\tlower_is_better\t0\t1\t"
    "http://example.org/fhir/Measure/AlaraCTFHIRMeasure\n"
    "mrp\tMedication reconciliation\t1\tratio\thigher_is_better\t0\t1\t"
    "http://hl7.org/fhir/uv/deqm/Measure/measure-mrp-example\n"
    "exm130\tColorectal cancer screening\t1\tratio\thigher_is_better\t0\t1\t"
    "http://hl7.org/fhir/uv/cqm/Measure/EXM130-FHIR\n"
    "power_outage\tDays since the last power outage\td\tgauge\tlower_is_better\t0\t100000\t"
    "http://hl7.org/fhir/uv/deqm/Measure/date-of-last-power-outage\n"
    "attestation\tAttestation\t1\tgauge\thigher_is_better\t0\t1\t"
    "http://hl7.org/fhir/uv/deqm/Measure/attestation-boolean-example\n"
    "readmission_rate_30d\t30-day readmission rate\t1\tratio\tlower_is_better\t0\t1\t"
    "http://example.org/fhir/Measure/readmission-rate-30d\n"
    "ed_visits_per_member\tED visits per member\t1\tratio\tlower_is_better\t0\t50\t"
    "http://example.org/fhir/Measure/ed-visits-per-member\n"
    "ed_los_median\tMedian ED length of stay\tmin\tgauge\tlower_is_better\t0\t10000\t"
    "http://example.org/fhir/Measure/ed-length-of-stay\n"
    "cpoe_rate\tCPOE rate\t1\tratio\thigher_is_better\t0\t1\t"
    "http://example.org/fhir/Measure/quality#cpoe\n"
    "portal_rate\tPortal enrollment rate\t1\tratio\thigher_is_better\t0\t1\t"
    "http://example.org/fhir/Measure/quality#portal\n"
    "er_visits\tEmergency room visits\t{count}\tcount\tlower_is_better\t0\t1e9\t"
    "http://example.org/fhir/Measure/er-visits\n";

static int setup(void **state) {
  (void)state;
  oc_err_t err;
  if (oc_catalog_parse(catalog_tsv, strlen(catalog_tsv), "test", &cat, &err) < 0)
    fail_msg("catalog: %s", err.msg);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  oc_catalog_destroy(cat);
  return 0;
}

static const char *run_text(const char *text, oc_input_format_t fmt) {
  char *copy = strdup(text);
  FILE *f = fmemopen(copy, strlen(text), "rb");
  assert_non_null(f);
  const char *out = oc_test_input_describe(f, fmt, 0, cat, run_start);
  fclose(f);
  free(copy);
  return out;
}

static const char *run_file(const char *rel) {
  FILE *f = fopen(oc_test_data_path(rel), "rb");
  assert_non_null(f);
  const char *out = oc_test_input_describe(f, OC_INPUT_FHIR, 0, cat, run_start);
  fclose(f);
  return out;
}

/* The vendored examples: what each yields, or why it is rejected. */
static void test_hl7_examples(void **state) {
  (void)state;
  static const char *const individual =
      "is not 'summary': individual, subject-list and data-collection reports carry patient "
      "data, which is never taken\n";
  static const char *const strata =
      ".stratifier: a stratified report: strata are not supported yet (docs/fhir.md)\n";
  static const char *const not_a_month =
      " is 32 days (the end is inclusive), not one whole day, ISO week, month, quarter or year\n";
  static const struct {
    const char *file, *want1, *want2, *want3;
  } cases[] = {
      {"r4/MeasureReport-measurereport-cms146-cat1-example.json",
       "1: MeasureReport.type: 'individual' ", individual, ""},
      {"r4/MeasureReport-measurereport-cms146-cat2-example.json",
       "1: MeasureReport.type: 'subject-list' ", individual, ""},
      {"r4/MeasureReport-measurereport-cms146-cat3-example.json", "1: MeasureReport.group[0]",
       strata, ""},
      {"r4/MeasureReport-hiv-indicators.json", "1: MeasureReport.group[0]", strata, ""},
      {"deqm/MeasureReport-summary-measurereport-patient-level-linear.json",
       "1: ok organization01||prev_linear|MONTH|2022-08-01 1 2 2 "
       "MeasureReport/summary-measurereport-patient-level-linear 2023-03-01T00:00:00.000000Z\n",
       "", ""},
      {"deqm/MeasureReport-summary-measurereport-weighted-composite.json",
       "1: ok organization01||prev_weighted|MONTH|2022-08-01 1 2 2 "
       "MeasureReport/summary-measurereport-weighted-composite 2023-03-01T00:00:00.000000Z\n",
       "", ""},
      /* (20 - 5 numerator-exclusion) / (50 - 10 denominator-exclusion) */
      {"deqm/MeasureReport-summ-contained-supplemental.json",
       "1: MeasureReport.group[0].measureScore: 0.6 is not numerator/denominator (0.375)\n", "",
       ""},
      {"deqm/MeasureReport-summ-measurereport01.json",
       "1: MeasureReport.period: 2018-08-01..2018-09-01", not_a_month, ""},
      {"deqm/MeasureReport-summ-measurereport02.json",
       "1: MeasureReport.period: 2019-08-01..2019-09-01", not_a_month, ""},
      {"deqm/MeasureReport-ratio-measurereport01.json", "1: MeasureReport.type: 'individual' ",
       individual, ""},
      {"deqm/MeasureReport-date-of-last-power-outage.json",
       "1: MeasureReport.period: 2018-07-07..2020-07-07 is 732 days (the end is inclusive), not "
       "one whole day, ISO week, month, quarter or year\n",
       "", ""},
      {"deqm/MeasureReport-attestation-boolean.json",
       "1: MeasureReport.group[0].measureScore: no value\n", "", ""},
      {"deqm/MeasureReport-datax-measurereport01.json", "1: MeasureReport.type: 'data-collection' ",
       individual, ""},
      {"deqm/MeasureReport-subjectlist-measurereport01.json",
       "1: MeasureReport.type: 'subject-list' ", individual, ""},
      /* A transaction Bundle: the CodeSystem and Organization entries are
       * context; the reporter of entries 3 and 4 is the Organization entry
       * (urn:uuid), resolved before the period rejects them. */
      {"deqm/Bundle-multiple-summ-report.json", "1: Bundle.entry[1].resource.group[0]", strata,
       "1: Bundle.entry[3].resource.period: 2019-08-01..2019-09-01 is 32 days (the end is "
       "inclusive), not one whole day, ISO week, month, quarter or year\n"
       "1: Bundle.entry[4].resource.period: 2018-08-01..2018-09-01 is 32 days (the end is "
       "inclusive), not one whole day, ISO week, month, quarter or year\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char rel[160], want[1024];
    snprintf(rel, sizeof(rel), "fhir/%s", cases[i].file);
    snprintf(want, sizeof(want), "%s%s%s", cases[i].want1, cases[i].want2, cases[i].want3);
    assert_string_equal(run_file(rel), want);
  }
}

/* Text with ' for " (JSON is easier to read that way in C). */
static const char *q2(const char *s) {
  static char buf[65536];
  size_t n = strlen(s);
  assert_true(n < sizeof(buf));
  for (size_t i = 0; i <= n; i++)
    buf[i] = s[i] == '\'' ? '"' : s[i];
  return buf;
}

#define HEAD \
  "{'resourceType':'MeasureReport','id':'r1','status':'complete','type':'summary'," \
  "'reporter':{'reference':'Organization/coastal'},'date':'2024-02-03T06:28:00Z',"
#define READM "'measure':'http://example.org/fhir/Measure/readmission-rate-30d|1.0.0',"
#define JAN "'period':{'start':'2024-01-01','end':'2024-01-31'},"
#define POP(code, n) \
  "{'code':{'coding':[{'system':'http://terminology.hl7.org/CodeSystem/measure-population'," \
  "'code':'" code "'}]},'count':" #n "}"
#define OBS " 2024-02-03T06:28:00.000000Z"

/* Proportion, ratio and continuous-variable measures; units. */
static void test_scores(void **state) {
  (void)state;
  const char *text =
      /* 1: a proportion with its score */
      HEAD READM JAN "'group':[{'population':[" POP("initial-population", 40) "," POP(
          "denominator", 40) "," POP("numerator", 5) "],'measureScore':{'value':0.125}}]}\n"
      /* 2: without a score: numerator / (denominator - exclusions - exceptions) */
      HEAD READM JAN "'group':[{'population':[" POP("denominator", 100) "," POP(
          "denominator-exclusion", 6) "," POP("denominator-exception", 4) "," POP("numerator",
                                                                                  60) "]}]}\n"
      /* 3: the score in %, UCUM's 1/100 */
      HEAD READM JAN "'group':[{'population':[" POP("denominator", 40) "," POP(
          "numerator", 5) "],'measureScore':{'value':12.5,'unit':'%',"
                          "'system':'http://unitsofmeasure.org','code':'%'}}]}\n"
      /* 4: a unit that is not the catalog's */
      HEAD READM JAN "'group':[{'population':[" POP("denominator", 40) "," POP(
          "numerator",
          5) "],'measureScore':{'value':12.5,'unit':'mg',"
             "'system':'http://unitsofmeasure.org','code':'mg'}}]}\n"
      /* 5: continuous variable: the score is the figure */
      HEAD "'measure':'http://example.org/fhir/Measure/ed-length-of-stay'," JAN
             "'group':[{'population':[" POP(
                 "measure-population",
                 412) "],'measureScore':{"
                      "'value':187.5,'system':'http://unitsofmeasure.org','code':'min'}}]}\n"
      /* 6: continuous variable in another unit */
      HEAD "'measure':'http://example.org/fhir/Measure/ed-length-of-stay'," JAN
                      "'group':[{'measureScore':{'value':3.1,'system':'http://unitsofmeasure.org',"
                      "'code':'h'}}]}\n"
      /* 7: ratio: ED visits per member, above 1 */
      HEAD "'measure':'http://example.org/fhir/Measure/ed-visits-per-member'," JAN
                      "'group':[{'population':[" POP("denominator", 1000) "," POP(
                          "numerator", 1250) "],'measureScore':{'value':1.25}}]}\n"
      /* 8: a score that is not numerator / denominator */
      HEAD READM JAN "'group':[{'population':[" POP("denominator", 40) "," POP(
          "numerator", 5) "],'measureScore':{'value':0.2}}]}\n"
      /* 9: a ratio metric without a numerator */
      HEAD READM JAN "'group':[{'population':[" POP("denominator", 40) "]}]}\n"
      /* 10: no score, and nothing left in the denominator */
      HEAD READM JAN "'group':[{'population':[" POP("denominator", 4) "," POP(
          "denominator-exclusion", 4) "," POP("numerator", 0) "]}]}\n"
      /* 11: a count that is no integer */
      HEAD READM JAN "'group':[{'population':[" POP("denominator", 40) "," POP(
          "numerator", 2.5) "]}]}\n"
      /* 12: a continuous-variable metric without a score */
      HEAD "'measure':'http://example.org/fhir/Measure/ed-length-of-stay'," JAN
                            "'group':[{'population':[" POP(
                                "measure-population",
                                412) "]}]}\n"
      /* 13: a score outside the metric's range */
      HEAD "'measure':'http://example.org/fhir/Measure/ed-length-of-stay'," JAN
                                     "'group':[{'measureScore':{'value':20000}}]}\n"
      /* 14: a cohort: the count of its initial population */
      HEAD "'measure':'http://example.org/fhir/Measure/er-visits'," JAN
                                     "'group':[{'population':[" POP("initial-population",
                                                                    5211) "]}]}\n";
  assert_string_equal(
      run_text(q2(text), OC_INPUT_FHIR),
      "1: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/r1" OBS "\n"
      "2: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.66666666666666663 60 90 "
      "MeasureReport/r1" OBS "\n"
      "3: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/r1" OBS "\n"
      "4: MeasureReport.group[0].measureScore: unit 'mg' is not the catalog's '1'\n"
      "5: ok coastal||ed_los_median|MONTH|2024-01-01 187.5 - - MeasureReport/r1" OBS "\n"
      "6: MeasureReport.group[0].measureScore: unit 'h' is not the catalog's 'min'\n"
      "7: ok coastal||ed_visits_per_member|MONTH|2024-01-01 1.25 1250 1000 MeasureReport/r1" OBS
      "\n"
      "8: MeasureReport.group[0].measureScore: 0.2 is not numerator/denominator (0.125)\n"
      "9: MeasureReport.group[0]: no 'numerator' population count, which ratio metric "
      "'readmission_rate_30d' needs\n"
      "10: MeasureReport.group[0]: no measureScore, and the denominator after exclusions is 0\n"
      "11: MeasureReport.group[0].population[1]: count must be a non-negative integer\n"
      "12: MeasureReport.group[0]: no measureScore: gauge metric 'ed_los_median' takes its value "
      "from it\n"
      "13: MeasureReport.group[0].measureScore: 20000 outside [0, 10000] for metric "
      "'ed_los_median'\n"
      "14: ok coastal||er_visits|MONTH|2024-01-01 5211 - - MeasureReport/r1" OBS "\n");
}

#define MR(fields) \
  "{'resourceType':'MeasureReport','status':'complete','type':'summary'," fields \
  "'language':'en','group':[{'population':[" POP("denominator", 40) "," POP("numerator", \
                                                                            5) "]}]}\n"
#define ORG "'reporter':{'reference':'Organization/coastal'},"

/* Who, which measure, which report: reporter, subject, measure, groups,
 * source, observed_at, status and type. */
static void test_identity(void **state) {
  (void)state;
  const char *text =
      /* 1: the subject a Location: a facility; source from the id */
      MR("'id':'a'," ORG READM JAN "'subject':{'reference':'Location/ccc-north'},")
      /* 2: the subject the reporter: an org-level figure; version ignored */
      MR("'id':'b'," ORG READM JAN "'subject':{'reference':'Organization/coastal'},")
      /* 3: the subject another Organization: a facility */
      MR("'id':'c'," ORG READM JAN "'subject':{'reference':'Organization/ccc-south'},")
      /* 4: a Patient is never a facility */
      MR("'id':'d'," ORG READM JAN "'subject':{'reference':'Patient/p1'},")
      /* 5: an absolute reference with a version; meta.lastUpdated before date */
      MR("'id':'e','reporter':{'reference':'https://fhir.example.org/r4/Organization/coastal/"
         "_history/3'}," READM JAN
         "'meta':{'lastUpdated':'2024-02-05T10:00:00.5+01:00'},'date':'2024-02-03',")
      /* 6: the reporter by identifier; the source from the identifier */
      MR("'identifier':[{'system':'urn:oid:2.16.840.1.113883.4.4','value':'987'}],"
         "'reporter':{'type':'Organization','identifier':{'value':'coastal'}}," READM JAN)
      /* 7: no reporter */
      MR("'id':'g'," READM JAN)
      /* 8: a Practitioner is no Organization */
      MR("'id':'h','reporter':{'reference':'Practitioner/dr-who'}," READM JAN)
      /* 9: a contained reporter without an identifier */
      MR("'id':'i','contained':[{'resourceType':'Organization','id':'rep','name':'Good Health'}],"
         "'reporter':{'reference':'#rep'}," READM JAN)
      /* 10: an unknown measure */
      MR("'id':'j'," ORG "'measure':'http://example.org/fhir/Measure/nope'," JAN)
      /* 11: not complete */
      "{'resourceType':'MeasureReport','id':'k','status':'pending','type':'summary'}\n"
      /* 12: a modifier extension */
      "{'resourceType':'MeasureReport','id':'l','status':'complete','type':'summary',"
      "'modifierExtension':[{'url':'http://example.org/x','valueBoolean':true}]}\n"
      /* 13: no id and no identifier */
      MR(ORG READM JAN)
      /* 14: two groups, each mapped by '<measure>#<group code>' */
      "{'resourceType':'MeasureReport','id':'m','status':'complete','type':'summary'," ORG JAN
      "'measure':'http://example.org/fhir/Measure/quality','group':["
      "{'code':{'coding':[{'code':'cpoe'}]},'population':[" POP("denominator", 200) "," POP(
          "numerator", 199) "]},"
                            "{'id':'portal','population':[" POP("denominator", 50) "," POP(
                                "numerator", 10) "]}]}\n"
                                                 /* 15: two groups, one without a mapping */
                                                 "{'resourceType':'MeasureReport','id':'n',"
                                                 "'status':'complete','type':'summary'," ORG JAN
                                                 "'measure':'http://example.org/fhir/Measure/"
                                                 "quality','group':["
                                                 "{'code':{'coding':[{'code':'cpoe'}]},"
                                                 "'population':[" POP("denominator", 200) "," POP(
                                                     "numerator", 199) "]},"
                                                                       "{'code':{'coding':[{"
                                                                       "'code':'other'}]}}]}\n";
  assert_string_equal(
      run_text(q2(text), OC_INPUT_FHIR),
      "1: ok coastal|ccc-north|readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/a "
      "2024-04-01T00:00:00.000000Z\n"
      "2: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/b "
      "2024-04-01T00:00:00.000000Z\n"
      "3: ok coastal|ccc-south|readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/c "
      "2024-04-01T00:00:00.000000Z\n"
      "4: MeasureReport.subject: a Patient is not a facility: a summary of a Location or an "
      "Organization only\n"
      "5: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/e "
      "2024-02-05T09:00:00.500000Z\n"
      "6: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 "
      "urn:oid:2.16.840.1.113883.4.4|987 2024-04-01T00:00:00.000000Z\n"
      "7: MeasureReport.reporter: missing: the Organization the figure is of\n"
      "8: MeasureReport.reporter: a Practitioner is not an Organization\n"
      "9: MeasureReport.reporter: the contained Organization 'rep' has no identifier.value to "
      "name it\n"
      "10: MeasureReport.measure: unknown measure 'http://example.org/fhir/Measure/nope': no "
      "catalog metric has this measure_url\n"
      "11: MeasureReport.status: 'pending' is not 'complete'\n"
      "12: MeasureReport.modifierExtension: present: a modifier extension changes the meaning "
      "of the report\n"
      "13: MeasureReport.id: missing, and no identifier.value: no source to name\n"
      "14: ok coastal||cpoe_rate|MONTH|2024-01-01 0.995 199 200 MeasureReport/m "
      "2024-04-01T00:00:00.000000Z\n"
      "14: ok coastal||portal_rate|MONTH|2024-01-01 0.20000000000000001 10 50 MeasureReport/m "
      "2024-04-01T00:00:00.000000Z\n"
      "15: MeasureReport.group[1]: no catalog metric has measure_url "
      "'http://example.org/fhir/Measure/quality#other': each group of a report of several "
      "needs one\n");
}

/* One whole day, ISO week, month, quarter or year, in the report's offset. */
static void test_periods(void **state) {
  (void)state;
  static const struct {
    const char *start, *end, *want;
  } cases[] = {
      {"2024-02-29", "2024-02-29", "DAY 2024-02-29"},
      {"2024-03-04", "2024-03-10", "WEEK 2024-03-04"},
      {"2024-12-30", "2025-01-05", "WEEK 2024-12-30"},
      {"2024-02", "2024-02", "MONTH 2024-02-01"},
      {"2024-02-01", "2024-02-29", "MONTH 2024-02-01"},
      {"2024-04", "2024-06", "QUARTER 2024-04-01"},
      {"2024", "2024", "YEAR 2024-01-01"},
      {"2024-01-01", "2024-12-31", "YEAR 2024-01-01"},
      {"2024-03-01T00:00:00+01:00", "2024-03-31T23:59:59.999+01:00", "MONTH 2024-03-01"},
      {"2024-03-01T00:00:00Z", "2024-03-01T23:59:59Z", "DAY 2024-03-01"},
      {"2024-03-01", "2024-03-31T23:59:59-05:00", "MONTH 2024-03-01"},
      {"2024-03-01T00:00:00+01:00", "2024-03-31T23:59:59Z",
       "period: 2024-03-01T00:00:00+01:00 and 2024-03-31T23:59:59Z are in different offsets"},
      {"2024-03-01", "2024-04-01T00:00:00Z",
       "period.end: 2024-04-01T00:00:00Z does not end a day (the end is inclusive: 23:59:59)"},
      {"2024-03-01T06:00:00Z", "2024-03-31",
       "period.start: 2024-03-01T06:00:00Z does not begin a day"},
      {"2024-03-05", "2024-03-11",
       "period: 2024-03-05..2024-03-11 is 7 days (the end is inclusive), not one whole day, ISO "
       "week, month, quarter or year"},
      {"2024-02", "2024-03",
       "period: 2024-02..2024-03 is 2024-02-01..2024-03-31, 60 days, not one whole day, ISO "
       "week, month, quarter or year"},
      {"2024-03-31", "2024-03-01", "period: 2024-03-31..2024-03-01 ends before it starts"},
      {"2024-02-30", "2024-03-01", "period.start: '2024-02-30' is not a FHIR date or dateTime"},
      {"2024-03-01T00:00:00", "2024-03-01",
       "period.start: '2024-03-01T00:00:00' is not a FHIR date or dateTime"},
      {NULL, "2024-03-01",
       "period.start: missing: a report covers one whole day, ISO week, "
       "month, quarter or year"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    oc_grain_t g;
    oc_date_t d;
    oc_err_t err;
    char got[OC_ERR_MSG_MAX], ds[11];
    if (oc_fhir_period(cases[i].start, cases[i].end, &g, &d, &err) == 0) {
      oc_date_format(d, ds);
      snprintf(got, sizeof(got), "%s %s", oc_grain_name(g), ds);
    } else {
      snprintf(got, sizeof(got), "%s", err.msg);
    }
    assert_string_equal(got, cases[i].want);
  }
}

/* Documents, Bundles and NDJSON, and telling JSON Lines from FHIR. */
static void test_documents(void **state) {
  (void)state;
  /* A pretty-printed collection Bundle: its reports take the line where
   * the document starts; the reporter is another entry, by fullUrl. */
  const char *bundle =
      "\n{\n 'resourceType': 'Bundle',\n 'type': 'collection',\n 'entry': [\n"
      "  {'fullUrl': 'urn:uuid:0f1e', 'resource': {'resourceType': 'Organization',\n"
      "    'identifier': [{'value': 'coastal'}]}},\n"
      "  {'resource': " MR(
          "'id':'x1','reporter':{'reference':'urn:uuid:0f1e'}," READM
              JAN) "},\n"
                   "  {'resource': " MR(
                       "'id':'x2','reporter':{'reference':'urn:uuid:nope'}," READM JAN) "}\n"
                                                                                        " ]\n}\n";
  assert_string_equal(
      run_text(q2(bundle), OC_INPUT_FHIR),
      "2: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/x1 "
      "2024-04-01T00:00:00.000000Z\n"
      "2: Bundle.entry[2].resource.reporter: 'urn:uuid:nope' is not a Type/id reference\n");
  /* A document that is no JSON: the line of the error. */
  assert_string_equal(
      run_text("{\n \"resourceType\": \"Bundle\",\n \"type\" \"collection\"\n}\n", OC_INPUT_FHIR),
      "3: document: invalid JSON at column 20: ':' expected near '\"collection\"'\n");
  /* NDJSON: each line its own resource; a bad line does not stop the rest. */
  const char *ndjson = "{'resourceType':'Bundle','type':'document'}\n"
                       "\n"
                       "{'resourceType':'Patient','id':'p'}\n"
                       "{'resourceType':'MeasureReport',\n" MR("'id':'y'," ORG READM JAN) "{}\n";
  assert_string_equal(
      run_text(q2(ndjson), OC_INPUT_JSON_LINES_ANY),
      "1: Bundle.type: 'document' is not collection, batch, transaction or searchset\n"
      "3: resourceType: 'Patient' is not a MeasureReport or a Bundle of them\n"
      "4: row: invalid JSON at column 32: string or '}' expected near end of file\n"
      "5: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/y "
      "2024-04-01T00:00:00.000000Z\n"
      "6: resourceType: missing: not a FHIR resource\n");
  /* NDJSON whose first line is bad: that line is rejected, the rest read. */
  assert_string_equal(
      run_text(q2("{'resourceType':'MeasureReport',,}\n" MR("'id':'z'," ORG READM JAN)),
               OC_INPUT_FHIR),
      "1: row: invalid JSON at column 33: string or '}' expected near ','\n"
      "2: ok coastal||readmission_rate_30d|MONTH|2024-01-01 0.125 5 40 MeasureReport/z "
      "2024-04-01T00:00:00.000000Z\n");
  /* The same detection leaves JSON Lines of observations to their reader. */
  assert_string_equal(
      run_text("{\"org_id\":\"o\",\"metric\":\"cpoe_rate\",\"grain\":\"MONTH\",\"period_start\":"
               "\"2024-01-01\",\"value\":0.5,\"numerator\":1,\"denominator\":2,\"source\":\"s\"}\n",
               OC_INPUT_JSON_LINES_ANY),
      "1: ok o||cpoe_rate|MONTH|2024-01-01 0.5 1 2 s 2024-04-01T00:00:00.000000Z\n");
}

/* The examples as FHIR Bulk Data writes them: NDJSON, one resource per
 * line, made here from the vendored files (which stay as published). */
static void test_bulk_ndjson(void **state) {
  (void)state;
  static const char *const files[] = {
      "fhir/deqm/MeasureReport-summary-measurereport-patient-level-linear.json",
      "fhir/r4/MeasureReport-measurereport-cms146-cat1-example.json",
      "fhir/deqm/MeasureReport-summary-measurereport-weighted-composite.json",
      "fhir/deqm/MeasureReport-summ-measurereport01.json",
  };
  char *nd = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&nd, &len);
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    json_error_t jerr;
    json_t *doc = json_load_file(oc_test_data_path(files[i]), 0, &jerr);
    assert_non_null(doc);
    char *line = json_dumps(doc, JSON_COMPACT);
    fprintf(mem, "%s\n", line);
    free(line);
    json_decref(doc);
  }
  fclose(mem);
  assert_string_equal(
      run_text(nd, OC_INPUT_JSON_LINES_ANY),
      "1: ok organization01||prev_linear|MONTH|2022-08-01 1 2 2 "
      "MeasureReport/summary-measurereport-patient-level-linear 2023-03-01T00:00:00.000000Z\n"
      "2: MeasureReport.type: 'individual' is not 'summary': individual, subject-list and "
      "data-collection reports carry patient data, which is never taken\n"
      "3: ok organization01||prev_weighted|MONTH|2022-08-01 1 2 2 "
      "MeasureReport/summary-measurereport-weighted-composite 2023-03-01T00:00:00.000000Z\n"
      "4: MeasureReport.period: 2018-08-01..2018-09-01 is 32 days (the end is inclusive), not "
      "one whole day, ISO week, month, quarter or year\n");
  free(nd);
}

/* FHIR carries figures, never retractions, and maps through the catalog. */
static void test_open_refusals(void **state) {
  (void)state;
  FILE *f = fopen("/dev/null", "rb");
  assert_string_equal(oc_test_input_describe(f, OC_INPUT_FHIR, OC_INPUT_RETRACT, cat, run_start),
                      "open: retractions are read from CSV or JSON Lines: a FHIR MeasureReport "
                      "carries figures\n");
  assert_string_equal(oc_test_input_describe(f, OC_INPUT_FHIR, 0, NULL, run_start),
                      "open: FHIR input needs the catalog: it maps measures\n");
  fclose(f);
  /* A .jsonl of retractions is read as ever; FHIR NDJSON is refused. */
  const char *jsonl = "{\"org_id\":\"o\",\"metric\":\"cpoe_rate\",\"grain\":\"MONTH\","
                      "\"period_start\":\"2024-01-01\"}\n";
  char *jcopy = strdup(jsonl);
  FILE *j = fmemopen(jcopy, strlen(jcopy), "rb");
  assert_string_equal(
      oc_test_input_describe(j, OC_INPUT_JSON_LINES_ANY, OC_INPUT_RETRACT, cat, run_start),
      "1: ok o||cpoe_rate|MONTH|2024-01-01\n");
  fclose(j);
  free(jcopy);
  const char *nd = "{\"resourceType\":\"MeasureReport\"}\n";
  char *ncopy = strdup(nd);
  FILE *n = fmemopen(ncopy, strlen(ncopy), "rb");
  assert_string_equal(
      oc_test_input_describe(n, OC_INPUT_JSON_LINES_ANY, OC_INPUT_RETRACT, cat, run_start),
      "open: retractions are read from CSV or JSON Lines: a FHIR MeasureReport carries "
      "figures\n");
  fclose(n);
  free(ncopy);
}

/* The demo's readmission rates: 72 MeasureReports, every one taken, with
 * the demo catalog's measure_url. */
static void test_demo_measure_reports(void **state) {
  (void)state;
  oc_catalog_t *demo = NULL;
  oc_err_t err;
  if (oc_catalog_load_file(oc_test_source_path("deploy/demo/catalog.tsv"), &demo, &err) < 0)
    fail_msg("demo catalog: %s", err.msg);
  FILE *f = fopen(oc_test_source_path("deploy/demo/readmissions.ndjson"), "rb");
  assert_non_null(f);
  const char *out = oc_test_input_describe(f, OC_INPUT_JSON_LINES_ANY, 0, demo, run_start);
  fclose(f);
  size_t ok = 0, lines = 0;
  for (const char *p = out; *p; p = strchr(p, '\n') + 1) {
    lines++;
    ok += strstr(p, ": ok coastal-carolina-health|") == strchr(p, ':') &&
          strstr(p, "|readmission_rate_30d|MONTH|") != NULL;
  }
  assert_int_equal(lines, 72);
  assert_int_equal(ok, 72);
  /* The first: the CSV row it replaced read
   * coastal-carolina-health,ccmc-main,readmission_rate_30d,MONTH,2022-01-01,
   * 0.15471311475409835,151,976,allscripts-sunrise,2022-02-06T07:00:00Z */
  const char *first =
      "1: ok coastal-carolina-health|ccmc-main|readmission_rate_30d|MONTH|2022-01-01 "
      "0.15471311475409835 151 976 MeasureReport/readm-ccmc-main-2022-01 "
      "2022-02-06T07:00:00.000000Z\n";
  assert_memory_equal(out, first, strlen(first));
  oc_catalog_destroy(demo);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hl7_examples),  cmocka_unit_test(test_scores),
      cmocka_unit_test(test_identity),      cmocka_unit_test(test_periods),
      cmocka_unit_test(test_documents),     cmocka_unit_test(test_bulk_ndjson),
      cmocka_unit_test(test_open_refusals), cmocka_unit_test(test_demo_measure_reports),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
