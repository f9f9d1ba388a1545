#!/usr/bin/env bash
# test_chaos_hostile.sh - hostile input mixed with valid records:
#  * 10,000 mutated messages (20,000 with CHAOS_LONG=1) built with python3
#    from valid encoded ones taken off the topic, published raw with kcat:
#    bit flips in the magic and the schema fingerprint, truncation, huge and
#    negative length prefixes, trailing bytes, random garbage values,
#    garbage keys and bit-flipped keys with valid values, tombstones with
#    garbage keys. Every one is dead-lettered (the count equals what was
#    sent), the daemon stays alive with bounded RSS.
#  * ids with SQL metacharacters, quotes, backslashes, %, | and non-ASCII
#    text published by outcomes-produce: stored verbatim (the SELECTed ids
#    compared byte for byte).
#  * ids with C0/C1 control characters (which outcomes-produce refuses),
#    crafted as Avro: dead-lettered as bad_field.
#  * 2,000 body flips (5,000 with CHAOS_LONG=1): valid messages of a
#    dedicated org (bodyflip-org, produced only for this, so that a flipped
#    but valid observed_at cannot win over the data the other checks
#    compare), each republished with its own key and one random bit flipped
#    anywhere after the 10-byte single-object header (seed printed;
#    CHAOS_FLIP_SEED=N repeats a run). Avro has no checksum, so a flip may
#    still decode to a valid observation. chaos_bodyflip.py decodes what was
#    sent in Python and predicts, independently of the daemon, which flips
#    are invalid and why; asserted: every flip ends in exactly one place
#    (flips found among the dead letters by their raw bytes + flips the
#    counters say were applied or stale = flips sent; the other dead letters
#    are exactly the other hostile messages); a flip is dead-lettered if and
#    only if it is invalid, with its raw value stored byte for byte, an
#    error code it violates (undecodable, bad_field, bad_key when an
#    identity field changed, unknown_metric, misaligned_period,
#    out_of_range, ratio_*) and a message naming the field; the standing
#    fact of each bodyflip-org identity is one of the versions sent for its
#    key and exactly the last-writer-wins winner among its template and the
#    valid flips, and these winners are its expected facts in I3.
# Then I1-I5 (chaos_common.bash).
# shellcheck source=tests/integration/chaos_common.bash
source "$(dirname "$0")/chaos_common.bash"

chaos_init hostile
n_bad=10000
n_flip=2000
if chaos_long; then
  n_bad=20000
  n_flip=5000
fi
flip_seed="${CHAOS_FLIP_SEED:-$(((RANDOM << 15) | RANDOM))}"
echo "body flips: $n_flip, seed $flip_seed (CHAOS_FLIP_SEED=$flip_seed repeats them)"
FLIP_ORG=bodyflip-org
FLIPPY="$(dirname "$0")/chaos_bodyflip.py"

new_db chaos_hostile
topic="$(new_topic chaos_hostile 3)"
group="$(uniq_name g_chaos_hostile)"
chaos_gen "$T_DIR/gen" 74 --orgs 2 --facilities 2 --grains day,month --periods 20 \
  --metrics er_visits,readmission_rate_30d,supply_cost
split_stream "$CHAOS_GEN/stream.csv" "$T_DIR/part1.csv" "$T_DIR/part2.csv" 50
chaos_produce "$topic" "$T_DIR/part1.csv"

# Valid ids with metacharacters and non-ASCII text (org and facility).
python3 - "$T_DIR/meta.csv" "$T_DIR/meta.hex" <<'EOF'
import sys
ids = ["'; DROP TABLE x; --", 'q"uo\'te', "back\\slash\\", "100%_off", "pi|pe",
       "ünïcödé-病院-🏥", "a'b\"c\\d%e|f", "$1 OR 1=1; SELECT pg_sleep(10)", "\u00a0nbsp\u00a0",
       "—dash—", "日本語"]
rows, hexes = [], []
for i, o in enumerate(ids):
    f = '"' + o.replace('"', '""') + '"'
    fac = '"' + (o + "-f").replace('"', '""') + '"'
    rows.append(f"{f},{fac},er_visits,MONTH,2021-{i + 1:02d}-01,{i + 5},,,chaos-meta,"
                f"2023-03-01T00:00:00Z\n")
    hexes.append(o.encode().hex() + " " + (o + "-f").encode().hex())
open(sys.argv[1], "w").write("org_id,facility_id,metric,grain,period_start,value,numerator,"
                             "denominator,source,observed_at\n" + "".join(rows))
open(sys.argv[2], "w").write("\n".join(sorted(hexes)) + "\n")
EOF
chaos_produce "$topic" "$T_DIR/meta.csv"
# shellcheck disable=SC2034 # read by chaos_check_facts
CHAOS_EXTRA_EXPECTED="\\copy public.chaos_expected FROM '$T_DIR/meta.csv' WITH (FORMAT csv, HEADER true)"

# The templates of the body flips: one valid version of each identity of
# the dedicated org (count, ratio and amount metrics; facility and org
# level; two grains).
python3 - "$T_DIR/flip_templates.csv" "$FLIP_ORG" <<'EOF'
import sys
rows = []
i = 0
for fac in ["", "bf-east", "bf-west-2"]:
    for metric in ["er_visits", "readmission_rate_30d", "supply_cost"]:
        for grain, start in [("MONTH", "2022-%02d-01"), ("DAY", "2022-03-%02d")]:
            for p in range(1, 9 if grain == "MONTH" else 4):
                i += 1
                num = den = ""
                if metric == "er_visits":
                    val = str(100 + 37 * i)
                elif metric == "supply_cost":
                    val = "%d.%02d" % (25000 + 911 * i, i % 100)
                else:
                    num, den = str(20 + i % 50), str(900 + 13 * i)
                    val = repr(int(num) / int(den))
                rows.append(f"{sys.argv[2]},{fac},{metric},{grain},{start % p},{val},{num},{den},"
                            f"flip-src-{i % 3},2023-06-{1 + i % 28:02d}T{i % 24:02d}:17:29.{i:06d}Z\n")
open(sys.argv[1], "w").write("org_id,facility_id,metric,grain,period_start,value,numerator,"
                             "denominator,source,observed_at\n" + "".join(rows))
EOF
chaos_produce "$topic" "$T_DIR/flip_templates.csv"

# Templates: the valid encoded messages on the topic so far.
kcat -C -b "$BROKERS" -t "$topic" -e -q -f '%K %S\n%k%s' >"$T_DIR/valid.bin" 2>/dev/null ||
  fail "kcat dump"

dpid=""
chaos_daemon_start dpid "$topic" "$group" -X batch.max.records=500

# The mutations (each class invalid by construction), and the control-char
# ids. Writes the kcat input and one line per message: its class.
MD=$'\xffEOM\xfe\xfd' KD=$'\xffKEY\xfe\xfd'
python3 - "$T_DIR/valid.bin" "$T_DIR/bad.bin" "$T_DIR/bad.classes" "$n_bad" \
  "$T_DIR/ctl.bin" <<'EOF'
import random, sys
random.seed(7)
MD, KD = b"\xffEOM\xfe\xfd", b"\xffKEY\xfe\xfd"
src = open(sys.argv[1], "rb").read()
msgs, i = [], 0
while i < len(src):
    nl = src.index(b"\n", i)
    kl, vl = (int(x) for x in src[i:nl].split())
    i = nl + 1
    k = src[i:i + max(kl, 0)]; i += max(kl, 0)
    v = src[i:i + max(vl, 0)]; i += max(vl, 0)
    if kl > 0 and vl > 10 and v[:2] == b"\xc3\x01" and not k.startswith(b"bodyflip-org|"):
        msgs.append((k, v))
assert len(msgs) > 100, len(msgs)

def zz(n):  # Avro zigzag varint
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        if n: out.append(b | 0x80)
        else: out.append(b); return bytes(out)

def unzz(buf, p):
    shift = n = 0
    while True:
        b = buf[p]; p += 1
        n |= (b & 0x7F) << shift; shift += 7
        if not b & 0x80: break
    return (n >> 1) ^ -(n & 1), p

def flip(b, lo, hi):
    b = bytearray(b); p = random.randrange(lo, hi)
    b[p] ^= 1 << random.randrange(8); return bytes(b)

def rnd(n): return bytes(random.getrandbits(8) for _ in range(n))

def mutate(k, v):
    c = random.randrange(10)
    if c == 0: return "magic_flip", k, flip(v, 0, 2)
    if c == 1: return "fingerprint_flip", k, flip(v, 2, 10)
    if c == 2: return "truncated", k, v[:random.randrange(1, len(v))]
    if c == 3:  # org_id length prefix: huge
        n, p = unzz(v, 10)
        return "huge_length", k, v[:10] + zz(random.choice([2**31 - 1, 2**40, 2**62])) + v[p:]
    if c == 4:
        n, p = unzz(v, 10)
        return "negative_length", k, v[:10] + zz(-random.randrange(1, 1000)) + v[p:]
    if c == 5: return "trailing_bytes", k, v + rnd(random.randrange(1, 16))
    if c == 6:
        g = rnd(random.randrange(1, 3000))
        if g[:1] == b"\xc3": g = b"\x00" + g
        return "garbage_value", rnd(random.randrange(1, 200)), g
    if c == 7: return "garbage_key", rnd(random.randrange(1, 300)), v
    if c == 8: return "key_bit_flip", flip(k, 0, len(k)), v
    return "tombstone_garbage_key", b"\x00" + rnd(random.randrange(1, 100)), b""

out, classes = [], []
while len(out) < int(sys.argv[4]):
    cls, k, v = mutate(*random.choice(msgs))
    if MD in k + v or KD in k + v or KD in k:
        continue
    out.append(k + KD + v + MD); classes.append(cls)
open(sys.argv[2], "wb").write(b"".join(out))
open(sys.argv[3], "w").write("\n".join(classes) + "\n")

# Control characters in ids (C0 and C1, no NUL): valid Avro otherwise; the
# key as the producer's codec writes it (percent-encoded bytes).
def pct(s):
    return "".join(c if (0x20 <= ord(c) < 0x7F or ord(c) > 0x9F) and c not in "%|"
                   else "".join("%%%02X" % b for b in c.encode()) for c in s).encode()
ctl = []
for j, bad in enumerate(["\x01", "\x1b[31m", "\x7f", "\u0085", "\u009b", "a\nb", "\r"]):
    k, v = msgs[j]
    n, p = unzz(v, 10)
    org = ("ctl" + bad + "id").encode()
    nv = v[:10] + zz(len(org)) + org + v[p + n:]
    parts = k.split(b"|")
    nk = b"|".join([pct("ctl" + bad + "id")] + parts[1:])
    ctl.append(nk + KD + nv + MD)
open(sys.argv[5], "wb").write(b"".join(ctl))
EOF
n_ctl=7
# The body flips, in two halves.
python3 "$FLIPPY" make "$T_DIR/valid.bin" "$FLIP_ORG|" "$n_flip" "$flip_seed" \
  "$T_DIR/flip1.bin" "$T_DIR/flip2.bin" "$T_DIR/flip.sent" || fail "chaos_bodyflip.py make"
start_end="$(topic_end "$topic")"
# Mixed with valid records: half the mutations and of the body flips, the
# rest of the stream, the other halves, the control-char ids, the
# tombstones.
half=$((n_bad / 2))
python3 - "$T_DIR/bad.bin" "$T_DIR/bad1.bin" "$T_DIR/bad2.bin" "$half" <<'EOF'
import sys
MD = b"\xffEOM\xfe\xfd"
parts = open(sys.argv[1], "rb").read().split(MD)[:-1]
h = int(sys.argv[4])
open(sys.argv[2], "wb").write(b"".join(p + MD for p in parts[:h]))
open(sys.argv[3], "wb").write(b"".join(p + MD for p in parts[h:]))
EOF
# With outcomes-produce's partitioner (the Java client's), so that a flip
# lands in its template's partition and ties go by offset, as the model
# says.
kpub() {
  kcat -P -b "$BROKERS" -t "$topic" -Z -K "$KD" -D "$MD" -X enable.idempotence=true \
    -X partitioner=murmur2_random <"$1" \
    2>"$T_DIR/kcat.err" || fail "kcat -P $1: $(cat "$T_DIR/kcat.err")"
}
kpub "$T_DIR/bad1.bin"
kpub "$T_DIR/flip1.bin"
chaos_produce "$topic" "$T_DIR/part2.csv"
kpub "$T_DIR/bad2.bin"
kpub "$T_DIR/flip2.bin"
kpub "$T_DIR/ctl.bin"
chaos_produce "$topic" --retract "$CHAOS_GEN/retract.csv"
end="$(topic_end "$topic")"
n_valid=$CHAOS_DELIVERED
raw=$((n_bad + n_ctl + n_flip))
sent_valid=$((end - start_end - raw))
((sent_valid == CHAOS_DELIVERED - (start_end))) ||
  fail "the topic grew by $((end - start_end)), want $raw raw + $((CHAOS_DELIVERED - start_end)) valid"
CHAOS_DELIVERED=$((CHAOS_DELIVERED + raw))
CHAOS_RECORDS=$((CHAOS_RECORDS + raw))
CHAOS_FAULTS=$raw

t0="$(now_s)"
chaos_wait_converged "$topic" "$group" "$dpid"
CHAOS_RECOVERY="$(elapsed_since "$t0")"

# Every hostile message dead-lettered (the body flips apart: below); by
# class and reason.
dead="$(sql "SELECT count(*) FROM outcomes.dead_letters
             WHERE key IS NULL OR substr(key, 1, ${#FLIP_ORG} + 1) <> '$FLIP_ORG|'::bytea")"
echo "dead letters by reason: $(sql "SELECT string_agg(error_code || '=' || n, ' ' ORDER BY error_code)
  FROM (SELECT error_code, count(*) n FROM outcomes.dead_letters GROUP BY 1) t")"
echo "sent by class: $(sort "$T_DIR/bad.classes" | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
[[ "$dead" == $((n_bad + n_ctl)) ]] || {
  sql "SELECT error_code, left(error_message, 100), encode(substr(value, 1, 12), 'hex')
       FROM outcomes.dead_letters ORDER BY kafka_offset LIMIT 5" >&2
  # Which hostile messages were accepted?
  sql "SELECT org_id, facility_id, metric, grain, period_start, value
       FROM outcomes.facts f WHERE NOT EXISTS (SELECT 1 FROM public.chaos_expected e
       WHERE e.org_id = f.org_id)" >&2 || true
  fail "$dead dead letters, sent $((n_bad + n_ctl)) bad messages (lost or accepted:" \
    "$((n_bad + n_ctl - dead)))"
}
ctl_codes="$(sql "SELECT string_agg(DISTINCT error_code, ',') FROM outcomes.dead_letters
                  WHERE substr(key, 1, 3) = 'ctl'::bytea")"
[[ "$ctl_codes" == bad_field ]] || fail "control-character ids dead-lettered as '$ctl_codes', want bad_field"
pass "$((n_bad + n_ctl)) hostile messages, as many dead letters; control-character ids: bad_field"

# The body flips (chaos_bodyflip.py check: the assertions of the header).
psql "$OUTCOMES_PG_CONNINFO" -qAtX -v ON_ERROR_STOP=1 >/dev/null <<EOF || fail "dump for the flips"
\\copy (SELECT encode(key, 'hex'), encode(value, 'hex'), error_code, error_message FROM outcomes.dead_letters WHERE group_id = '$group' AND topic = '$topic') TO '$T_DIR/flip.dead' WITH (FORMAT csv)
\\copy (SELECT org_id, facility_id, metric, grain, period_start, value, numerator, denominator, source, (extract(epoch FROM observed_at) * 1000000)::bigint FROM outcomes.facts WHERE NOT retracted AND org_id = '$FLIP_ORG') TO '$T_DIR/flip.facts' WITH (FORMAT csv)
EOF
sql "SELECT sum(applied + stale), sum(dead_lettered) FROM outcomes.consumer_offsets
     WHERE group_id = '$group' AND topic = '$topic'" | tr '|' ' ' >"$T_DIR/flip.counters"
python3 "$FLIPPY" check "$T_DIR/flip.sent" "$CATALOG" "$T_DIR/flip.dead" "$T_DIR/flip.facts" \
  "$T_DIR/flip.counters" "$n_valid" "$((n_bad + n_ctl))" "$T_DIR/flip_expected.csv" ||
  fail "body flips (seed $flip_seed): see the FLIP lines above"
CHAOS_EXTRA_EXPECTED+=$'\n'"\\copy public.chaos_expected FROM '$T_DIR/flip_expected.csv' WITH (FORMAT csv, HEADER true)"
pass "$n_flip body flips (seed $flip_seed): each in one place, dead-lettered iff invalid," \
  "standing facts = last writer wins"

# Metacharacter and non-ASCII ids stored verbatim, byte for byte.
got="$(sql "SELECT encode(convert_to(org_id, 'UTF8'), 'hex') || ' ' ||
            encode(convert_to(facility_id, 'UTF8'), 'hex')
            FROM outcomes.facts WHERE source = 'chaos-meta' ORDER BY 1")"
[[ "$got" == "$(sort "$T_DIR/meta.hex")" ]] ||
  fail "ids not stored verbatim: got $got want $(sort "$T_DIR/meta.hex")"
pass "$(wc -l <"$T_DIR/meta.hex") ids with SQL metacharacters and non-ASCII text stored verbatim"

chaos_check_all "$group" "$topic"
chaos_check_daemon "$dpid"
chaos_result
