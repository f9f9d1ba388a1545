"""interop_expect.py - the records the interop tests expect, computed from
the CSV the way docs/design.md defines them, independently of the C code.

  interop_expect.py jsonl FILE.csv [COMMENT_FROM]
      one JSON object per row, as the Java harness reads and writes them:
      {"key_hex": hex of the Kafka key, "value": {every field of the
      Observation: ids, null for an empty facility or ratio part, the grain
      symbol, period_start in days since 1970-01-01, value, numerator and
      denominator as numbers, source, observed_at in microseconds}}; rows
      from the COMMENT_FROM-th (1-based) on get a "comment" (the field of
      a newer schema version).
  interop_expect.py compare FILE.csv JAVA.jsonl
      the records the Java consumer printed equal the rows, as a multiset
      of (key, every field); prints what differs and exits 1 when any.
"""
import csv
import datetime
import json
import sys

EPOCH = datetime.date(1970, 1, 1)


def key_text(row):
    def esc(s):
        return s.replace("%", "%25").replace("|", "%7C")

    return "|".join([esc(row["org_id"]), esc(row["facility_id"]), row["metric"], row["grain"],
                     row["period_start"]])


def micros(ts):
    t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    delta = t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def opt_num(s):
    return float(s) if s != "" else None


def record(row):
    return {
        "org_id": row["org_id"],
        "facility_id": row["facility_id"] or None,
        "metric": row["metric"],
        "grain": row["grain"],
        "period_start": (datetime.date.fromisoformat(row["period_start"]) - EPOCH).days,
        "value": float(row["value"]),
        "numerator": opt_num(row["numerator"]),
        "denominator": opt_num(row["denominator"]),
        "source": row["source"],
        "observed_at": micros(row["observed_at"]),
    }


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main():
    if sys.argv[1] == "jsonl":
        start = int(sys.argv[3]) if len(sys.argv) > 3 else 0
        for i, row in enumerate(rows(sys.argv[2]), 1):
            value = record(row)
            if start and i >= start:
                value["comment"] = "row %d, written with the newer schema" % i
            print(json.dumps({"key_hex": key_text(row).encode().hex(), "value": value},
                             ensure_ascii=False))
        return 0
    want = {}
    for row in rows(sys.argv[2]):
        k = json.dumps([key_text(row), record(row)], sort_keys=True, ensure_ascii=False)
        want[k] = want.get(k, 0) + 1
    got = {}
    with open(sys.argv[3], encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            v = {k: (float(x) if k in ("value", "numerator", "denominator") and x is not None
                     else x) for k, x in r["value"].items()}
            k = json.dumps([bytes.fromhex(r["key_hex"]).decode(), v], sort_keys=True,
                           ensure_ascii=False)
            got[k] = got.get(k, 0) + 1
    missing = [k for k in want if got.get(k, 0) < want[k]]
    extra = [k for k in got if want.get(k, 0) < got[k]]
    for k in missing[:5]:
        print("expected, not read:", k)
    for k in extra[:5]:
        print("read, not expected:", k)
    print("%d rows, %d records read, %d missing, %d unexpected" %
          (sum(want.values()), sum(got.values()), len(missing), len(extra)))
    return 1 if missing or extra else 0


sys.exit(main())
