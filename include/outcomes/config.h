/*
 * config.h - configuration: one table of keys per program drives parsing,
 * `--help`, `-X list`, the man page's key list (checked by
 * tests/docs/test_man_pages.sh) and "unknown key" errors (docs/design.md §10).
 *
 * Every program takes its configuration the one way of
 * oc_config_load_program(): defaults < file (`-c FILE`: `key=value` lines,
 * '#' comments) < environment < command line (`-X key=value` and the
 * options that stand for keys, in the order given). Keys starting with
 * "kafka." pass through to librdkafka (the prefix removed) and keys
 * starting with "pg." to libpq (as conninfo keywords), where the program
 * talks to Kafka or PostgreSQL; every other key must be declared in the
 * program's table. A declared key wins over a pass-through prefix.
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

#define OC_CONF_SECRET 0x1u /* never printed; only from files */
#define OC_CONF_CONNINFO \
  0x2u /* a libpq conninfo: a password in it is a
                                 secret (only from files); its .file holds
                                 lines joined with spaces, '#' lines
                                 skipped, and should be mode 0600 */

typedef struct oc_conf_def_s {
  const char *name; /* "batch.max.records"; NULL ends the table */
  oc_conf_type_t type;
  const char *def;  /* default as text; NULL = unset */
  int64_t min, max; /* bounds for INT, MS and BYTES (0, 0 = unbounded) */
  unsigned flags;
  const char *env;  /* environment variable read for it, or NULL */
  const char *help; /* one line */
} oc_conf_def_t;

/* What a configuration passes through (besides its declared keys). */
#define OC_CONF_PASS_KAFKA 0x1u /* kafka.<property>; on -X also a bare <property> */
#define OC_CONF_PASS_PG 0x2u    /* pg.<keyword> */

typedef struct oc_config_s oc_config_t;

/* A configuration holding the defaults of defs (borrowed: keep the table
 * alive as long as the configuration) and accepting the pass-through keys
 * of pass (OC_CONF_PASS_*). Caller frees with oc_config_destroy. */
oc_config_t *oc_config_new(const oc_conf_def_t *defs, unsigned pass);

/* Set one key from a source named by origin ("-X", "env OUTCOMES_X",
 * "/etc/outcomes/prod.conf:12"). Errors name the origin and the key:
 * "-X: unknown key 'batch.size'". */
int oc_config_set(oc_config_t *cfg, const char *key, const char *value, const char *origin,
                  oc_err_t *err);

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
int oc_config_passthrough_at(const oc_config_t *cfg, const char *prefix, size_t i, const char **key,
                             const char **value);

/* True when key names a secret (contains "password" or "secret"). */
bool oc_config_key_is_secret(const char *key);

/* True when conninfo (key=value or URI) sets a non-empty password. A string
 * libpq cannot parse is false: the connection reports it. A key flagged
 * OC_CONF_CONNINFO refuses such a value unless it comes from a file
 * (docs/security.md). */
bool oc_config_conninfo_has_password(const char *conninfo);

/* ---- a program's configuration ------------------------------------------ */

/* A program: its name, its key table and what it passes through. */
typedef struct oc_conf_program_s {
  const char *name;          /* "outcomes-produce": in -X list */
  const oc_conf_def_t *defs; /* borrowed */
  unsigned pass;             /* OC_CONF_PASS_* */
} oc_conf_program_t;

#define OC_CONF_CLI_MAX 256 /* -X arguments and options, together */

/* The command line's share: -c FILE, then -X and the options standing for
 * keys, kept in the order given. Zero it, then fill it while parsing. */
typedef struct oc_conf_cli_s {
  const char *file; /* -c FILE; NULL: none */
  const char *list; /* the -X argument that asked for a listing, or NULL */
  size_t n;
  struct {
    const char *key;    /* NULL: arg is a -X key=value */
    const char *value;  /* the value, or the -X argument */
    const char *origin; /* the option, for errors ("--catalog") */
  } set[OC_CONF_CLI_MAX];
} oc_conf_cli_t;

/* Record a -X argument. "list" (and "kafka.list" where the program passes
 * kafka.* through) asks for a listing (cli->list) instead of setting a key.
 * OC_ERR_USAGE past OC_CONF_CLI_MAX arguments. */
int oc_conf_cli_x(oc_conf_cli_t *cli, const oc_conf_program_t *prog, const char *arg,
                  oc_err_t *err);

/* Record an option that stands for a key ("--catalog F" is catalog=F);
 * origin names it in errors. Strings are borrowed. OC_ERR_USAGE past
 * OC_CONF_CLI_MAX. */
int oc_conf_cli_option(oc_conf_cli_t *cli, const char *key, const char *value, const char *origin,
                       oc_err_t *err);

/* The one configuration path of every program: the table's defaults, then
 * cli->file, then the environment variables of the table, then cli's -X
 * arguments and options in order. Where the program passes kafka.*
 * through, a -X key that is neither declared nor prefixed but names a
 * librdkafka property is taken as kafka.<key> (`-X acks=all` is kafka.acks,
 * as kcat has it). When the table declares "log.level", its value is
 * checked and applied with oc_log_set_level(). On success *out holds the
 * configuration (free it with oc_config_destroy); errors are OC_ERR_CONFIG
 * naming the source and the key (OC_ERR_NOMEM). */
int oc_config_load_program(const oc_conf_program_t *prog, const oc_conf_cli_t *cli,
                           oc_config_t **out, oc_err_t *err);

/* Print the program's keys (name, type, default, environment variable,
 * help), the pass-through forms it accepts and, where it passes kafka.*
 * through, how librdkafka's own properties are listed: what `--help` ends
 * with and what `-X list` prints. */
void oc_config_print_help(const oc_conf_program_t *prog, FILE *out);

/* Print the listing cli->list asked for: "list" as oc_config_print_help(),
 * "kafka.list" librdkafka's properties. */
void oc_config_print_list(const oc_conf_program_t *prog, const char *what, FILE *out);

/* Print the effective configuration (secrets shown as "<hidden>"). */
void oc_config_dump(const oc_config_t *cfg, FILE *out);

void oc_config_destroy(oc_config_t *cfg);

#ifdef __cplusplus
}
#endif
#endif
