#!/usr/bin/env bash
# test_produce_spool_reload.sh - the spool watcher (outcomes-produce
# --watch) reloads its catalog file when it changes and on SIGHUP: a file of
# a metric its catalog lacks goes to failed/; the metric added to the file
# ("catalog_reloaded added=hie_users ... trigger=file_changed", no signal)
# lets the same file through to done/; SIGHUP reads the file again
# (trigger=sighup); a catalog file that no longer parses (or is gone) is
# logged once as catalog_reload_failed and the catalog in use is kept: the
# metric's files still go to done/. SIGTERM still stops it with exit 0.
source "$(dirname "$0")/produce_common.bash"

SPOOL="$T_DIR/spool"
LOG="$T_DIR/watch.log"
mkdir -p "$SPOOL"
fail_details() { echo "--- watcher log:"; tail -20 "$LOG"; }
grep -vP '^hie_users\t' "$CATALOG" >"$T_DIR/catalog.tsv"
topic="$(new_topic spool_reload 1)"

"$PRODUCE" -b "$BROKERS" --catalog "$T_DIR/catalog.tsv" --schema-dir "$SCHEMAS" -t "$topic" \
  --watch "$SPOOL" -X watch.rescan.interval=200ms >"$LOG" 2>&1 &
WATCHER=$!
T_PIDS+=("$WATCHER")
wait_for 20 grep -q "watch_start" "$LOG" || fail "the watcher did not start"

n=0
# drop_hie: a file of one hie_users row into the spool; its name in NAME.
drop_hie() {
  n=$((n + 1))
  NAME="hie-$n.csv"
  printf '%s\norg-1,,hie_users,MONTH,2024-%02d-01,4200,,,test,\n' "$HDR" "$n" >"$T_DIR/.$NAME"
  mv "$T_DIR/.$NAME" "$SPOOL/$NAME"
}
log_has() { grep -qF -- "$1" "$LOG"; }

drop_hie
wait_for 20 test -f "$SPOOL/failed/$NAME" || fail "$NAME did not go to failed/"
grep -q "unknown metric 'hie_users'" "$SPOOL/failed/$NAME.errors" ||
  fail "$NAME.errors: $(cat "$SPOOL/failed/$NAME.errors")"
pass "a file of a metric the catalog lacks goes to failed/"

cp "$CATALOG" "$T_DIR/.catalog.tsv.new"
mv "$T_DIR/.catalog.tsv.new" "$T_DIR/catalog.tsv"
wait_for 20 log_has "catalog_reloaded added=hie_users removed= changed= metrics=19 trigger=file_changed" ||
  fail "no catalog_reloaded line after the file changed"
mv "$SPOOL/failed/$NAME" "$SPOOL/$NAME"
wait_for 20 test -f "$SPOOL/done/$NAME" || fail "$NAME did not go to done/ after the reload"
[[ ! -e "$SPOOL/done/$NAME.errors" ]] || fail "$NAME.errors: $(cat "$SPOOL/done/$NAME.errors")"
pass "a changed catalog file is read again without a signal; the same file goes to done/"

kill -HUP "$WATCHER"
wait_for 20 log_has "catalog_reloaded added= removed= changed= metrics=19 trigger=sighup" ||
  fail "no catalog_reloaded line after SIGHUP"
pass "SIGHUP reads the catalog file again"

printf 'code\tname\tunits\n' >"$T_DIR/.catalog.tsv.new"
mv "$T_DIR/.catalog.tsv.new" "$T_DIR/catalog.tsv"
wait_for 20 log_has "catalog_reload_failed reason=\"$T_DIR/catalog.tsv:1: header: column 3: unknown column 'units'" ||
  fail "no catalog_reload_failed line for a bad file"
log_has "metrics=19 trigger=file_changed: the catalog in use is kept" ||
  fail "catalog_reload_failed: $(grep reload_failed "$LOG")"
rm "$T_DIR/catalog.tsv"
wait_for 20 log_has "catalog_reload_failed reason=\"open '$T_DIR/catalog.tsv': No such file or directory\"" ||
  fail "no catalog_reload_failed line for a missing file"
drop_hie
wait_for 20 test -f "$SPOOL/done/$NAME" || fail "$NAME did not go to done/ with the catalog kept"
sleep 1 # five rescans: a version that failed is not tried again
[[ "$(grep -c catalog_reload_failed "$LOG")" == 2 ]] ||
  fail "catalog_reload_failed lines: $(grep -c catalog_reload_failed "$LOG"), want 2"
[[ "$(grep -c catalog_reloaded "$LOG")" == 2 ]] || fail "reloaded a bad catalog"
[[ "$(kcat -C -b "$BROKERS" -t "$topic" -e -q -f '%k\n' | sort -u | wc -l)" == 2 ]] ||
  fail "records on the topic: $(kcat -C -b "$BROKERS" -t "$topic" -e -q -f '%k\n')"
pass "a catalog file that does not parse, or is gone, is tried once and keeps the catalog in use"

kill -TERM "$WATCHER"
wait "$WATCHER" || fail "watcher exit $? after SIGTERM"
pass "SIGTERM stops the watcher with exit 0"
