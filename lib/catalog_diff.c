/* catalog_diff.c - what changed between two catalogs, for the daemons that
 * reload theirs; see include/outcomes/catalog.h. */
#include <stdio.h>
#include <string.h>

#include "outcomes/catalog.h"
#include "outcomes/log.h"

#define LIST_LOG_MAX 600 /* bytes of each list of codes in the log line */

static void add_code(oc_buf_t *b, size_t *n, const char *code) {
  if (*n)
    oc_buf_putc(b, ',');
  oc_buf_puts(b, code);
  (*n)++;
}

int oc_catalog_changes(const oc_catalog_t *old, const oc_catalog_t *cat, oc_catalog_changes_t *out,
                       oc_err_t *err) {
  memset(out, 0, sizeof(*out));
  oc_buf_init(&out->added, 0);
  oc_buf_init(&out->removed, 0);
  oc_buf_init(&out->changed, 0);
  for (size_t i = 0; i < oc_catalog_count(cat); i++) {
    const oc_metric_t *m = oc_catalog_at(cat, i), *was = oc_catalog_find(old, m->code);
    if (!was)
      add_code(&out->added, &out->n_added, m->code);
    else if (oc_metric_diff(was, m))
      add_code(&out->changed, &out->n_changed, m->code);
  }
  for (size_t i = 0; i < oc_catalog_count(old); i++) {
    const oc_metric_t *m = oc_catalog_at(old, i);
    if (!oc_catalog_find(cat, m->code))
      add_code(&out->removed, &out->n_removed, m->code);
  }
  /* Keep each a string, even when empty. */
  oc_buf_puts(&out->added, "");
  oc_buf_puts(&out->removed, "");
  oc_buf_puts(&out->changed, "");
  if (out->added.failed || out->removed.failed || out->changed.failed) {
    oc_catalog_changes_release(out);
    return oc_err_set(err, OC_ERR_NOMEM, "catalog: out of memory");
  }
  return 0;
}

void oc_catalog_changes_release(oc_catalog_changes_t *c) {
  if (!c)
    return;
  oc_buf_release(&c->added);
  oc_buf_release(&c->removed);
  oc_buf_release(&c->changed);
}

/* A list as logged: at most LIST_LOG_MAX bytes, then "...(+N more)". */
static void log_list(char *buf, size_t cap, const oc_buf_t *list, size_t n) {
  size_t shown = 0, len = 0;
  if (list->len <= LIST_LOG_MAX) {
    snprintf(buf, cap, "%s", list->p ? list->p : "");
    return;
  }
  while (len < list->len && len <= LIST_LOG_MAX) {
    const char *comma = memchr(list->p + len, ',', list->len - len);
    size_t next = comma ? (size_t)(comma - list->p) : list->len;
    if (next > LIST_LOG_MAX)
      break;
    len = next + 1;
    shown++;
  }
  snprintf(buf, cap, "%.*s...(+%zu more)", (int)(len ? len - 1 : 0), list->p, n - shown);
}

void oc_catalog_log_reloaded(const oc_catalog_t *old, const oc_catalog_t *cat,
                             const char *trigger) {
  oc_catalog_changes_t c;
  oc_err_t err;
  char added[LIST_LOG_MAX + 32], removed[LIST_LOG_MAX + 32], changed[LIST_LOG_MAX + 32];

  if (oc_catalog_changes(old, cat, &c, &err) != 0) {
    oc_log_info("catalog_reloaded metrics=%zu trigger=%s", oc_catalog_count(cat), trigger);
    return;
  }
  log_list(added, sizeof(added), &c.added, c.n_added);
  log_list(removed, sizeof(removed), &c.removed, c.n_removed);
  log_list(changed, sizeof(changed), &c.changed, c.n_changed);
  oc_log_info("catalog_reloaded added=%s removed=%s changed=%s metrics=%zu trigger=%s", added,
              removed, changed, oc_catalog_count(cat), trigger);
  oc_catalog_changes_release(&c);
}
