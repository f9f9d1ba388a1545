#!/usr/bin/env bash
# test_chaos_disk.sh - disk pressure on PostgreSQL's storage: the disk that
# holds the test database fills up while outcomes-rollupd applies, then is
# freed. The daemon stalls (every batch fails with "could not extend file
# ...", SQLSTATE 53100 disk_full, and is retried with backoff), stays up,
# and resumes without loss once there is space again: I1-I5
# (chaos_common.bash).
#
# The database lives on a small tmpfs (size_mb) mounted in the test's
# directory: it is created in a tablespace there (its default tablespace),
# so facts, rollups, consumer_offsets, dead_letters, their indexes, the
# database's catalogs and the daemon's temporary staging tables
# (temp_tablespaces is empty: the database's tablespace) all sit on it. WAL
# stays in the cluster's data directory on the main disk, so PostgreSQL
# itself keeps running (a full WAL disk would be a PANIC, not a stalled
# daemon).
#
# Each cycle (1 short, 4 with CHAOS_LONG=1; each with one part of the
# stream): the daemon caught up, a filler file takes the tmpfs's free space
# but a little (reserve_kb: the daemon fills that itself), the next part of
# the stream is published. Once a batch of the daemon has failed for lack of
# space the disk is held full for hold_s seconds: the daemon must stay alive,
# its failed attempts (the database's "could not extend file" errors in the
# server's log: the faults counted) must be several but bounded (it backs
# off, capped at 2 s here; no busy loop), and its log must carry the error.
# A batch may still commit while the disk is full, in the room its own
# rolled-back attempts left in pages already written (PostgreSQL reuses
# it): what it stored is checked with the rest by I1-I5, and the test prints
# how far the offsets moved. Then the filler is removed and the daemon must
# commit again within CHAOS_RECOVERY_MAX_S (recovery_s).
#
# Needs root (mount) and the stack's own PostgreSQL cluster (the tablespace
# directory must be on the server's machine, owned by its OS user); without
# root it exits 77 (ctest: skipped), and as root anything that keeps it
# from running fails it. Cleanup on every exit: the database, the
# tablespace, the mount (T_CLEANUP in pipeline_common.bash).
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

# Without root the scenario cannot run here: skipped (77). As root (as CI
# runs) nothing may keep it from running: a skip there is a failure.
skip() {
  [[ "$(id -u)" != 0 ]] || fail "running as root, yet cannot run: $*"
  echo "skip: $*"
  exit 77
}

chaos_init disk
# reserves: kB left free by the filler, one per cycle. The short form
# streams 20 periods (about 3,300 records: the chunk published on the full
# disk has about 1,100, and about 150 fill the 128 kB reserve), the long
# one 30.
reserves=(128) orgs=2 hold_s=8 size_mb=24 periods=20
if chaos_long; then reserves=(0 128 256 64) orgs=8 hold_s=10 size_mb=32 periods=30; fi
cycles=${#reserves[@]}

[[ "$(id -u)" == 0 ]] || skip "needs root to mount a tmpfs for the tablespace"
datadir="$(psql "$BASE_CONNINFO" -qAtX -c "SHOW data_directory" 2>/dev/null || true)"
[[ -n "$datadir" && "$(realpath -m "$datadir")" == "$(realpath -m "$PG_DATA")" ]] ||
  skip "PostgreSQL at '$BASE_CONNINFO' is not the stack's cluster in $PG_DATA (or not a superuser)"
pg_user="$(stat -c %U "$PG_DATA")"

# The small disk: T_DIR (0700) must be searchable by the server's user.
chmod 0711 "$T_DIR"
disk="$T_DIR/pgdisk"
mkdir "$disk"
mount -t tmpfs -o "size=${size_mb}m,mode=0700" tmpfs "$disk" 2>"$T_DIR/mount.err" ||
  skip "cannot mount a tmpfs: $(head -n 1 "$T_DIR/mount.err")"
T_CLEANUP+=("umount '$disk' 2>/dev/null || umount -l '$disk'")
chown "$pg_user:" "$disk"

ts="$(uniq_name ts_chaos_disk)"
psql "$BASE_CONNINFO" -qAtX -c "CREATE TABLESPACE \"$ts\" LOCATION '$disk'" >/dev/null ||
  fail "create tablespace on $disk"
T_CLEANUP+=("psql \"\$BASE_CONNINFO\" -qAtX -c 'DROP TABLESPACE IF EXISTS \"$ts\"' >/dev/null 2>&1")
T_DB_OPTIONS="TABLESPACE \"$ts\"" new_db chaos_disk
[[ "$(sql "SELECT t.spcname FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace
           WHERE d.datname = current_database()")" == "$ts" ]] || fail "database not on $ts"

free_kb() { df -Pk "$disk" | awk 'NR == 2 {print $4}'; }
used_mb() { df -Pk "$disk" | awk 'NR == 2 {printf "%.1f", $3 / 1024}'; }
# A CHECKPOINT first, here and before each fill: no page of the database is
# left waiting for its first write (which would then fail in the
# checkpointer, not in the daemon).
checkpoint() { psql "$BASE_CONNINFO" -qAtX -c CHECKPOINT >/dev/null || fail "checkpoint"; }
checkpoint
echo "tmpfs ${size_mb} MiB: $(used_mb) MiB used by the migrated database"

# fill RESERVE_KB: a filler file takes the free space but RESERVE_KB.
fill() {
  local free
  checkpoint
  free="$(free_kb)"
  ((free > $1)) || fail "only $free kB free before filling: make size_mb larger"
  fallocate -l $(((free - $1) * 1024)) "$disk/filler" || fail "fallocate filler"
  (($(free_kb) <= $1)) || fail "filler: $(free_kb) kB free, want <= $1"
}

# The test database's "could not extend file" errors (SQLSTATE 53100: "No
# space left on device", or "wrote only N of 8192 bytes" when the last
# block was partly free) in the server's log, of the daemon's batches: one
# per failed statement, so one per failed batch attempt. The rollup
# refresh fails on the full disk too (its own retries, with its own
# backoff); the server logs the statement after each error, and the
# refresh's (refresh_*.sql) are not counted here.
PG_LOG="$OUTCOMES_STACK_DIR/pg/postgres.log"
disk_errors() {
  awk -v err="@$T_DB ERROR:  could not extend file" '
    index($0, err) { failed = 1; next }
    failed && / STATEMENT:  / { if ($0 !~ /refresh_/) n++; failed = 0 }
    END { print n + 0 }' "$PG_LOG"
}

topic="$(new_topic chaos_disk 3)"
group="$(uniq_name g_chaos_disk)"
chaos_gen "$T_DIR/gen" 77 --orgs "$orgs" --facilities 3 --grains day,week,month --periods "$periods" \
  --metrics er_visits,readmission_rate_30d,supply_cost,ar_balance
# The stream in cycles + 2 parts: the first applied on a disk with space, one
# published while the disk fills in each cycle, the last after the faults.
chaos_chunks "$CHAOS_GEN/stream.csv" $((cycles + 2))
chaos_produce "$topic" "$T_DIR/chunk.0.csv"
dpid=""
chaos_daemon_start dpid "$topic" "$group" -X batch.max.records=50
dlog="$(chaos_daemon_log "$dpid")"

for ((k = 1; k <= cycles; k++)); do
  reserve="${reserves[k - 1]}"
  chaos_wait_converged "$topic" "$group" "$dpid"
  fill "$reserve"
  base="$(disk_errors)"
  at="$(chaos_progress "$group")"
  chaos_produce "$topic" "$T_DIR/chunk.$k.csv"
  # The daemon fills the reserve and runs into the full disk.
  deadline=$((SECONDS + 60))
  until (($(disk_errors) > base)); do
    kill -0 "$dpid" 2>/dev/null || fail "daemon died on the full disk: $(tail -5 "$dlog")"
    ! chaos_caught_up "$topic" "$group" ||
      fail "cycle $k: chunk $k fitted in ${reserve} kB: make the chunks larger"
    ((SECONDS < deadline)) || fail "cycle $k: no disk-full error within 60 s"
    sleep 0.1
  done
  held="$(chaos_progress "$group")"
  t_full="$(now_s)"
  # Held full: the daemon stays up and keeps failing (counted below). The
  # offsets as last read (a query on the full disk may fail).
  last="$held"
  until awk -v e="$(elapsed_since "$t_full")" -v h="$hold_s" 'BEGIN { exit !(e >= h) }'; do
    kill -0 "$dpid" 2>/dev/null || fail "daemon died on the full disk: $(tail -5 "$dlog")"
    p="$(chaos_progress "$group")"
    [[ -z "$p" ]] || last="$p"
    chaos_rss_sample "$dpid"
    sleep 0.5
  done
  moved=$((last - held))
  failed=$(($(disk_errors) - base))
  CHAOS_FAULTS=$((CHAOS_FAULTS + failed))
  echo "cycle $k: ${reserve} kB left, applied $((held - at)) more records, then disk full" \
    "${hold_s} s at offset sum $held: $failed failed attempts, $moved records committed" \
    "meanwhile in reused room"
  # Several retries, but backing off (100 ms doubling to the 2 s cap: about
  # 10 in 10 s), not spinning.
  ((failed >= 3)) || fail "cycle $k: only $failed failed attempts in ${hold_s} s: not retrying?"
  ((failed <= 2 * hold_s + 10)) ||
    fail "cycle $k: $failed failed attempts in ${hold_s} s: no backoff"
  grep -q 'batch_failed .*SQLSTATE 53100: could not extend file' "$dlog" ||
    fail "the daemon did not log the disk-full error: $(grep -m3 'batch_failed\|pg_down' "$dlog")"
  rm -f "$disk/filler"
  chaos_recovered "$group" "$topic" "$dpid"
done
grep 'batch_failed .*SQLSTATE 53100' "$dlog" | sed 's/^/daemon: /'

chaos_produce "$topic" "$T_DIR/chunk.$((cycles + 1)).csv"
chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
chaos_wait_converged "$topic" "$group" "$dpid"
echo "tmpfs at the end: $(used_mb) MiB used"
# The checks' own sorts spill temporary files: on the main disk, not the
# small one (they are not the system under test).
PGOPTIONS="${PGOPTIONS:-} -c temp_tablespaces=pg_default" chaos_check_all "$group" "$topic"
chaos_check_daemon "$dpid"
chaos_result
