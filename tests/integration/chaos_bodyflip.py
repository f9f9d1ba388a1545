#!/usr/bin/env python3
"""chaos_bodyflip.py - random bit flips inside the Avro bodies of valid
messages, for tests/integration/test_chaos_hostile.sh (a helper, not a test;
standard library only).

  make  DUMP PREFIX N SEED OUT1 OUT2 SENT
      DUMP: kcat -f '%K %S\\n%k%s' output of the topic. Takes the messages
      whose key starts with PREFIX (the dedicated org's valid templates),
      writes N copies, each with one bit flipped at a random position after
      the 10-byte single-object header (random.Random(SEED)), with the
      original key, as kcat -P input (key and message delimiters below):
      the first half into OUT1, the rest into OUT2. SENT: the templates and
      the flips in publishing order, as JSON lines.

  check SENT CATALOG DEAD FACTS COUNTERS N_VALID N_HOSTILE EXPECTED_CSV
      Decodes every message sent in Python (Observation v1, written out
      here from schemas/avro/observation.v1.avsc, not by the daemon's code)
      and predicts, independently of the daemon, whether it is a valid
      observation for its key (the decode walk, the record checks, the
      catalog, the key) and, if not, every (error code, field) it violates.
      DEAD: CSV of the topic's dead letters (key hex, value hex, code,
      message); FACTS: CSV of the standing facts of the dedicated org;
      COUNTERS: "applied_plus_stale dead_lettered" summed over the topic's
      partitions. Asserts
        (1) every flip ends in exactly one place: the flips found among the
            dead letters by their raw key and value, plus the flips the
            counters say were applied or stale (sum(applied + stale) minus
            the N_VALID valid records), equal the flips sent; the flips
            found equal the dead_lettered counters minus the N_HOSTILE
            others, and the dead letters that are not flips are exactly
            the N_HOSTILE others;
        (2) each flip is dead-lettered if and only if the model says it is
            invalid, with its raw value stored byte for byte, an error code
            the model found violated, and a message naming that field
            (undecodable: the field where the walk stopped, or "trailing
            bytes"; bad_key: "<field> differs");
        (3) the standing fact of every identity of the dedicated org is one
            of the versions sent for its key (value and observed_at), and
            exactly the last-writer-wins winner among its template and the
            flips the model finds valid (by (2) the ones not dead-lettered;
            greatest observed_at, ties to the later offset: publishing
            order, as all versions of a key share its partition).
      Writes the facts the dedicated org must have (the winners) as CSV in
      the layout of expected_facts.csv, for the I3 comparison.
"""
import csv
import datetime
import json
import math
import random
import struct
import sys
from collections import Counter, defaultdict

MD, KD = b"\xffEOM\xfe\xfd", b"\xffKEY\xfe\xfd"
HEADER = 10
GRAINS = ["DAY", "WEEK", "MONTH", "QUARTER", "YEAR"]
ID_MAX, METRIC_MAX = 256, 64
DATE_MIN, DATE_MAX = -719162, 2932896  # 0001-01-01 .. 9999-12-31, days since 1970
TS_MAX = 253402300799999999
EPOCH = datetime.date(1970, 1, 1)


def read_dump(path):
    src = open(path, "rb").read()
    out, i = [], 0
    while i < len(src):
        nl = src.index(b"\n", i)
        kl, vl = (int(x) for x in src[i:nl].split())
        i = nl + 1
        k = src[i:i + max(kl, 0)]
        i += max(kl, 0)
        v = src[i:i + max(vl, 0)]
        i += max(vl, 0)
        out.append((k, v))
    return out


# ---- the Avro body, Observation v1 ------------------------------------------

class Undecodable(Exception):
    def __init__(self, field, why):
        super().__init__(why)
        self.field = field


class Body:
    def __init__(self, buf):
        self.b, self.p = buf, 0

    def varint(self, field):  # zigzag; at most 10 bytes, 64 bits
        v = 0
        for i in range(10):
            if self.p >= len(self.b):
                raise Undecodable(field, "truncated varint")
            c = self.b[self.p]
            self.p += 1
            if i == 9 and (c & 0x7F) > 1:
                raise Undecodable(field, "varint overflows 64 bits")
            v |= (c & 0x7F) << (7 * i)
            if not c & 0x80:
                return (v >> 1) ^ -(v & 1)
        raise Undecodable(field, "varint longer than 10 bytes")

    def string(self, field):
        n = self.varint(field)
        if n < 0 or n > len(self.b) - self.p:
            raise Undecodable(field, "string length %d" % n)
        s = self.b[self.p:self.p + n]
        self.p += n
        return s

    def union_index(self, field):
        u = self.varint(field)
        if u not in (0, 1):
            raise Undecodable(field, "union index %d" % u)
        return u

    def double(self, field):
        if len(self.b) - self.p < 8:
            raise Undecodable(field, "truncated double")
        d = struct.unpack_from("<d", self.b, self.p)[0]
        self.p += 8
        return d


def decode(body):
    """The record as a dict, or Undecodable(field) (field None: trailing)."""
    r = Body(body)
    o = {"org_id": r.string("org_id")}
    o["facility_id"] = r.string("facility_id") if r.union_index("facility_id") else None
    o["metric"] = r.string("metric")
    g = r.varint("grain")
    if not 0 <= g < len(GRAINS):
        raise Undecodable("grain", "enum index %d" % g)
    o["grain"] = g
    ps = r.varint("period_start")
    if not -2**31 <= ps < 2**31:
        raise Undecodable("period_start", "int %d" % ps)
    o["period_start"] = ps
    o["value"] = r.double("value")
    o["numerator"] = r.double("numerator") if r.union_index("numerator") else None
    o["denominator"] = r.double("denominator") if r.union_index("denominator") else None
    o["source"] = r.string("source")
    o["observed_at"] = r.varint("observed_at")
    if r.p != len(body):
        raise Undecodable(None, "%d trailing bytes" % (len(body) - r.p))
    return o


IDENT = ("org_id", "facility_id", "metric", "grain", "period_start")


def id_problem(s):
    """oc_id_check: why s (bytes) is not an id, or None."""
    if not s or len(s) > ID_MAX:
        return "length"
    try:
        t = s.decode("utf-8")  # strict: Unicode Table 3-7, as record.c
    except UnicodeDecodeError:
        return "utf-8"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in t):
        return "control"
    return None


def aligned(grain, days):
    d = EPOCH + datetime.timedelta(days=days)
    return [True, d.weekday() == 0, d.day == 1, d.day == 1 and d.month in (1, 4, 7, 10),
            d.day == 1 and d.month == 1][grain]


def violations(o, ident, catalog):
    """Every (code, field) the decoded record o violates, for key identity
    ident; an empty set: a valid observation of that identity."""
    v = set()
    for f, mx in (("org_id", ID_MAX), ("metric", METRIC_MAX), ("source", ID_MAX)):
        if len(o[f]) > mx or b"\0" in o[f]:
            v.add(("bad_field", f))
    fac = o["facility_id"]
    if fac is not None and (len(fac) > ID_MAX or b"\0" in fac or not fac):
        v.add(("bad_field", "facility_id"))
    if not DATE_MIN <= o["period_start"] <= DATE_MAX:
        v.add(("bad_field", "period_start"))
    if v:
        return v  # refused while decoding: the record checks never run
    if id_problem(o["org_id"]):
        v.add(("bad_field", "org_id"))
    if fac and id_problem(fac):
        v.add(("bad_field", "facility_id"))
    m = catalog.get(o["metric"])
    if not o["metric"]:
        v.add(("bad_field", "metric"))
    elif m is None:
        v.add(("unknown_metric", "metric"))
    if not aligned(o["grain"], o["period_start"]):
        v.add(("misaligned_period", "period_start"))
    val, num, den = o["value"], o["numerator"], o["denominator"]
    if not math.isfinite(val):
        v.add(("bad_field", "value"))
    elif m and not m["min"] <= val <= m["max"]:
        v.add(("out_of_range", "value"))
    if m and m["kind"] != "ratio":
        if num is not None:
            v.add(("bad_field", "numerator"))
        if den is not None:
            v.add(("bad_field", "denominator"))
    elif m:
        if num is None:
            v.add(("ratio_missing", "numerator"))
        if den is None:
            v.add(("ratio_missing", "denominator"))
        ok = num is not None and den is not None
        if num is not None and not math.isfinite(num):
            v.add(("bad_field", "numerator"))
            ok = False
        elif num is not None and m["min"] >= 0 and num < 0:
            v.add(("out_of_range", "numerator"))
            ok = False
        if den is not None and not math.isfinite(den):
            v.add(("bad_field", "denominator"))
            ok = False
        elif den is not None and not den > 0:
            v.add(("out_of_range", "denominator"))
            ok = False
        if ok and math.isfinite(val):
            q = num / den  # den > 0 here
            if not math.isfinite(q) or not abs(val - q) <= 1e-9 * max(abs(val), abs(q)):
                v.add(("ratio_inconsistent", "value"))
    if id_problem(o["source"]):
        v.add(("bad_field", "source"))
    t = o["observed_at"]
    if t == 0 or t < 0 or t > TS_MAX:
        v.add(("bad_field", "observed_at"))
    for f in IDENT:
        if o[f] != ident[f]:
            v.add(("bad_key", f))
    return v


def read_catalog(path):
    cat = {}
    for line in open(path, encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        c = line.rstrip("\n").split("\t")
        if c[0] == "code":  # the header line
            continue
        cat[c[0].encode()] = {"kind": c[3], "min": float(c[5]), "max": float(c[6])}
    return cat


# ---- make -------------------------------------------------------------------

def make(dump, prefix, n, seed, out1, out2, sent_path):
    rnd = random.Random(seed)
    templates = [(k, v) for k, v in read_dump(dump) if k.startswith(prefix.encode())]
    assert len(templates) >= 20, "only %d templates" % len(templates)
    for k, v in templates:
        decode(v[HEADER:])  # the templates are valid
    flips = []
    while len(flips) < n:
        t = rnd.randrange(len(templates))
        k, v = templates[t]
        pos, bit = rnd.randrange(HEADER, len(v)), rnd.randrange(8)
        fv = bytearray(v)
        fv[pos] ^= 1 << bit
        fv = bytes(fv)
        if MD in k + fv or KD in k + fv:
            continue
        flips.append((t, pos, bit, k, fv))
    h = n // 2
    for path, part in ((out1, flips[:h]), (out2, flips[h:])):
        open(path, "wb").write(b"".join(k + KD + v + MD for _, _, _, k, v in part))
    with open(sent_path, "w") as f:
        for k, v in templates:
            f.write(json.dumps({"flip": False, "key": k.hex(), "value": v.hex()}) + "\n")
        for t, pos, bit, k, v in flips:
            f.write(json.dumps({"flip": True, "template": t, "pos": pos, "bit": bit,
                                "key": k.hex(), "value": v.hex()}) + "\n")


# ---- check ------------------------------------------------------------------

def ts_text(us):
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check(sent_path, catalog_path, dead_path, facts_path, counters, n_valid, n_hostile,
          expected_csv):
    catalog = read_catalog(catalog_path)
    sent = [json.loads(line) for line in open(sent_path)]
    templates = [s for s in sent if not s["flip"]]
    flips = [s for s in sent if s["flip"]]
    idents = {}
    for s in templates:
        o = decode(bytes.fromhex(s["value"])[HEADER:])
        assert not violations(o, o, catalog), "template not valid: %r" % o
        idents[s["key"]] = {f: o[f] for f in IDENT}
    errors = []

    def bad(msg):
        errors.append(msg)
        if len(errors) <= 20:
            print("FLIP: " + msg, file=sys.stderr)

    # The model, per message sent.
    for s in sent:
        body = bytes.fromhex(s["value"])[HEADER:]
        try:
            s["obs"] = decode(body)
            s["why"] = violations(s["obs"], idents[s["key"]], catalog)
        except Undecodable as e:
            s["obs"] = None
            s["why"] = {("undecodable", e.field)}

    # Dead letters by raw key and value.
    dead = defaultdict(list)
    n_dead_total = 0
    with open(dead_path, newline="") as f:
        for key, value, code, message in csv.reader(f):
            dead[(key, value)].append((code, message))
            n_dead_total += 1
    flip_keys = {s["key"] for s in flips}
    sent_by_bytes = Counter((s["key"], s["value"]) for s in flips)
    found = 0
    for kv, n in sent_by_bytes.items():
        got = dead.get(kv, [])
        found += min(len(got), n)
        if len(got) > n:
            bad("flip dead-lettered %d times, sent %d times: %s" % (len(got), n, kv[1]))
    for kv, got in dead.items():
        if kv[0] in flip_keys and kv not in sent_by_bytes:
            bad("dead letter with a flip's key and a value never sent (not stored byte "
                "for byte?): %s %s" % (got[0], kv[1]))
    others = n_dead_total - found
    if others != n_hostile:
        bad("%d dead letters besides the flips, want the %d other hostile messages"
            % (others, n_hostile))

    # (1) exactly one place: dead letters + applied/stale = flips sent.
    applied_stale, dead_counted = counters
    accepted = applied_stale - n_valid
    if found + accepted != len(flips):
        bad("%d flips sent, %d found among the dead letters + %d applied or stale "
            "(counters: applied+stale %d - %d valid records)"
            % (len(flips), found, accepted, applied_stale, n_valid))
    if dead_counted - n_hostile != found:
        bad("the counters say %d flips dead-lettered, %d found by their raw bytes"
            % (dead_counted - n_hostile, found))

    # (2) dead-lettered if and only if invalid; the code and message.
    used = Counter()
    by_code = Counter()
    for s in flips:
        kv = (s["key"], s["value"])
        got = dead.get(kv, [])
        is_dead = used[kv] < len(got)
        where = "template %d byte %d bit %d" % (s["template"], s["pos"], s["bit"])
        if not is_dead:
            if s["why"]:
                bad("%s: invalid %s but not dead-lettered (decoded %r)"
                    % (where, sorted(s["why"], key=str), s["obs"]))
            continue
        code, msg = got[used[kv]]
        used[kv] += 1
        by_code[code] += 1
        if not s["why"]:
            bad("%s: valid for its key but dead-lettered %s: %s (decoded %r)"
                % (where, code, msg, s["obs"]))
            continue
        ok = False
        for c, f in s["why"]:
            if c != code:
                continue
            if c == "undecodable":
                ok = (msg.startswith(f + ": ") if f else "trailing bytes" in msg)
            elif c == "bad_key":
                ok = (f + " differs") in msg
            else:
                ok = msg.startswith(f + ": ")
            if ok:
                break
        if not ok:
            bad("%s: dead letter %s '%s', the model expects one of %s"
                % (where, code, msg, sorted(s["why"], key=str)))

    # (3) the standing facts of the dedicated org.
    win, versions = {}, defaultdict(set)
    n_valid_flips = 0
    for s in sent:  # publishing order: per key, offset order
        o = s["obs"]
        if o is not None:
            versions[s["key"]].add((o["value"], o["observed_at"]))
        if s["why"]:
            continue
        n_valid_flips += s["flip"]
        cur = win.get(s["key"])
        if cur is None or o["observed_at"] >= cur["observed_at"]:
            win[s["key"]] = dict(o, flip=s["flip"])
    by_ident = {tuple(idents[k][f] for f in IDENT): k for k in idents}
    facts = {}
    with open(facts_path, newline="") as f:
        for org, fac, metric, grain, ps, val, num, den, src, t in csv.reader(f):
            ident = (org.encode(), fac.encode() if fac else None, metric.encode(),
                     GRAINS.index(grain),
                     (datetime.date.fromisoformat(ps) - EPOCH).days)
            facts[by_ident.get(ident, ident)] = (
                float(val), float(num) if num else None, float(den) if den else None,
                src.encode(), int(t))
    flipped_standing = 0
    for k, w in win.items():
        want = (w["value"], w["numerator"], w["denominator"], w["source"], w["observed_at"])
        got = facts.pop(k, None)
        flipped_standing += w["flip"]
        if got is None:
            bad("no standing fact for %s, want %r" % (bytes.fromhex(k), want))
        elif (got[0], got[4]) not in versions[k]:
            bad("standing fact of %s has value/observed_at %r, none of the versions sent"
                % (bytes.fromhex(k), (got[0], got[4])))
        elif got != want:
            bad("standing fact of %s is %r, last writer wins says %r"
                % (bytes.fromhex(k), got, want))
    for k, got in facts.items():
        bad("standing fact %r for no identity sent: %r" % (k, got))

    with open(expected_csv, "w", newline="") as f:
        w_ = csv.writer(f)
        w_.writerow(["org_id", "facility_id", "metric", "grain", "period_start", "value",
                     "numerator", "denominator", "source", "observed_at"])
        for k, w in win.items():
            w_.writerow([w["org_id"].decode(), (w["facility_id"] or b"").decode(),
                         w["metric"].decode(), GRAINS[w["grain"]],
                         (EPOCH + datetime.timedelta(days=w["period_start"])).isoformat(),
                         repr(w["value"]),
                         "" if w["numerator"] is None else repr(w["numerator"]),
                         "" if w["denominator"] is None else repr(w["denominator"]),
                         w["source"].decode(), ts_text(w["observed_at"])])

    print("body flips: %d sent, %d dead-lettered (%s), %d applied or stale (%d valid by "
          "the model); %d of %d identities stand on a flipped version"
          % (len(flips), found, " ".join("%s=%d" % c for c in sorted(by_code.items())),
             accepted, n_valid_flips, flipped_standing, len(win)))
    if errors:
        print("FLIP: %d problems" % len(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "make":
        make(a[2], a[3], int(a[4]), int(a[5]), a[6], a[7], a[8])
        sys.exit(0)
    if a[1] == "check":
        c = [int(x) for x in open(a[6]).read().split()]
        sys.exit(check(a[2], a[3], a[4], a[5], c, int(a[7]), int(a[8]), a[9]))
    sys.exit("usage: chaos_bodyflip.py make|check ...")
