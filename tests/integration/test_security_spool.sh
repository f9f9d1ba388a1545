#!/usr/bin/env bash
# test_security_spool.sh - a spool writer cannot make outcomes-produce
# --watch read a file it may not read itself. The scan skips symbolic links,
# but a writer can swap a listed file for one before the watcher takes it:
# here, while a large a.csv is being published, b.csv becomes a link to a
# secret of the service. The watcher must open b.csv without following the
# link, move it to failed/ with a report that says why, and never quote the
# secret into the report or the log. A bad header is quoted only in a short
# escaped prefix.
source "$(dirname "$0")/produce_common.bash"

SPOOL="$T_DIR/spool"
mkdir -p "$SPOOL"
SECRET="s3cr3t-sasl-password-$RANDOM$RANDOM"
printf '%s\n' "$SECRET" >"$T_DIR/sasl-password"
chmod 600 "$T_DIR/sasl-password"

topic="$(new_topic sec_spool)"
gen_csv "$SPOOL/a.csv" 300000
gen_csv "$SPOOL/b.csv" 3 300000
# Both there before the watcher starts: its first scan lists them, a.csv
# first.
"$PRODUCE" -b "$BROKERS" --catalog "$CATALOG" --schema-dir "$SCHEMAS" -t "$topic" \
  --watch "$SPOOL" -X watch.rescan.interval=500ms >>"$T_DIR/watch.log" 2>&1 &
T_PIDS+=($!)
wait_for 30 grep -q 'file_start file="a.csv"' "$T_DIR/watch.log" ||
  fail "a.csv not started: $(tail -5 "$T_DIR/watch.log")"
grep -q 'file_start file="b.csv"' "$T_DIR/watch.log" &&
  fail "b.csv was taken before a.csv: the swap below would come too late"
# The swap: b.csv, listed as a regular file, becomes a link to the secret.
ln -s "$T_DIR/sasl-password" "$SPOOL/.b.link"
mv -T "$SPOOL/.b.link" "$SPOOL/b.csv"
grep -q 'file_done file="a.csv"' "$T_DIR/watch.log" &&
  fail "a.csv was done before the swap: make it larger"

wait_for 60 test -e "$SPOOL/failed/b.csv.errors" ||
  fail "b.csv not in failed/: $(ls -R "$SPOOL"; tail -5 "$T_DIR/watch.log")"
wait_for 60 test -e "$SPOOL/done/a.csv" || fail "a.csv not done: $(tail -5 "$T_DIR/watch.log")"
[[ -L "$SPOOL/failed/b.csv" ]] || fail "failed/b.csv is not the link"
report="$(cat "$SPOOL/failed/b.csv.errors")"
[[ "$report" == "b.csv:0: b.csv: not a regular file (a symbolic link): not read" ]] ||
  fail "report: $report"
grep -rq "$SECRET" "$T_DIR/watch.log" "$SPOOL"/failed/*.errors && fail "the secret was quoted"
[[ "$(topic_count "$topic")" == 300000 ]] || fail "topic: $(topic_count "$topic") records"
pass "a file swapped for a symbolic link is moved to failed/ unread, the secret nowhere"

# A long unknown header is quoted in a short prefix, escaped.
long="$(printf 'x%.0s' {1..200})"
printf '%s,\033[31mred\n' "$long" >"$T_DIR/hdr.csv"
cp "$T_DIR/hdr.csv" "$SPOOL/.hdr.partial"
mv "$SPOOL/.hdr.partial" "$SPOOL/hdr.csv"
wait_for 30 test -e "$SPOOL/failed/hdr.csv.errors" || fail "hdr.csv not in failed/"
report="$(cat "$SPOOL/failed/hdr.csv.errors")"
[[ "$report" == "hdr.csv:1: unknown columns 'xxxxxxxxxxxxxxxxxxxxxxxx...', '\\x1B[31mred'" ]] ||
  fail "header report: $report"
pass "an unknown column is quoted in at most 24 bytes, control bytes escaped"
