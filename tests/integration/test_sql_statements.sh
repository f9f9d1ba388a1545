#!/usr/bin/env bash
# test_sql_statements.sh - the statements the daemon sends are the files of
# schemas/sql/statements/, byte for byte. outcomes-rollupd runs as a login
# role of its own whose every statement PostgreSQL logs (log_statement =
# all); a load with restatements, tombstones and a dead letter makes it
# send every statement of the apply path and the refresh, and
# outcomes-replay rebuild the rebuild's. Then, from the server's log, for
# that role:
#   - every prepared statement executed is named oc_<file> and its text is
#     that file's;
#   - every other statement is BEGIN, COMMIT, ROLLBACK, or a file's text
#     (the session set-up; the schema check, run before the others are
#     prepared);
#   - every file was sent.
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

new_db sql_statements
topic="$(new_topic sql_statements 2)"
group="$(uniq_name g_statements)"
role="$(uniq_name oc_stmt)"
T_CLEANUP+=("psql '$BASE_CONNINFO' -qAtX -c 'DROP ROLE IF EXISTS \"$role\"' >/dev/null 2>&1")
psql "$BASE_CONNINFO" -qAtX -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE \"$role\" LOGIN" -c "GRANT outcomes_writer TO \"$role\"" \
  -c "ALTER ROLE \"$role\" SET log_statement = 'all'" >/dev/null || fail "role"
PG_LOG="${OUTCOMES_STACK_DIR}/pg/postgres.log"
from="$(stat -c %s "$PG_LOG")"

chaos_gen "$T_DIR/gen" 31 --orgs 2 --facilities 1 --grains day,month --periods 20 \
  --metrics er_visits,readmission_rate_30d
chaos_produce_gen "$topic"
printf 'not-a-key\tnot avro\n' | kcat -P -b "$BROKERS" -t "$topic" -p 0 -K '\t' ||
  fail "kcat: a record that must be dead-lettered"
as_role="${OUTCOMES_PG_CONNINFO} user=${role}"
OUTCOMES_PG_CONNINFO="$as_role" daemon "$topic" "$group"
OUTCOMES_PG_CONNINFO="$as_role" replay rebuild --metric er_visits >/dev/null ||
  fail "rebuild: exit $?"
[[ "$(sql "SELECT count(*) FROM outcomes.dead_letters")" == 1 ]] || fail "no dead letter"
sql "SELECT count(*) FROM outcomes.facts WHERE retracted" | grep -qv '^0$' ||
  fail "the load has no retraction"
# The checkpointer's lines (log_checkpoints) carry no user@db: one right
# after the role's last statement must not be read as part of it.
psql "$BASE_CONNINFO" -qAtX -c CHECKPOINT >/dev/null || fail "checkpoint"

tail -c +"$((from + 1))" "$PG_LOG" >"$T_DIR/pg.log"
python3 - "$T_DIR/pg.log" "$role" "${OC_SOURCE_DIR}/schemas/sql/statements" <<'PY' ||
import os, re, sys
log, role, sdir = sys.argv[1], sys.argv[2], sys.argv[3]
files = {f[:-4]: open(os.path.join(sdir, f)).read().strip()
         for f in os.listdir(sdir) if f.endswith(".sql")}
by_text = {t: n for n, t in files.items()}
# An entry starts with log_line_prefix '%m [%p] %q%u@%d ', where %q ends
# the prefix of a background process (the checkpointer's lines carry no
# user@db); a statement may span lines, each continuation line led by a tab.
start = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] (?:(\S*)@(\S*) )?(\w+):  (.*)$")
entries, cur = [], None
for line in open(log, errors="replace").read().split("\n"):
    m = start.match(line)
    if m:
        cur = [m.group(1), m.group(3), m.group(4)]
        entries.append(cur)
    elif cur is not None:
        cur[2] += "\n" + (line[1:] if line.startswith("\t") else line)
bad, sent = [], set()
for user, level, msg in entries:
    if user != role or level != "LOG":
        continue
    m = re.match(r"execute (\S+?): (.*)", msg, re.S)
    if m:
        name, text = m.group(1), m.group(2).strip()
        if name == "<unnamed>":
            if text not in by_text:
                bad.append(f"unnamed statement not from a file: {text[:120]!r}")
            else:
                sent.add(by_text[text])
        elif not name.startswith("oc_") or files.get(name[3:]) != text:
            bad.append(f"{name}: not the text of {name[3:]}.sql: {text[:120]!r}")
        else:
            sent.add(name[3:])
        continue
    m = re.match(r"statement: (.*)", msg, re.S)
    if m:
        text = m.group(1).strip()
        if text in ("BEGIN", "COMMIT", "ROLLBACK"):
            continue
        if text in by_text:
            sent.add(by_text[text])
            continue
        bad.append(f"simple statement not from a file: {text[:120]!r}")
missing = sorted(set(files) - sent)
print(f"{len(entries)} log entries, {len(sent)} of {len(files)} statement files sent")
for b in bad[:10]:
    print("BAD:", b)
if missing:
    print("NOT SENT:", ", ".join(missing))
sys.exit(1 if bad or missing else 0)
PY
  fail "the statements sent differ from schemas/sql/statements (above)"
pass "every statement the daemon and rebuild send is a file of schemas/sql/statements, byte for byte"
