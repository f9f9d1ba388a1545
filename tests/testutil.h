/* testutil.h - helpers shared by the tests (not part of the library). */
#ifndef OC_TESTUTIL_H
#define OC_TESTUTIL_H

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

/* Read a whole file into a NUL-terminated malloc'd buffer; fails the test
 * when it cannot. *len_out (may be NULL) gets the length. */
char *oc_test_read_file(const char *path, size_t *len_out);

/* Path under the source tree, or under tests/data/ (vendored test data,
 * see tests/data/README.md): returns a static buffer. */
const char *oc_test_source_path(const char *rel);
const char *oc_test_data_path(const char *rel);

/* An environment variable that integration tests need: fails the test with
 * a message naming it (and tests/run.sh) when unset. */
const char *oc_test_require_env(const char *name);

/* Write content to a new file /tmp/oc_test_XXXXXX (mode 0600) and return
 * its path, in a static buffer that the next call reuses; the caller
 * unlinks it. Fails the test when it cannot. */
const char *oc_test_write_tmp(const char *content);

/* A name unique to this process and call, e.g. "oc_test_1234_1". */
const char *oc_test_unique_name(const char *prefix);

/* librdkafka's mock cluster (in-process, with fault injection; for short
 * unit tests of fault paths) of `brokers` brokers, and in *owner the
 * client handle that owns it, which logs nothing. Fails the test when it
 * cannot start. oc_test_mock_stop destroys both. */
struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;
struct rd_kafka_mock_cluster_s *oc_test_mock_start(int brokers, struct rd_kafka_s **owner);
void oc_test_mock_stop(struct rd_kafka_mock_cluster_s *mcluster, struct rd_kafka_s *owner);

/* What oc_log() wrote to stderr during fn(arg), in journal form (with
 * JOURNAL_STREAM set: "<level>" and the text, no time stamp), after
 * oc_log_init(prog); at most 4095 bytes, in a static buffer that the next
 * call reuses. */
const char *oc_test_capture_log(const char *prog, void (*fn)(void *), void *arg);

/* Read all of f with oc_input_open/oc_input_next and describe every row,
 * one line each: "L: ok org|fac|metric|grain|date value num den source
 * observed" ("-" for an absent numerator or denominator), in retraction
 * mode "L: ok org|fac|metric|grain|date", or "L: error text" ("FATAL "
 * before a fatal one). An open error gives "open: text". Returns a static
 * buffer that the next call reuses. */
struct oc_catalog_s;
char *oc_test_input_describe(FILE *f, int fmt, unsigned flags, const struct oc_catalog_s *cat,
                             int64_t run_start);

#endif
