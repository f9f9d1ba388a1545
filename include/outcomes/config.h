/*
 * config.h - configuration: one table of keys per program drives parsing,
 * `--help`, the man page and "unknown key" errors (docs/design.md §10).
 *
 * Sources, the later winning: defaults < file (`key=value` lines, '#'
 * comments) < environment < command line (`-X key=value`). Keys starting
 * with "kafka." pass through to librdkafka (the prefix removed) and keys
 * starting with "pg." to libpq (as conninfo keywords); every other key must
 * be declared in the program's table.
 *
 * Secrets: a key whose name contains "password" or "secret" is accepted
 * only from a configuration file, never from the environment or the
 * command line (where `ps` shows it), and never printed. Any key may
 * instead be given as "<key>.file=<path>": its value is then the content of
 * that file with one trailing newline removed; a relative path is taken in
 * $CREDENTIALS_DIRECTORY when that is set (systemd LoadCredential=).
 */
#ifndef OUTCOMES_CONFIG_H
#define OUTCOMES_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "outcomes/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum oc_conf_type_e {
  OC_CONF_STR = 0,
  OC_CONF_INT,   /* decimal integer within [min, max] */
  OC_CONF_BOOL,  /* true/false, yes/no, on/off, 1/0 */
  OC_CONF_MS,    /* duration: "250ms", "5s", "2m", "1h", or bare milliseconds */
  OC_CONF_BYTES, /* size: "512", "64k", "16M", "1G" (powers of 1024) */
} oc_conf_type_t;

#define OC_CONF_SECRET 0x1u     /* never printed; only from files */
#define OC_CONF_RELOADABLE 0x2u /* may change on SIGHUP */
#define OC_CONF_CONNINFO 0x4u   /* a libpq conninfo: a password in it is a
                                   secret (only from files) */

typedef struct oc_conf_def_s {
  const char *name;    /* "batch.max.records"; NULL ends the table */
  oc_conf_type_t type;
  const char *def;     /* default as text; NULL = unset */
  int64_t min, max;    /* bounds for INT, MS and BYTES (0, 0 = unbounded) */
  unsigned flags;
  const char *env;     /* environment variable read for it, or NULL */
  const char *help;    /* one line */
} oc_conf_def_t;

typedef struct oc_config_s oc_config_t;

/* A configuration holding the defaults of defs (borrowed: keep the table
 * alive as long as the configuration). Caller frees with oc_config_destroy. */
oc_config_t *oc_config_new(const oc_conf_def_t *defs);

/* Set one key from a source named by origin ("-X", "env OUTCOMES_X",
 * "/etc/outcomes/prod.conf:12"). Errors name the origin and the key:
 * "-X: unknown key 'batch.size'". */
int oc_config_set(oc_config_t *cfg, const char *key, const char *value,
                  const char *origin, oc_err_t *err);

/* Parse "key=value" (as given to -X) and set it. */
int oc_config_set_arg(oc_config_t *cfg, const char *arg, oc_err_t *err);

/* Read a file of key=value lines. Blank lines and lines starting with '#'
 * are ignored; whitespace around key and value is trimmed. */
int oc_config_load_file(oc_config_t *cfg, const char *path, oc_err_t *err);

/* Same, from an open stream; name is used in error messages ("name:line"). */
int oc_config_load_stream(oc_config_t *cfg, FILE *f, const char *name, oc_err_t *err);

/* Apply the environment variables named in the table (secrets refused). */
int oc_config_load_env(oc_config_t *cfg, oc_err_t *err);

/* Values. Getters of undeclared keys or of the wrong type abort: that is a
 * bug in the program, not bad input. get_str returns NULL when unset. */
const char *oc_config_get_str(const oc_config_t *cfg, const char *name);
int64_t oc_config_get_int(const oc_config_t *cfg, const char *name);
bool oc_config_get_bool(const oc_config_t *cfg, const char *name);

/* Pass-through keys, in the order set (a key set twice keeps its first
 * position and its last value). prefix is "kafka." or "pg."; the returned
 * key has the prefix removed. Strings are borrowed from cfg. */
size_t oc_config_passthrough_count(const oc_config_t *cfg, const char *prefix);
int oc_config_passthrough_at(const oc_config_t *cfg, const char *prefix, size_t i,
                             const char **key, const char **value);

/* True when key names a secret (contains "password" or "secret"). */
bool oc_config_key_is_secret(const char *key);

/* Print the table as help text ("  name=default  help") to out. */
void oc_config_print_help(const oc_conf_def_t *defs, FILE *out);

/* Print the effective configuration (secrets shown as "<hidden>"). */
void oc_config_dump(const oc_config_t *cfg, FILE *out);

void oc_config_destroy(oc_config_t *cfg);

#ifdef __cplusplus
}
#endif
#endif
