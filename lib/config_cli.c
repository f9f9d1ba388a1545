/* config_cli.c - a program's configuration path: -c FILE, the environment,
 * -X and the options that stand for keys, -X list; see config.h. */
#include "outcomes/config.h"

#include <stdio.h>
#include <string.h>

#include "outcomes/kafka.h"
#include "outcomes/log.h"

#define X_ORIGIN "-X"

int oc_conf_cli_x(oc_conf_cli_t *cli, const oc_conf_program_t *prog, const char *arg,
                  oc_err_t *err) {
  if (strcmp(arg, "list") == 0 ||
      ((prog->pass & OC_CONF_PASS_KAFKA) && strcmp(arg, "kafka.list") == 0)) {
    cli->list = arg;
    return 0;
  }
  return oc_conf_cli_option(cli, NULL, arg, X_ORIGIN, err);
}

int oc_conf_cli_option(oc_conf_cli_t *cli, const char *key, const char *value, const char *origin,
                       oc_err_t *err) {
  if (cli->n == OC_CONF_CLI_MAX)
    return oc_err_set(err, OC_ERR_USAGE, "more than %d -X arguments and options", OC_CONF_CLI_MAX);
  cli->set[cli->n].key = key;
  cli->set[cli->n].value = value;
  cli->set[cli->n].origin = origin;
  cli->n++;
  return 0;
}

static bool declared(const oc_conf_program_t *prog, const char *key, size_t len) {
  for (size_t i = 0; prog->defs[i].name; i++)
    if (strlen(prog->defs[i].name) == len && strncmp(prog->defs[i].name, key, len) == 0)
      return true;
  return false;
}

/* A -X key=value whose key (or <key>.file) is neither declared nor
 * prefixed but names a librdkafka property: as kafka.<key>=value. Writes
 * the argument to use into buf, or returns arg itself. */
static const char *bare_kafka(const oc_conf_program_t *prog, const char *arg, char *buf,
                              size_t cap) {
  char name[256];
  size_t klen = strcspn(arg, "=");

  if (!(prog->pass & OC_CONF_PASS_KAFKA) || arg[klen] != '=' || klen == 0 || klen >= sizeof(name))
    return arg;
  memcpy(name, arg, klen);
  name[klen] = '\0';
  if (klen > 5 && strcmp(name + klen - 5, ".file") == 0)
    name[klen -= 5] = '\0';
  if (declared(prog, name, klen) || strncmp(name, "kafka.", 6) == 0 ||
      strncmp(name, "pg.", 3) == 0 || !oc_kafka_property_exists(name))
    return arg;
  if ((size_t)snprintf(buf, cap, "kafka.%s", arg) >= cap)
    return arg; /* too long for a key anyway: refused as it is */
  return buf;
}

/* log.level, when the table declares it: checked and applied. */
static int apply_log_level(const oc_conf_program_t *prog, const oc_config_t *cfg, oc_err_t *err) {
  const char *name;
  int level;

  if (!declared(prog, "log.level", strlen("log.level")))
    return 0;
  name = oc_config_get_str(cfg, "log.level");
  level = oc_log_level_from_name(name ? name : "");
  if (level < 0)
    return oc_err_set(err, OC_ERR_CONFIG,
                      "log.level: unknown level '%s' (error, warning, notice, info or debug)",
                      name ? name : "");
  oc_log_set_level(level);
  return 0;
}

int oc_config_load_program(const oc_conf_program_t *prog, const oc_conf_cli_t *cli,
                           oc_config_t **out, oc_err_t *err) {
  oc_config_t *cfg = oc_config_new(prog->defs, prog->pass);
  char buf[4096];
  int rc = 0;

  *out = NULL;
  if (!cfg)
    return oc_err_set(err, OC_ERR_NOMEM, "configuration: out of memory");
  if (cli->file && (rc = oc_config_load_file(cfg, cli->file, err)) != 0)
    goto fail;
  if ((rc = oc_config_load_env(cfg, err)) != 0)
    goto fail;
  for (size_t i = 0; i < cli->n; i++) {
    if (cli->set[i].key)
      rc = oc_config_set(cfg, cli->set[i].key, cli->set[i].value, cli->set[i].origin, err);
    else
      rc = oc_config_set_arg(cfg, bare_kafka(prog, cli->set[i].value, buf, sizeof(buf)), err);
    if (rc != 0)
      goto fail;
  }
  if ((rc = apply_log_level(prog, cfg, err)) != 0)
    goto fail;
  *out = cfg;
  return 0;
fail:
  oc_config_destroy(cfg);
  return rc;
}

static const char *type_hint(oc_conf_type_t t) {
  switch (t) {
  case OC_CONF_STR: return "string";
  case OC_CONF_INT: return "integer";
  case OC_CONF_BOOL: return "boolean";
  case OC_CONF_MS: return "duration";
  case OC_CONF_BYTES: return "size";
  }
  return "?";
}

void oc_config_print_help(const oc_conf_program_t *prog, FILE *out) {
  const oc_conf_def_t *defs = prog->defs;

  for (size_t i = 0; defs[i].name; i++)
    fprintf(out, "  %-28s %-8s default %s%s%s\n      %s\n", defs[i].name, type_hint(defs[i].type),
            !defs[i].def   ? "(unset)"
            : *defs[i].def ? defs[i].def
                           : "(empty)",
            defs[i].env ? ", env " : "", defs[i].env ? defs[i].env : "", defs[i].help);
  if (prog->pass & OC_CONF_PASS_KAFKA)
    fprintf(out, "  kafka.<property>             passed to librdkafka; on -X also bare, as\n"
                 "                               <property>=value (e.g. -X linger.ms=50)\n");
  if (prog->pass & OC_CONF_PASS_PG)
    fprintf(out, "  pg.<keyword>                 passed to libpq as a conninfo keyword\n");
  fprintf(out, "  <key>.file=PATH              read the value from PATH (relative to "
               "$CREDENTIALS_DIRECTORY)\n");
  if (prog->pass & OC_CONF_PASS_KAFKA)
    fprintf(out, "librdkafka's own properties: %s -X kafka.list\n", prog->name);
}

void oc_config_print_list(const oc_conf_program_t *prog, const char *what, FILE *out) {
  if ((prog->pass & OC_CONF_PASS_KAFKA) && strcmp(what, "kafka.list") == 0)
    rd_kafka_conf_properties_show(out);
  else
    oc_config_print_help(prog, out);
}
