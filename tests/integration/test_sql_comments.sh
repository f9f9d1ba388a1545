#!/usr/bin/env bash
# test_sql_comments.sh - the views document themselves, in the words of the
# analyst guide. On a freshly migrated database:
#   - every view of schema outcomes, and every column of every view, has a
#     non-empty comment (what \d+ and BI tools show); the failure lists each
#     one that has none;
#   - every view the outcomes_analyst role may read has a section
#     "## outcomes.<view>" in docs/analysts.md, and every section names a
#     view that exists;
#   - the comment of such a view is found in the text of its section, and
#     the comment of each of its columns in the "meaning" cell of the row of
#     the section's table that names the column (Markdown backticks and
#     line breaks aside). A row whose meaning is "as in `<view>`", or a
#     column the section's table does not list, is looked up in the
#     sections of the views the section names (metric_changes and
#     org_benchmarks share the columns of metric_values); a table row that
#     names a column the view does not have is drift too.
# Views only the writer reads (facts, rollups) need comments, not sections.
# OC_TEST_SQL_DIR and OC_TEST_GUIDE override the migrations directory and
# the guide (default schemas/sql and docs/analysts.md).
# shellcheck source=tests/integration/pipeline_common.bash
source "$(dirname "$0")/pipeline_common.bash"

SQL_DIR="${OC_TEST_SQL_DIR:-$SQL_DIR}"
GUIDE="${OC_TEST_GUIDE:-${OC_SOURCE_DIR}/docs/analysts.md}"

new_db sql_comments

# Every view and its columns, with their comments and whether the analyst
# role may read the view, as JSON.
sql "SELECT json_agg(json_build_object(
               'view', c.relname,
               'comment', pg_catalog.obj_description(c.oid, 'pg_class'),
               'analyst', pg_catalog.has_table_privilege('outcomes_analyst', c.oid, 'SELECT'),
               'columns', (SELECT json_agg(json_build_object(
                                    'column', a.attname,
                                    'comment', pg_catalog.col_description(c.oid, a.attnum))
                                  ORDER BY a.attnum)
                             FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
             ORDER BY c.relname)
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'outcomes' AND c.relkind IN ('v', 'm')" >"$T_DIR/views.json"

python3 - "$T_DIR/views.json" "$GUIDE" >"$T_DIR/report" 2>&1 <<'PY' ||
import json, re, sys

views = json.load(open(sys.argv[1])) or []
guide = open(sys.argv[2]).read()


def norm(s):
    return " ".join(s.replace("`", "").replace("\\|", "|").split())


# "## outcomes.<view>" sections: their text, and their table rows as
# (columns named in the first cell, meaning cell).
sections = {}
for m in re.finditer(r"^## outcomes\.(\w+)\n(.*?)(?=^## |\Z)", guide, re.S | re.M):
    rows = []
    for line in m.group(2).split("\n"):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 3 and cells[0] != "column" and not set(cells[0]) <= set("-: "):
            rows.append((re.findall(r"`(\w+)`", cells[0]), cells[2]))
    sections[m.group(1)] = (m.group(2), rows)

problems = []
n_views = n_columns = n_checked = 0
by_name = {v["view"]: v for v in views}
for name in sections:
    if name not in by_name:
        problems.append(f"docs: section outcomes.{name} names no view of the database")


def meaning(section, column, seen):
    """The meaning cell of the row naming column, following "as in" and
    the views the section names."""
    text, rows = sections[section]
    seen.add(section)
    for cols, cell in rows:
        if column in cols:
            m = re.match(r"as in `(\w+)`", cell)
            if not m:
                return cell
            if m.group(1) in sections and m.group(1) not in seen:
                return meaning(m.group(1), column, seen)
            return None
    for other in re.findall(r"`(\w+)`", text):
        if other in sections and other not in seen:
            found = meaning(other, column, seen)
            if found is not None:
                return found
    return None


for v in views:
    name, cols = v["view"], v["columns"] or []
    n_views += 1
    n_columns += len(cols)
    if not (v["comment"] or "").strip():
        problems.append(f"no comment: view outcomes.{name}")
    for c in cols:
        if not (c["comment"] or "").strip():
            problems.append(f"no comment: column outcomes.{name}.{c['column']}")
    if name not in sections:
        if v["analyst"]:
            problems.append(f"docs: outcomes.{name} is readable by outcomes_analyst "
                            f"but has no section '## outcomes.{name}'")
        continue
    text, rows = sections[name]
    names = {c["column"] for c in cols}
    for listed, _ in rows:
        for col in listed:
            if col not in names:
                problems.append(f"docs: the table of outcomes.{name} lists {col}, "
                                f"which the view does not have")
    if v["comment"] and norm(v["comment"]) not in norm(text):
        problems.append(f"drift: the comment of view outcomes.{name} is not in its section "
                        f"of the guide: {v['comment']!r}")
    n_checked += 1
    for c in cols:
        if not c["comment"]:
            continue
        cell = meaning(name, c["column"], set())
        if cell is None:
            problems.append(f"docs: no row of the guide describes outcomes.{name}.{c['column']}")
        elif norm(c["comment"]) not in norm(cell):
            problems.append(f"drift: the comment of outcomes.{name}.{c['column']} "
                            f"{c['comment']!r} is not in the guide's {norm(cell)!r}")
        else:
            n_checked += 1

if n_views < 9 or n_columns < 100:
    problems.append(f"only {n_views} views and {n_columns} columns found")
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"{n_views} views, {n_columns} columns commented; {n_checked} comments "
      f"found in the guide")
PY
  fail "$(printf 'comments of the views:\n%s' "$(cat "$T_DIR/report")")"
pass "$(cat "$T_DIR/report")"

# \d+ shows them (psql reads pg_description, as BI tools do).
described="$(psql "$OUTCOMES_PG_CONNINFO" -X -c '\d+ outcomes.fact_sources' 2>&1)" ||
  fail "\\d+ outcomes.fact_sources: $described"
[[ "$described" == *"Kafka topic of the record the standing version was applied from"* ]] ||
  fail "\\d+ outcomes.fact_sources does not show the column comments: $described"
pass "\\d+ outcomes.fact_sources shows the comments"
