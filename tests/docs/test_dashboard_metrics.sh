#!/usr/bin/env bash
# test_dashboard_metrics.sh - the Grafana dashboards (deploy/grafana/) and the
# Prometheus rules (deploy/prometheus/) against the metrics the daemons export.
#
# Source of truth: the registration calls in the C code. Starting the built
# outcomes-rollupd and outcomes-produce --watch needs Kafka and PostgreSQL,
# too heavy here (tests/integration/test_daemons_metrics.sh scrapes both and
# checks docs/metrics.md against what they serve). This test reads the
# families every oc_metrics_add_counter/gauge/histogram() call of lib/,
# producers/, consumers/ and tools/ declares (name, type and label array),
# plus the registry's own outcomes_metrics_series_dropped_total (DROPPED_NAME
# in lib/metrics.c, label family), and cross-checks them with the tables of
# docs/metrics.md (the same names both ways). Then:
#   - every metric name in the daemon dashboard's PromQL (panels and template
#     variables), in the rules' expressions and in the rules' unit-test series
#     is a declared family (a histogram's _bucket, _sum or _count), a name
#     recorded by the rules file (level:metric:operation, its metric part a
#     declared family), or Prometheus's own per-target series `up`;
#   - each label in a selector, a grouping (by, without, on, ignoring) or a
#     legend is one the family declares, or job, instance (the target's) or
#     le (a histogram's bucket); rate/irate/increase take counters and
#     histogram series only, histogram_quantile a _bucket;
#   - each dashboard selector of a daemon metric filters on $job and $instance;
#   - the dashboard's PromQL parses: promtool check rules on it, Grafana's
#     variables replaced by values;
#   - both dashboards are valid JSON (python3's json), schemaVersion 38, with
#     their datasource variable (DS_PROMETHEUS, DS_POSTGRES); every panel
#     but the rows has that datasource and at least one query, unique ids.
# Needs python3 and promtool (label unit). Run by ctest with OC_SOURCE_DIR.
set -euo pipefail

SRC="${OC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=tests/integration/tap.bash
source "${SRC}/tests/integration/tap.bash"
command -v promtool >/dev/null || bail "promtool not found: install Debian's prometheus package (deploy/lib/install-deps.sh)"

T="$(mktemp -d /tmp/oc_test_dashboard_metrics.XXXXXX)"
trap 'rm -rf "$T"' EXIT

# The checks print "ok MESSAGE" or "not_ok MESSAGE" lines; the PromQL of the
# daemon dashboard goes to T/dashboard.rules.yml for promtool.
python3 - "$SRC" "$T" >"${T}/results" <<'PY'
import glob, json, os, re, sys

src, tmp = sys.argv[1], sys.argv[2]


def report(good, msg, detail=None):
    print(("ok " if good else "not_ok ") + msg + ("" if good or not detail else ": " + detail))


# ---- what the C code declares ------------------------------------------------
families = {}  # name -> (type, labels)
label_arrays = {}
c_files = sorted(sum((glob.glob(os.path.join(src, d, "*.c"))
                      for d in ("lib", "producers", "consumers", "tools")), []))
for path in c_files:
    text = open(path).read()
    for m in re.finditer(r'static\s+const\s+char\s*\*\s*const\s+(\w+)\[\]\s*=\s*\{([^}]*)\}', text):
        label_arrays[(path, m.group(1))] = re.findall(r'"([^"]*)"', m.group(2))
for path in c_files:
    text = open(path).read()
    for m in re.finditer(
            r'oc_metrics_add_(counter|gauge|histogram)\s*\(\s*[^,()]+,\s*"([^"]+)"\s*,'
            r'\s*(?:"(?:[^"\\]|\\.)*"\s*)+,\s*(\w+)\s*,', text):
        kind, name, arr = m.groups()
        if arr == "NULL":
            labels = []
        elif (path, arr) in label_arrays:
            labels = label_arrays[(path, arr)]
        else:
            report(False, f"{os.path.basename(path)}: {name}: label array {arr} not found")
            continue
        if name in families and families[name] != (kind, labels):
            report(False, f"{name} declared twice with different types or labels")
        families[name] = (kind, labels)
dropped = re.search(r'#define\s+DROPPED_NAME\s+"([^"]+)"', open(os.path.join(src, "lib/metrics.c")).read())
if dropped:
    families[dropped.group(1)] = ("counter", ["family"])
report(len(families) >= 25 and dropped is not None,
       f"the C code declares {len(families)} metric families (lib/, producers/, consumers/, tools/)",
       "expected at least 25 and DROPPED_NAME: has the registration call changed?")

doc = set()
for line in open(os.path.join(src, "docs/metrics.md")):
    m = re.match(r'\| `(outcomes_[a-z0-9_]+)` \| (counter|gauge|histogram) \|', line)
    if m:
        doc.add(m.group(1))
        if m.group(1) in families and families[m.group(1)][0] != m.group(2):
            report(False, f"docs/metrics.md: {m.group(1)} is a {m.group(2)}, the code declares a {families[m.group(1)][0]}")
missing_doc = sorted(set(families) - doc)
missing_code = sorted(doc - set(families))
report(not missing_doc and not missing_code,
       "docs/metrics.md lists exactly the families the C code declares",
       f"not in the doc: {missing_doc}; not in the code: {missing_code}")

series = {}  # exported series name -> (family, type, labels)
for name, (kind, labels) in families.items():
    if kind == "histogram":
        series[name + "_bucket"] = (name, kind, labels + ["le"])
        series[name + "_sum"] = (name, kind, labels)
        series[name + "_count"] = (name, kind, labels)
    else:
        series[name] = (name, kind, labels)
TARGET = ["job", "instance"]
series["up"] = ("up", "gauge", [])

# ---- the rules file (YAML read for its record, alert and expr keys only) ------------
def yaml_values(path, keys):
    """(key, value) of each `key:` of keys in a YAML file, in order: plain,
    quoted or block scalars."""
    out = []
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r'^(\s*)(?:- )?(' + "|".join(keys) + r'):\s*(.*)$', lines[i])
        if not m:
            i += 1
            continue
        indent = len(m.group(1)) + (2 if lines[i].lstrip().startswith("- ") else 0)
        val = m.group(3).strip()
        if val in ("|", "|-", "|+", ">", ">-", ">+"):
            block = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i].strip())
                i += 1
            out.append((m.group(2), " ".join(b for b in block if b)))
            continue
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "'\"":
            val = val[1:-1]
        out.append((m.group(2), val))
        i += 1
    return out


rules_path = os.path.join(src, "deploy/prometheus/outcomes.rules.yml")
rules = []  # [kind, name, expr]
for key, val in yaml_values(rules_path, ["record", "alert", "expr"]):
    if key == "expr":
        if rules and rules[-1][2] is None:
            rules[-1][2] = val
        else:
            report(False, f"the rules file: an expr outside a rule: {val}")
    else:
        rules.append([key, val, None])
recorded = {}  # name -> the labels its expression keeps (its grouping)
for kind, name, expr in rules:
    if kind == "record" and expr:
        m = re.search(r'\bby\s*\(([^()]*)\)', expr)
        recorded[name] = [l.strip() for l in m.group(1).split(",")] if m else []
rule_exprs = [expr for _, _, expr in rules]
report(len(recorded) >= 5 and len(rules) >= 15 and None not in rule_exprs,
       f"the rules file: {len(recorded)} recording rules, {len(rules) - len(recorded)} alerts, each with an expr")
for r in sorted(recorded):
    parts = r.split(":")
    mid = parts[1] if len(parts) == 3 else ""
    report(len(parts) == 3 and parts[0] == "outcomes" and
           any(("outcomes_" + mid + s) in families for s in ("", "_total")),
           f"recorded name {r} is level:metric:operation over a declared family")

# ---- PromQL ---------------------------------------------------------------------------
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan"}
GROUPING = r'\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)'


def check_promql(where, expr, legend=None, need_vars=False):
    problems = []
    text = re.sub(r'\$\{?\w+\}?', '1', expr.replace("$__rate_interval", "5m").replace("$__range", "1h"))
    selectors = [(m.group(1), m.group(2)) for m in
                 re.finditer(r'([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}', text)]
    grouping = [g.strip() for m in re.finditer(GROUPING, text) for g in m.group(2).split(",") if g.strip()]
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    bare = re.sub(r'\{[^{}]*\}', ' ', bare)
    bare = re.sub(GROUPING, ' ', bare)
    bare = re.sub(r'\[[^\]]*\]', ' ', bare)
    names = [m.group(1) for m in re.finditer(r'(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()', bare)
             if m.group(1) not in KEYWORDS and not re.match(r'^\d', m.group(1))]
    used = []
    for n in names:
        if n in series:
            used.append(n)
        elif n in recorded:
            used.append(n)
        else:
            problems.append(f"{n} is not exported")
    # Labels: those of the families the expression reads, the target's, le.
    allowed = set(TARGET)
    for n in used:
        if n in series:
            allowed |= set(series[n][2])
        elif n in recorded:
            allowed |= set(recorded[n])
    for name, body in selectors:
        labels = re.findall(r'(\w+)\s*(?:=~|!~|!=|=)', body)
        if name and name in series:
            ok_labels = set(series[name][2]) | set(TARGET)
            bad = [l for l in labels if l not in ok_labels]
            if bad:
                problems.append(f"{name} has no label {', '.join(bad)}")
        elif not name:
            problems.append("a selector without a metric name")
    for g in grouping:
        if g not in allowed:
            problems.append(f"grouping label {g} is on none of {sorted(set(used))}")
    for g in re.findall(r'\{\{\s*(\w+)\s*\}\}', legend or ""):
        if g not in allowed:
            problems.append(f"legend label {g} is on none of {sorted(set(used))}")
    for fn, n in re.findall(r'\b(rate|irate|increase)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)', text):
        if n in series and series[n][1] == "gauge":
            problems.append(f"{fn}() of the gauge {n}")
    for n in re.findall(r'histogram_quantile\([^,]*,.*?([a-zA-Z_:][a-zA-Z0-9_:]*)\{', text):
        if not n.endswith("_bucket"):
            problems.append(f"histogram_quantile over {n}, not a _bucket")
    if need_vars:
        for m in re.finditer(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^{}]*)\}', expr):
            if not ('job=~"$job"' in m.group(2) and 'instance=~"$instance"' in m.group(2)):
                problems.append(f"{m.group(1)} does not filter on $job and $instance")
    if not used:
        problems.append("no metric found")
    report(not problems, f"{where}: {sorted(set(used))}", "; ".join(problems))


for i, e in enumerate(rule_exprs):
    check_promql(f"rules expr {i + 1}", e)

test_series = re.findall(r"series:\s*'([^']*)'", open(os.path.join(src, "deploy/prometheus/outcomes.rules.test.yml")).read())
report(len(test_series) >= 20, f"the rules' unit tests feed {len(test_series)} series")
for s in sorted(set(test_series)):
    check_promql(f"rules test series {s.split('{')[0]}", s)

# ---- the dashboards -------------------------------------------------------------------
def load(path):
    try:
        return json.load(open(path))
    except ValueError as e:
        report(False, f"{os.path.relpath(path, src)} is valid JSON", str(e))
        return None


def check_dashboard(path, ds_var, ds_type, query_key):
    rel = os.path.relpath(path, src)
    d = load(path)
    if d is None:
        return []
    report(True, f"{rel} is valid JSON")
    report(d.get("schemaVersion") == 38 and d.get("uid") and d.get("title"),
           f"{rel}: schemaVersion 38, a uid and a title")
    var = [v for v in d.get("templating", {}).get("list", []) if v.get("name") == ds_var]
    report(len(var) == 1 and var[0].get("type") == "datasource" and var[0].get("query") == ds_type,
           f"{rel}: a datasource variable {ds_var} of type {ds_type}")
    ds = {"type": ds_type, "uid": "${" + ds_var + "}"}
    ids, queries, bad = [], [], []
    for p in d.get("panels", []):
        ids.append(p.get("id"))
        if p.get("type") == "row":
            if p.get("targets"):
                bad.append(f"row {p.get('title')!r} has queries")
            continue
        if p.get("datasource") != ds:
            bad.append(f"{p.get('title')!r}: datasource {p.get('datasource')}")
        targets = p.get("targets") or []
        if not targets:
            bad.append(f"{p.get('title')!r}: no targets")
        for t in targets:
            if t.get("datasource") != ds or not (t.get(query_key) or "").strip():
                bad.append(f"{p.get('title')!r} {t.get('refId')}: no {query_key} or another datasource")
            else:
                queries.append((p.get("title"), t))
        if "gridPos" not in p:
            bad.append(f"{p.get('title')!r}: no gridPos")
    report(not bad and len(queries) >= 7, f"{rel}: every panel has the {ds_var} datasource and queries "
           f"({len(queries)} queries)", "; ".join(bad))
    report(len(ids) == len(set(ids)) and None not in ids, f"{rel}: panel ids unique")
    return d, queries


daemons = check_dashboard(os.path.join(src, "deploy/grafana/outcomes-daemons.json"),
                          "DS_PROMETHEUS", "prometheus", "expr")
analyst = check_dashboard(os.path.join(src, "deploy/grafana/outcomes-analyst.json"),
                          "DS_POSTGRES", "postgres", "rawSql")
rules_out = ["groups:", "  - name: dashboard", "    rules:"]
if daemons:
    d, queries = daemons
    for title, t in queries:
        check_promql(f"dashboard {title!r} {t['refId']}", t["expr"], t.get("legendFormat"), need_vars=True)
        e = t["expr"].replace("$__rate_interval", "5m").replace("$__range", "1h")
        e = e.replace("$job", ".*").replace("$instance", ".*").replace("$max_failures", "3")
        rules_out.append(f"      - record: dashboard_query_{len(rules_out)}")
        rules_out.append("        expr: " + json.dumps(e))
    for v in d["templating"]["list"]:
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
        m = re.match(r'^label_values\((.*),\s*(\w+)\)$', q)
        report(bool(m), f"dashboard variable {v['name']}: label_values(SELECTOR, LABEL)", q)
        if m:
            check_promql(f"dashboard variable {v['name']}", m.group(1), "{{" + m.group(2) + "}}")
open(os.path.join(tmp, "dashboard.rules.yml"), "w").write("\n".join(rules_out) + "\n")
print(f"queries {len(rules_out) // 2 - 1}")
PY

while read -r word msg; do
  case "$word" in
  ok) ok "$msg" ;;
  not_ok) not_ok "$msg" ;;
  queries) queries="$msg" ;;
  esac
done <"${T}/results"

rc=0
out="$(promtool check rules "${T}/dashboard.rules.yml" 2>&1)" || rc=$?
if [[ "$rc" -eq 0 && "$out" == *"SUCCESS: ${queries:-?} rules found"* ]]; then
  ok "promtool parses the ${queries} PromQL queries of the daemon dashboard"
else
  printf '%s\n' "$out" | sed 's/^/#   /'
  not_ok "promtool parses the PromQL queries of the daemon dashboard (exit ${rc})"
fi

printf '1..%d\n' "$CHECKS"
if [[ "$FAILURES" -ne 0 ]]; then
  printf '# %d of %d checks failed\n' "$FAILURES" "$CHECKS"
  exit 1
fi
