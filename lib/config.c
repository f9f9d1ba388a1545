/* config.c - configuration table, file, environment, -X; see config.h. */
#include "outcomes/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "outcomes/log.h"

#define CONF_LINE_MAX 8192
#define CONF_SECRET_FILE_MAX 65536

typedef struct conf_pass_s {
  char *key; /* with its prefix: "kafka.acks" */
  char *value;
  bool secret;
} conf_pass_t;

struct oc_config_s {
  const oc_conf_def_t *defs;
  size_t ndefs;
  unsigned passes; /* OC_CONF_PASS_*: what passes through */
  char **values;   /* one per def, NULL = unset */
  conf_pass_t *pass;
  size_t npass, cappass;
  unsigned loading_mode; /* the file being loaded: its mode when others may read it, else 0 */
};

static const struct {
  const char *prefix;
  unsigned pass;
} pass_prefixes[] = {{"kafka.", OC_CONF_PASS_KAFKA}, {"pg.", OC_CONF_PASS_PG}};

bool oc_config_key_is_secret(const char *key) {
  static const char *const words[] = {"password", "secret", "key.pem", "oauthbearer.config"};
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strstr(key, words[i]))
      return true;
  return false;
}

/* The permission bits of a file that others may read, as libpq judges a
 * .pgpass or PostgreSQL a key file: any access by the world, or by the
 * group unless root owns the file (root:outcomes 0640 is how a service
 * reads what it must not change). 0 when only its owner may. */
static unsigned exposed_mode(const struct stat *st) {
  if ((st->st_mode & S_IRWXO) || ((st->st_mode & S_IRWXG) && st->st_uid != 0))
    return (unsigned)(st->st_mode & 0777);
  return 0;
}

bool oc_config_conninfo_has_password(const char *conninfo) {
  PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
  bool found = false;
  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (oc_config_key_is_secret(o->keyword) && o->val && *o->val) /* password, sslpassword */
      found = true;
  PQconninfoFree(opts);
  return found;
}

/* The pass-through prefix of key that cfg accepts, or NULL. */
static const char *pass_prefix_of(const oc_config_t *cfg, const char *key) {
  for (size_t i = 0; i < sizeof(pass_prefixes) / sizeof(pass_prefixes[0]); i++) {
    size_t n = strlen(pass_prefixes[i].prefix);
    if ((cfg->passes & pass_prefixes[i].pass) && strncmp(key, pass_prefixes[i].prefix, n) == 0 &&
        key[n] != '\0')
      return pass_prefixes[i].prefix;
  }
  return NULL;
}

static const oc_conf_def_t *conf_find_def(const oc_config_t *cfg, const char *name, size_t *idx) {
  for (size_t i = 0; i < cfg->ndefs; i++)
    if (strcmp(cfg->defs[i].name, name) == 0) {
      if (idx)
        *idx = i;
      return &cfg->defs[i];
    }
  return NULL;
}

/* Parse an integer with an optional unit suffix. */
static int parse_scaled(const char *s, oc_conf_type_t type, int64_t *out) {
  char *end = NULL;
  long long v;
  int64_t mul = 1;

  errno = 0;
  v = strtoll(s, &end, 10);
  if (end == s || errno)
    return -1;
  if (type == OC_CONF_MS) {
    if (*end == '\0' || strcmp(end, "ms") == 0)
      mul = 1;
    else if (strcmp(end, "s") == 0)
      mul = 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
      mul = 60 * 1000;
    else if (strcmp(end, "h") == 0)
      mul = 3600 * 1000;
    else
      return -1;
  } else if (type == OC_CONF_BYTES) {
    if (*end == '\0')
      mul = 1;
    else if (strcmp(end, "k") == 0 || strcmp(end, "K") == 0)
      mul = 1024;
    else if (strcmp(end, "M") == 0)
      mul = 1024 * 1024;
    else if (strcmp(end, "G") == 0)
      mul = 1024LL * 1024 * 1024;
    else
      return -1;
  } else if (*end != '\0') {
    return -1;
  }
  if (v < 0 ? v < INT64_MIN / mul : v > INT64_MAX / mul)
    return -1;
  *out = (int64_t)v * mul;
  return 0;
}

static int parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"true", "yes", "on", "1", NULL};
  static const char *const no[] = {"false", "no", "off", "0", NULL};
  for (size_t i = 0; yes[i]; i++)
    if (strcmp(s, yes[i]) == 0)
      return *out = true, 0;
  for (size_t i = 0; no[i]; i++)
    if (strcmp(s, no[i]) == 0)
      return *out = false, 0;
  return -1;
}

static int check_value(const oc_conf_def_t *d, const char *value, const char *origin,
                       oc_err_t *err) {
  int64_t v;
  bool b;

  switch (d->type) {
  case OC_CONF_STR: return 0;
  case OC_CONF_BOOL:
    if (parse_bool(value, &b) != 0)
      return oc_err_set(err, OC_ERR_CONFIG, "%s: %s: '%s' is not a boolean (true/false)", origin,
                        d->name, value);
    return 0;
  case OC_CONF_INT:
  case OC_CONF_MS:
  case OC_CONF_BYTES:
    if (parse_scaled(value, d->type, &v) != 0)
      return oc_err_set(err, OC_ERR_CONFIG, "%s: %s: '%s' is not %s", origin, d->name, value,
                        d->type == OC_CONF_INT  ? "an integer"
                        : d->type == OC_CONF_MS ? "a duration (e.g. 500ms, 5s, 2m)"
                                                : "a size (e.g. 512k, 16M)");
    if ((d->min || d->max) && (v < d->min || v > d->max))
      return oc_err_set(err, OC_ERR_CONFIG, "%s: %s: %s is outside [%" PRId64 ", %" PRId64 "]",
                        origin, d->name, value, d->min, d->max);
    return 0;
  }
  return oc_err_set(err, OC_ERR_INTERNAL, "%s: bad type", d->name);
}

/* A conninfo file: lines joined with single spaces, blank lines and lines
 * starting with '#' skipped, each line trimmed. In place. */
static void join_conninfo_lines(char *buf) {
  char *out = buf, *line = buf;
  while (line && *line) {
    char *next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    while (*line == ' ' || *line == '\t')
      line++;
    size_t l = strlen(line);
    while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r'))
      l--;
    if (l > 0 && line[0] != '#') {
      if (out != buf)
        *out++ = ' ';
      memmove(out, line, l);
      out += l;
    }
    line = next;
  }
  *out = '\0';
}

/* "<key>.file=<path>": the value of key is the content of path, which
 * others must not be able to read (exposed_mode). A conninfo key's file is
 * joined by join_conninfo_lines(). */
static int read_secret_file(const char *path, const char *origin, const char *key, bool conninfo,
                            char **out, oc_err_t *err) {
  char full[4096];
  const char *credir = getenv("CREDENTIALS_DIRECTORY");
  struct stat st;
  FILE *f;
  char *buf;
  size_t n;

  if (path[0] != '/' && credir && *credir)
    snprintf(full, sizeof(full), "%s/%s", credir, path);
  else
    snprintf(full, sizeof(full), "%s", path);
  f = fopen(full, "rb");
  if (!f)
    return oc_err_set(err, OC_ERR_CONFIG, "%s: %s.file: cannot open '%s': %s", origin, key, full,
                      strerror(errno));
  if (fstat(fileno(f), &st) != 0) {
    fclose(f);
    return oc_err_set(err, OC_ERR_CONFIG, "%s: %s.file: cannot stat '%s': %s", origin, key, full,
                      strerror(errno));
  }
  unsigned mode = exposed_mode(&st);
  if (mode) {
    fclose(f);
    return oc_err_set(err, OC_ERR_CONFIG,
                      "%s: %s.file: '%s' may be read by others (mode %03o): chmod 600, or 640 "
                      "with root as its owner",
                      origin, key, full, mode);
  }
  buf = malloc(CONF_SECRET_FILE_MAX + 1);
  if (!buf) {
    fclose(f);
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  }
  n = fread(buf, 1, CONF_SECRET_FILE_MAX + 1, f);
  fclose(f);
  if (n > CONF_SECRET_FILE_MAX) {
    free(buf);
    return oc_err_set(err, OC_ERR_CONFIG, "%s: %s.file: '%s' is larger than %d bytes", origin, key,
                      full, CONF_SECRET_FILE_MAX);
  }
  if (n > 0 && buf[n - 1] == '\n')
    n--;
  if (n > 0 && buf[n - 1] == '\r')
    n--;
  buf[n] = '\0';
  if (memchr(buf, '\0', n)) {
    free(buf);
    return oc_err_set(err, OC_ERR_CONFIG, "%s: %s.file: '%s' contains a NUL byte", origin, key,
                      full);
  }
  if (conninfo)
    join_conninfo_lines(buf);
  *out = buf;
  return 0;
}

static int store_pass(oc_config_t *cfg, const char *key, char *value, oc_err_t *err) {
  for (size_t i = 0; i < cfg->npass; i++)
    if (strcmp(cfg->pass[i].key, key) == 0) {
      free(cfg->pass[i].value);
      cfg->pass[i].value = value;
      return 0;
    }
  if (cfg->npass == cfg->cappass) {
    size_t cap = cfg->cappass ? cfg->cappass * 2 : 16;
    conf_pass_t *p = realloc(cfg->pass, cap * sizeof(*p));
    if (!p) {
      free(value);
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
    }
    cfg->pass = p;
    cfg->cappass = cap;
  }
  cfg->pass[cfg->npass].key = strdup(key);
  if (!cfg->pass[cfg->npass].key) {
    free(value);
    return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  }
  cfg->pass[cfg->npass].value = value;
  cfg->pass[cfg->npass].secret = oc_config_key_is_secret(key);
  cfg->npass++;
  return 0;
}

/* from_file: the origin is a configuration file (secrets allowed). A
 * declared key wins over a pass-through prefix ("kafka.timeout" may be a
 * key of the table). */
static int conf_set(oc_config_t *cfg, const char *key, const char *value, const char *origin,
                    bool from_file, oc_err_t *err) {
  char base[256];
  char *owned = NULL;
  size_t klen = strlen(key);
  size_t idx = 0;
  const oc_conf_def_t *d;
  int rc;

  if (klen == 0)
    return oc_err_set(err, OC_ERR_CONFIG, "%s: empty key", origin);
  if (klen >= sizeof(base))
    return oc_err_set(err, OC_ERR_CONFIG, "%s: key too long", origin);

  /* "<key>.file=<path>": the value is the file's content. */
  if (klen > 5 && strcmp(key + klen - 5, ".file") == 0) {
    memcpy(base, key, klen - 5);
    base[klen - 5] = '\0';
    d = conf_find_def(cfg, base, NULL);
    if (!d && !pass_prefix_of(cfg, base))
      return oc_err_set(err, OC_ERR_CONFIG, "%s: unknown key '%s'", origin, base);
    if ((rc = read_secret_file(value, origin, base, d && (d->flags & OC_CONF_CONNINFO), &owned,
                               err)) != 0)
      return rc;
    key = base;
  } else {
    d = conf_find_def(cfg, key, NULL);
    bool secret = oc_config_key_is_secret(key) || (d && (d->flags & OC_CONF_SECRET));
    bool conninfo_pw = d && (d->flags & OC_CONF_CONNINFO) && oc_config_conninfo_has_password(value);
    if ((secret || conninfo_pw) && from_file && cfg->loading_mode)
      return oc_err_set(err, OC_ERR_CONFIG,
                        "%s: '%s' is a secret in a file others may read (mode %03o): chmod 600, "
                        "or 640 with root as its owner",
                        origin, key, cfg->loading_mode);
    if (secret && !from_file)
      return oc_err_set(err, OC_ERR_CONFIG,
                        "%s: '%s' is a secret: put it in the configuration file or give "
                        "'%s.file=PATH'",
                        origin, key, key);
    if (conninfo_pw && !from_file)
      return oc_err_set(err, OC_ERR_CONFIG,
                        "%s: '%s' holds a password: use a pgpass file (PGPASSFILE), "
                        "'pg.password.file=PATH' or the configuration file",
                        origin, key);
    owned = strdup(value);
    if (!owned)
      return oc_err_set(err, OC_ERR_NOMEM, "out of memory");
  }

  d = conf_find_def(cfg, key, &idx);
  if (!d) {
    if (pass_prefix_of(cfg, key))
      return store_pass(cfg, key, owned, err);
    free(owned);
    return oc_err_set(err, OC_ERR_CONFIG, "%s: unknown key '%s'", origin, key);
  }
  if ((rc = check_value(d, owned, origin, err)) != 0) {
    free(owned);
    return rc;
  }
  free(cfg->values[idx]);
  cfg->values[idx] = owned;
  return 0;
}

oc_config_t *oc_config_new(const oc_conf_def_t *defs, unsigned pass) {
  oc_config_t *cfg = calloc(1, sizeof(*cfg));
  if (!cfg)
    return NULL;
  cfg->defs = defs;
  cfg->passes = pass;
  while (defs[cfg->ndefs].name)
    cfg->ndefs++;
  cfg->values = calloc(cfg->ndefs ? cfg->ndefs : 1, sizeof(char *));
  if (!cfg->values) {
    free(cfg);
    return NULL;
  }
  for (size_t i = 0; i < cfg->ndefs; i++) {
    if (defs[i].def) {
      cfg->values[i] = strdup(defs[i].def);
      if (!cfg->values[i]) {
        oc_config_destroy(cfg);
        return NULL;
      }
    }
  }
  return cfg;
}

int oc_config_set(oc_config_t *cfg, const char *key, const char *value, const char *origin,
                  oc_err_t *err) {
  return conf_set(cfg, key, value, origin, false, err);
}

int oc_config_set_arg(oc_config_t *cfg, const char *arg, oc_err_t *err) {
  char key[256];
  const char *eq = strchr(arg, '=');
  size_t klen;

  if (!eq)
    return oc_err_set(err, OC_ERR_CONFIG, "-X: expected key=value, got '%s'", arg);
  klen = (size_t)(eq - arg);
  if (klen == 0 || klen >= sizeof(key))
    return oc_err_set(err, OC_ERR_CONFIG, "-X: bad key in '%.*s'", (int)klen, arg);
  memcpy(key, arg, klen);
  key[klen] = '\0';
  return conf_set(cfg, key, eq + 1, "-X", false, err);
}

static char *trim(char *s) {
  char *e;
  while (*s == ' ' || *s == '\t')
    s++;
  e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
    *--e = '\0';
  return s;
}

int oc_config_load_stream(oc_config_t *cfg, FILE *f, const char *name, oc_err_t *err) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  char origin[4200];
  int lineno = 0, rc = 0;

  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    snprintf(origin, sizeof(origin), "%s:%d", name, lineno);
    if (len > CONF_LINE_MAX) {
      rc = oc_err_set(err, OC_ERR_CONFIG, "%s: line longer than %d bytes", origin, CONF_LINE_MAX);
      goto out;
    }
    if (memchr(line, '\0', (size_t)len)) {
      rc = oc_err_set(err, OC_ERR_CONFIG, "%s: NUL byte in line", origin);
      goto out;
    }
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
      continue;
    char *eq = strchr(s, '=');
    if (!eq) {
      rc = oc_err_set(err, OC_ERR_CONFIG, "%s: expected key=value", origin);
      goto out;
    }
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(eq + 1);
    if ((rc = conf_set(cfg, key, value, origin, true, err)) != 0)
      goto out;
  }
  if (ferror(f))
    rc = oc_err_set(err, OC_ERR_CONFIG, "read '%s': %s", name, strerror(errno));
out:
  free(line);
  return rc;
}

int oc_config_load_file(oc_config_t *cfg, const char *path, oc_err_t *err) {
  FILE *f = fopen(path, "r");
  int rc;

  struct stat st;

  if (!f)
    return oc_err_set(err, OC_ERR_CONFIG, "cannot open configuration file '%s': %s", path,
                      strerror(errno));
  cfg->loading_mode = fstat(fileno(f), &st) == 0 ? exposed_mode(&st) : 0777;
  rc = oc_config_load_stream(cfg, f, path, err);
  cfg->loading_mode = 0;
  fclose(f);
  return rc;
}

int oc_config_load_env(oc_config_t *cfg, oc_err_t *err) {
  char origin[128];
  for (size_t i = 0; i < cfg->ndefs; i++) {
    const oc_conf_def_t *d = &cfg->defs[i];
    const char *v = d->env ? getenv(d->env) : NULL;
    int rc;
    if (!v || !*v)
      continue;
    snprintf(origin, sizeof(origin), "environment %s", d->env);
    if ((rc = conf_set(cfg, d->name, v, origin, false, err)) != 0)
      return rc;
  }
  return 0;
}

static const oc_conf_def_t *must_def(const oc_config_t *cfg, const char *name, size_t *idx) {
  const oc_conf_def_t *d = conf_find_def(cfg, name, idx);
  if (!d) {
    fprintf(stderr, "internal error: undeclared configuration key '%s'\n", name);
    abort();
  }
  return d;
}

const char *oc_config_get_str(const oc_config_t *cfg, const char *name) {
  size_t idx;
  must_def(cfg, name, &idx);
  return cfg->values[idx];
}

int64_t oc_config_get_int(const oc_config_t *cfg, const char *name) {
  size_t idx;
  int64_t v = 0;
  const oc_conf_def_t *d = must_def(cfg, name, &idx);
  if (d->type != OC_CONF_INT && d->type != OC_CONF_MS && d->type != OC_CONF_BYTES) {
    fprintf(stderr, "internal error: configuration key '%s' is not numeric\n", name);
    abort();
  }
  if (cfg->values[idx])
    parse_scaled(cfg->values[idx], d->type, &v); /* checked when set */
  return v;
}

bool oc_config_get_bool(const oc_config_t *cfg, const char *name) {
  size_t idx;
  bool b = false;
  const oc_conf_def_t *d = must_def(cfg, name, &idx);
  if (d->type != OC_CONF_BOOL) {
    fprintf(stderr, "internal error: configuration key '%s' is not a boolean\n", name);
    abort();
  }
  if (cfg->values[idx])
    parse_bool(cfg->values[idx], &b);
  return b;
}

size_t oc_config_passthrough_count(const oc_config_t *cfg, const char *prefix) {
  size_t n = 0, plen = strlen(prefix);
  for (size_t i = 0; i < cfg->npass; i++)
    if (strncmp(cfg->pass[i].key, prefix, plen) == 0)
      n++;
  return n;
}

int oc_config_passthrough_at(const oc_config_t *cfg, const char *prefix, size_t i, const char **key,
                             const char **value) {
  size_t n = 0, plen = strlen(prefix);
  for (size_t j = 0; j < cfg->npass; j++) {
    if (strncmp(cfg->pass[j].key, prefix, plen) != 0)
      continue;
    if (n++ == i) {
      *key = cfg->pass[j].key + plen;
      *value = cfg->pass[j].value;
      return 0;
    }
  }
  return OC_ERR_NOT_FOUND;
}

/* A conninfo as keyword='value' pairs, its password (if any) hidden. */
static void dump_conninfo(FILE *out, const char *name, const char *v) {
  PQconninfoOption *opts = PQconninfoParse(v, NULL);

  if (!opts) { /* not parsed: it cannot be told what it holds */
    fprintf(out, "%s=<hidden: not a conninfo>\n", name);
    return;
  }
  fprintf(out, "%s=", name);
  const char *sep = "";
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    if (!o->val)
      continue;
    if (oc_config_key_is_secret(o->keyword)) {
      fprintf(out, "%s%s=<hidden>", sep, o->keyword);
    } else {
      fprintf(out, "%s%s='", sep, o->keyword);
      for (const char *c = o->val; *c; c++)
        fprintf(out, "%s%c", (*c == '\'' || *c == '\\') ? "\\" : "", *c);
      fputc('\'', out);
    }
    sep = " ";
  }
  fputc('\n', out);
  PQconninfoFree(opts);
}

void oc_config_dump(const oc_config_t *cfg, FILE *out) {
  for (size_t i = 0; i < cfg->ndefs; i++) {
    const char *v = cfg->values[i];
    bool secret =
        (cfg->defs[i].flags & OC_CONF_SECRET) || oc_config_key_is_secret(cfg->defs[i].name);
    if (v && !secret && (cfg->defs[i].flags & OC_CONF_CONNINFO) && *v)
      dump_conninfo(out, cfg->defs[i].name, v);
    else
      fprintf(out, "%s=%s\n", cfg->defs[i].name, !v ? "" : secret ? "<hidden>" : v);
  }
  for (size_t i = 0; i < cfg->npass; i++)
    fprintf(out, "%s=%s\n", cfg->pass[i].key,
            cfg->pass[i].secret ? "<hidden>" : cfg->pass[i].value);
}

void oc_config_destroy(oc_config_t *cfg) {
  if (!cfg)
    return;
  for (size_t i = 0; i < cfg->ndefs; i++)
    free(cfg->values[i]);
  free(cfg->values);
  for (size_t i = 0; i < cfg->npass; i++) {
    if (cfg->pass[i].secret && cfg->pass[i].value)
      memset(cfg->pass[i].value, 0, strlen(cfg->pass[i].value));
    free(cfg->pass[i].key);
    free(cfg->pass[i].value);
  }
  free(cfg->pass);
  free(cfg);
}
