#!/usr/bin/env python3
"""make-demo.py - the demo observations built from the seed case studies.

Writes, into --out-dir (default: this script's directory):

  observations.csv  monthly observations 2022-01 .. 2024-12 for ten
                    organisations named after the case studies that the
                    catalog's seed column quotes, in the producer's CSV
                    format, in publish order, with a few restatements, one
                    late older version and one exact duplicate; all but the
                    30-day readmission rates, which come as FHIR:
  readmissions.ndjson
                    Coastal Carolina Health's 30-day readmission rates as
                    HL7 FHIR R4 summary MeasureReports, one per line (NDJSON,
                    as FHIR Bulk Data writes them), in publish order
  catalog.tsv       the catalog of the demo: schemas/catalog.tsv with the
                    measure_url of the demo's readmission Measure, so that
                    outcomes-produce maps the MeasureReports
  claims.csv        each seed claim as computed from the two
  CLAIMS.md         the same, for people

The output is a pure function of this file: a private splitmix64 PRNG, integer
arithmetic (cents, tenths of an FTE, counts) and exact fractions for the
calibrated targets, so re-running it reproduces the committed files byte for
byte (tests/unit/test_gen.c checks that). Python 3 standard library only.

The claims are not copied from the targets: after writing the observations the
script reads them back, applies last writer wins (greatest observed_at, then the
later row) and computes every figure from the standing facts, the way the
rollups and analyst views must.
"""

import argparse
import calendar
import csv
import io
import json
import os
from fractions import Fraction

HEADER = ["org_id", "facility_id", "metric", "grain", "period_start", "value",
          "numerator", "denominator", "source", "observed_at"]
MONTHS = [(y, m) for y in (2022, 2023, 2024) for m in range(1, 13)]
NM = len(MONTHS)
DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

ORGS = [
    # id, name, source system, facilities (id, name)
    ("university-health-systems", "University Health Systems", "allscripts-sunrise",
     [("uhs-main", "University Health Systems main campus"),
      ("uhs-east", "University Health Systems eastern community hospitals")]),
    ("kaleida-health", "Kaleida Health", "allscripts-sunrise",
     [("kh-buffalo-general", "Buffalo General Medical Center"),
      ("kh-oishei-childrens", "Oishei Children's Hospital"),
      ("kh-millard-fillmore-suburban", "Millard Fillmore Suburban Hospital")]),
    ("family-practice-associates", "Family Practice Associates", "allscripts-pro-ehr",
     [("fpa-main", "Family Practice Associates clinic")]),
    ("coastal-carolina-health", "Coastal Carolina Health", "allscripts-sunrise",
     [("ccmc-main", "Coastal Carolina Medical Center"),
      ("ccmc-north", "Coastal Carolina north campus")]),
    ("fraser-health", "Fraser Health", "allscripts-dbmotion",
     [("fh-community", "Fraser Health community care (users with access to acute data)"),
      ("fh-acute", "Fraser Health acute care (users with access to community data)")]),
    ("communitycare", "CommUnityCare", "nextgen-rcm", []),
    ("altamed", "AltaMed Health Services", "nextgen-ehr", []),
    ("lasis-healthcare", "LASIS Healthcare", "nextgen-rcm", []),
    ("healthcare-partners", "HealthCare Partners", "nextgen-ehr", []),
    ("cockerell-mcintosh", "Cockerell & McIntosh", "nextgen-pm",
     [("cm-pediatrics", "Cockerell & McIntosh pediatric clinic")]),
]
ORG_INDEX = {o[0]: i for i, o in enumerate(ORGS)}
ORG_NAME = {o[0]: o[1] for o in ORGS}
SOURCE = {o[0]: o[2] for o in ORGS}
METRIC_ORDER = ["readmission_rate_30d", "er_visits", "cpoe_rate", "system_availability",
                "mu_incentive", "mu_providers_attested", "supply_cost", "overtime_fte",
                "overtime_cost", "net_collection_rate", "portal_enrollment_rate",
                "hie_users", "pending_charges", "ar_balance", "collections", "production",
                "ar_days", "first_pass_clean_claim_rate", "claim_rejection_rate"]
RATIO = {"readmission_rate_30d", "cpoe_rate", "system_availability", "net_collection_rate",
         "portal_enrollment_rate", "ar_days", "first_pass_clean_claim_rate",
         "claim_rejection_rate"}
GAUGE = {"overtime_fte", "hie_users", "pending_charges", "ar_balance"}


# ---- deterministic randomness ---------------------------------------------

class Rng:
    """splitmix64: the same stream on every machine and Python version."""
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.s = seed & self.MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & self.MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def unit(self):
        """A Fraction in [0, 1) with 32 random bits: exact everywhere."""
        return Fraction(self.next() >> 32, 1 << 32)

    def noise(self, rel):
        """1 +- rel, bell-shaped (sum of four uniforms), as an exact Fraction."""
        s = self.unit() + self.unit() + self.unit() + self.unit() - 2
        return 1 + Fraction(rel) * s / 2


def rint(x):
    """Round a Fraction (or int) half away from zero to an int."""
    x = Fraction(x)
    n = abs(x.numerator) * 2 + x.denominator
    q = n // (2 * x.denominator)
    return q if x >= 0 else -q


def lerp(a, b, t):
    return Fraction(a) + (Fraction(b) - Fraction(a)) * Fraction(t)


# ---- calibration: make sums and pooled ratios hit exact targets -----------

def calib_sum(cells, total, caps=None):
    """Adjust the ints in cells (in place) so they sum to total, spreading the
    difference in proportion to the cells and keeping 0 <= cell <= cap."""
    s = sum(cells)
    if s == total:
        return
    if s > 0:
        scaled = [rint(Fraction(c * total, s)) for c in cells]
        for i, v in enumerate(scaled):
            cells[i] = max(0, min(v, caps[i] if caps else v))
    i = 0
    guard = 0
    while sum(cells) != total:
        d = 1 if sum(cells) < total else -1
        j = (len(cells) - 1 - i % len(cells))
        v = cells[j] + d
        if v >= 0 and (caps is None or v <= caps[j]):
            cells[j] = v
        i += 1
        guard += 1
        if guard > 10_000_000:
            raise RuntimeError("cannot calibrate")


def calib_ratio(nums, dens, target, capped=True):
    """Make sum(nums)/sum(dens) == target exactly (a Fraction): first grow the
    last denominator to a multiple of the target's denominator, then adjust the
    numerators."""
    target = Fraction(target)
    dens[-1] += (-sum(dens)) % target.denominator
    calib_sum(nums, sum(dens) * target.numerator // target.denominator,
              list(dens) if capped else None)


# ---- formatting -----------------------------------------------------------

def usd(cents):
    return "%d.%02d" % (cents // 100, cents % 100)


def tenths(t):
    return "%d.%d" % (t // 10, t % 10)


def ratio_value(num, den):
    return repr(float(num) / float(den))


def month_date(i):
    y, m = MONTHS[i]
    return "%04d-%02d-01" % (y, m)


def stamp(y, m, d, hh, mi, ss=0):
    while m > 12:
        y, m = y + 1, m - 12
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, hh, mi, ss)


def observed(i, org, fac_index, metric, months_later=1, day_shift=0):
    """When the figure of month i was produced: early in a following month."""
    y, m = MONTHS[i]
    k = ORG_INDEX[org]
    return stamp(y, m + months_later, 3 + k % 5 + day_shift, 6 + fac_index,
                 (METRIC_ORDER.index(metric) * 7) % 60, 0)


# ---- the series -----------------------------------------------------------

class Demo:
    def __init__(self):
        self.facts = {}  # (org, fac, metric, month index) -> dict of columns

    def put(self, org, fac, metric, i, value, num=None, den=None):
        self.facts[(org, fac, metric, i)] = {
            "value": value, "numerator": "" if num is None else num,
            "denominator": "" if den is None else den}

    def put_ratio(self, org, fac, metric, i, num, den, fmt=str):
        self.put(org, fac, metric, i, ratio_value(fmt(num), fmt(den)), fmt(num), fmt(den))


def coastal(d):
    """Readmissions and ER visits down 10-15% in one year (2023 vs 2022)."""
    org = "coastal-carolina-health"
    facs = [("ccmc-main", 900, 3400), ("ccmc-north", 340, 1300)]
    season = [Fraction(x, 100) for x in (110, 106, 102, 97, 95, 93, 95, 97, 98, 100, 102, 108)]
    rates = {2022: Fraction("0.155"), 2023: Fraction("0.136"), 2024: Fraction("0.132")}
    visits = {2022: 56400, 2023: 49068, 2024: 48087}
    r = Rng(101)
    for year in (2022, 2023, 2024):
        idx = [i for i in range(NM) if MONTHS[i][0] == year]
        nums, dens, keys, ers = [], [], [], []
        for fac, discharges, er in facs:
            for i in idx:
                s = season[MONTHS[i][1] - 1]
                den = rint(discharges * s * r.noise("0.08"))
                dens.append(den)
                nums.append(rint(den * rates[year] * r.noise("0.12")))
                ers.append(rint(er * s * (1 - Fraction(13, 100) * (year > 2022)) *
                                r.noise("0.06")))
                keys.append((fac, i))
        calib_ratio(nums, dens, rates[year])
        calib_sum(ers, visits[year])
        for (fac, i), n, dd, e in zip(keys, nums, dens, ers):
            d.put_ratio(org, fac, "readmission_rate_30d", i, n, dd)
            d.put(org, fac, "er_visits", i, str(e))


def uhs(d):
    """CPOE reaching 99.5%; $9M Meaningful Use incentives; hosted availability."""
    org = "university-health-systems"
    r = Rng(202)
    facs = [("uhs-main", 46000), ("uhs-east", 17000)]
    for i in range(NM):
        if i >= 30:  # 2024-07 onwards: 99.5%
            target = Fraction("0.995")
        else:
            t = Fraction(i, 30)
            target = Fraction(rint((Fraction("0.995") - Fraction("0.375") * (1 - t) ** 2) *
                                   1000), 1000)
            target = min(target, Fraction("0.994"))
        nums, dens = [], []
        for fac, orders in facs:
            den = rint(orders * r.noise("0.05"))
            dens.append(den)
            nums.append(min(den, rint(den * target * r.noise("0.004"))))
        calib_ratio(nums, dens, target)
        for (fac, _), n, dd in zip(facs, nums, dens):
            d.put_ratio(org, fac, "cpoe_rate", i, n, dd)
        y, m = MONTHS[i]
        for fac, _ in facs:
            minutes = (DAYS_IN_MONTH[m - 1] + (m == 2 and y % 4 == 0)) * 1440
            down = 3 + rint(r.unit() * 40)
            d.put_ratio(org, fac, "system_availability", i, minutes - down, minutes)
    payments = {2: 2_100_000, 8: 1_650_000, 14: 1_950_000, 20: 1_500_000, 26: 1_050_000,
                32: 750_000}
    for i in range(NM):
        d.put(org, "", "mu_incentive", i, usd(payments.get(i, 0) * 100))


def kaleida(d):
    """Supply cost down $4M in a year; overtime down 307 FTEs in nine months,
    saving $15M."""
    org = "kaleida-health"
    facs = [("kh-buffalo-general", 55), ("kh-oishei-childrens", 25),
            ("kh-millard-fillmore-suburban", 20)]  # share of the org, per cent
    r = Rng(303)
    supply = {2022: 6_125_000_000, 2023: 5_725_000_000, 2024: 5_690_000_000}  # cents
    for year in (2022, 2023, 2024):
        idx = [i for i in range(NM) if MONTHS[i][0] == year]
        cells, keys = [], []
        for fac, share in facs:
            for i in idx:
                cells.append(rint(Fraction(supply[year], 12) * share / 100 * r.noise("0.07")))
                keys.append((fac, i))
        calib_sum(cells, supply[year])
        for (fac, i), c in zip(keys, cells):
            d.put(org, fac, "supply_cost", i, usd(c))

    # Overtime FTE (tenths), org total per month: ~510 in 2022, 512.0 in
    # 2023-01 falling to 205.0 in 2023-10, ~203 after.
    totals = []
    for i in range(NM):
        if i < 12:
            tot = rint(5100 * r.noise("0.02"))
        elif i <= 21:
            tot = rint(lerp(5120, 2050, Fraction(i - 12, 9)) * (r.noise("0.01") if 12 < i < 21
                                                               else 1))
        else:
            tot = rint(2030 * r.noise("0.02"))
        totals.append(tot)
    for i in range(NM):
        cells = [rint(Fraction(totals[i] * share, 100) * r.noise("0.05")) for _, share in facs]
        calib_sum(cells, totals[i])
        for (fac, _), c in zip(facs, cells):
            d.put(org, fac, "overtime_fte", i, tenths(c))
    # Overtime cost follows the FTEs: 2022 $25.1M, 2024 $10.1M.
    cost = {2022: 2_510_000_000, 2024: 1_010_000_000}
    for year in (2022, 2023, 2024):
        idx = [i for i in range(NM) if MONTHS[i][0] == year]
        cells, keys = [], []
        for fi, (fac, share) in enumerate(facs):
            for i in idx:
                cells.append(rint(Fraction(totals[i] * share, 1000) * 410_000 * r.noise("0.03")))
                keys.append((fac, i))
        if year in cost:
            calib_sum(cells, cost[year])
        for (fac, i), c in zip(keys, cells):
            d.put(org, fac, "overtime_cost", i, usd(c))


def fpa(d):
    """Net collections of 98%; 20% portal enrolment in less than one year."""
    org, fac = "family-practice-associates", "fpa-main"
    r = Rng(404)
    rates = {2022: Fraction("0.931"), 2023: Fraction("0.962"), 2024: Fraction("0.98")}
    for year in (2022, 2023, 2024):
        idx = [i for i in range(NM) if MONTHS[i][0] == year]
        dens = [rint(42_000_000 * r.noise("0.08")) for _ in idx]  # allowed charges, cents
        nums = [rint(dd * rates[year] * r.noise("0.01")) for dd in dens]
        calib_ratio(nums, dens, rates[year])
        for i, n, dd in zip(idx, nums, dens):
            d.put_ratio(org, fac, "net_collection_rate", i, n, dd, usd)
    # Portal: live in 2023-01; 20.0% of active patients in 2023-11.
    for i in range(12, NM):
        k = i - 12
        if k <= 10:
            target = Fraction(21, 1000) + (Fraction("0.2") - Fraction(21, 1000)) * k / 10
        else:
            target = Fraction("0.2") + Fraction(95, 1000) * (k - 10) / 13
        den = rint(14_200 * (1 + Fraction(k, 400)) * r.noise("0.01"))
        if k == 10:
            den += (-den) % 5
            num = den // 5
        else:
            num = rint(den * target * (r.noise("0.01") if k != 0 else 1))
            if k < 10:
                num = min(num, (den - 1) // 5)  # below 20% before 2023-11
        d.put_ratio(org, fac, "portal_enrollment_rate", i, num, den)


def fraser(d):
    """4,200 community users with access to acute data and 18,000 acute users
    with access to community data."""
    org = "fraser-health"
    r = Rng(505)
    for fac, start, end in (("fh-community", 900, 4200), ("fh-acute", 6000, 18000)):
        for i in range(NM):
            if i == NM - 1:
                v = end
            else:
                v = rint(lerp(start, end, Fraction(i, NM - 1)) * r.noise("0.02"))
                v = min(v, end - 1)
            d.put(org, fac, "hie_users", i, str(v))


def communitycare(d):
    """Pending charges 55,000 -> 10,000; the NextGen RCM figures for A/R
    (-36.4%), collections (+9.0%) and production (+3.8%)."""
    org = "communitycare"
    r = Rng(606)
    means = {2022: 55_000, 2024: 10_000}
    for year in (2022, 2023, 2024):
        idx = [i for i in range(NM) if MONTHS[i][0] == year]
        if year == 2023:
            cells = [rint(lerp(52_000, 12_000, Fraction(k, 11)) * r.noise("0.04"))
                     for k in range(12)]
        else:
            cells = [rint(means[year] * r.noise("0.06")) for _ in idx]
            calib_sum(cells, means[year] * 12)
        for i, c in zip(idx, cells):
            d.put(org, "", "pending_charges", i, str(c))

    production = {2022: 3_840_000_000, 2023: 3_910_000_000, 2024: 3_985_920_000}  # +3.8%
    collections = {2022: 2_760_000_000, 2023: 2_880_000_000, 2024: 3_008_400_000}  # +9.0%
    prod_cells = {}
    for series, totals in (("production", production), ("collections", collections)):
        for year in (2022, 2023, 2024):
            idx = [i for i in range(NM) if MONTHS[i][0] == year]
            cells = [rint(Fraction(totals[year], 12) * r.noise("0.05")) for _ in idx]
            calib_sum(cells, totals[year])
            for i, c in zip(idx, cells):
                d.put(org, "", series, i, usd(c))
                if series == "production":
                    prod_cells[i] = c
    # A/R balance (cents) at month end: 2022-12 -> 2024-12 down 36.4%.
    start, end = 1_310_000_000, 833_160_000  # 1 - 0.364 = 0.636
    for i in range(NM):
        if i == 11:
            bal = start
        elif i == NM - 1:
            bal = end
        elif i < 12:
            bal = rint(start * r.noise("0.03"))
        else:
            bal = rint(lerp(start, end, Fraction(i - 11, NM - 12)) * r.noise("0.03"))
        d.put(org, "", "ar_balance", i, usd(bal))
        # A/R days = balance / average daily charges of the month.
        y, m = MONTHS[i]
        days = DAYS_IN_MONTH[m - 1] + (m == 2 and y % 4 == 0)
        daily = rint(Fraction(prod_cells[i], days))
        d.put_ratio(org, "", "ar_days", i, bal, daily, usd)


def mu(d, org, payments, attested):
    """Meaningful Use: payments (USD) and providers attesting, by month."""
    for i in range(NM):
        d.put(org, "", "mu_incentive", i, usd(payments.get(i, 0) * 100))
        d.put(org, "", "mu_providers_attested", i, str(attested.get(i, 0)))


def lasis(d):
    """A/R days down 81% (NextGen RCM); clean claim rate up over 20%, to 97%."""
    org = "lasis-healthcare"
    r = Rng(707)
    # A/R days, pooled per year: 97.5 in 2022, 18.525 in 2024 (-81.0%).
    days = {2022: Fraction("97.5"), 2023: Fraction("52"), 2024: Fraction("18.525")}
    for year in (2022, 2023, 2024):
        idx = [i for i in range(NM) if MONTHS[i][0] == year]
        dens = [rint(2_150_000 * r.noise("0.08")) for _ in idx]  # daily charges, cents
        if year == 2023:
            path = [lerp(88, 22, Fraction(k, 11)) for k in range(12)]
        else:
            path = [days[year]] * 12
        nums = [rint(dd * p * r.noise("0.05")) for dd, p in zip(dens, path)]
        if year != 2023:
            calib_ratio(nums, dens, days[year], capped=False)
        for i, n, dd in zip(idx, nums, dens):
            d.put_ratio(org, "", "ar_days", i, n, dd, usd)
    rates = {2022: Fraction("0.808"), 2024: Fraction("0.97")}
    for year in (2022, 2023, 2024):
        idx = [i for i in range(NM) if MONTHS[i][0] == year]
        dens = [rint(5_600 * r.noise("0.06")) for _ in idx]
        if year == 2023:
            path = [lerp("0.82", "0.96", Fraction(k, 11)) for k in range(12)]
        else:
            path = [rates[year]] * 12
        nums = [min(dd, rint(dd * p * r.noise("0.01"))) for dd, p in zip(dens, path)]
        if year != 2023:
            calib_ratio(nums, dens, rates[year])
        for i, n, dd in zip(idx, nums, dens):
            d.put_ratio(org, "", "first_pass_clean_claim_rate", i, n, dd)


def cockerell(d):
    """Claim rejections reduced to less than 2%."""
    org, fac = "cockerell-mcintosh", "cm-pediatrics"
    r = Rng(808)
    rates = {2022: Fraction("0.085"), 2024: Fraction("0.018")}
    for year in (2022, 2023, 2024):
        idx = [i for i in range(NM) if MONTHS[i][0] == year]
        dens = [rint(2_600 * r.noise("0.07")) for _ in idx]
        if year == 2023:
            path = [lerp("0.08", "0.021", Fraction(k, 11)) for k in range(12)]
        else:
            path = [rates[year]] * 12
        nums = [rint(dd * p * r.noise("0.04")) for dd, p in zip(dens, path)]
        if year == 2024:
            # every month of 2024 below 2%
            nums = [min(n, (dd * 2 - 1) // 100) for n, dd in zip(nums, dens)]
        if year != 2023:
            calib_ratio(nums, dens, rates[year])
        for i, n, dd in zip(idx, nums, dens):
            d.put_ratio(org, fac, "claim_rejection_rate", i, n, dd)


# ---- the stream: publish order, restatements ------------------------------

# (org, facility, metric, month index): preliminary versions published first,
# then the final one later in the file with a later observed_at. Two
# preliminary values mean two restatements.
RESTATED = {
    ("coastal-carolina-health", "ccmc-main", "er_visits", 14): ["+0.031"],
    ("kaleida-health", "kh-buffalo-general", "supply_cost", 17): ["+0.027"],
    ("communitycare", "", "pending_charges", 25): ["+0.12"],
    ("cockerell-mcintosh", "cm-pediatrics", "claim_rejection_rate", 27): ["+0.35"],
    ("family-practice-associates", "fpa-main", "net_collection_rate", 24): ["-0.04", "-0.015"],
    ("lasis-healthcare", "", "ar_days", 10): ["+0.06"],
}
# A stale copy: an old extract re-sent at the end, observed before the
# standing version. It must change nothing.
LATE = ("university-health-systems", "uhs-main", "cpoe_rate", 32)
# An exact duplicate of a row, re-sent at the end.
DUPLICATE = ("fraser-health", "fh-acute", "hie_users", NM - 1)


def scaled(fact, metric, delta):
    """A different version of a fact: the figure (or numerator) times
    1 + delta, in the metric's own unit."""
    delta = Fraction(delta)
    f = dict(fact)
    if metric in RATIO:
        num, den = f["numerator"], f["denominator"]
        if "." in num:
            c = rint(Fraction(num) * 100 * (1 + delta))
            f["numerator"] = usd(c)
        else:
            f["numerator"] = str(min(int(den), rint(int(num) * (1 + delta))))
        f["value"] = ratio_value(f["numerator"], den)
    elif "." in f["value"]:
        digits = len(f["value"].split(".")[1])
        unit = 10 ** digits
        c = rint(Fraction(f["value"]) * unit * (1 + delta))
        f["value"] = usd(c) if digits == 2 else tenths(c)
    else:
        f["value"] = str(rint(int(f["value"]) * (1 + delta)))
    return f


def stream_rows(d):
    """Rows in publish order: month by month (each month's export comes after
    it ends), org, facility, metric; corrections in a later month's export."""
    def fac_index(org, fac):
        facs = [f[0] for f in ORGS[ORG_INDEX[org]][3]]
        return facs.index(fac) + 1 if fac else 0

    rows = []  # (position, sequence, row dict)
    seq = 0
    for key in sorted(d.facts, key=lambda k: (k[3], ORG_INDEX[k[0]], fac_index(k[0], k[1]),
                                              METRIC_ORDER.index(k[2]))):
        org, fac, metric, i = key
        fact = d.facts[key]
        base = {"org_id": org, "facility_id": fac, "metric": metric, "grain": "MONTH",
                "period_start": month_date(i), "source": SOURCE[org]}
        fi = fac_index(org, fac)
        prelim = RESTATED.get(key, [])
        versions = [scaled(fact, metric, x) for x in prelim] + [fact]
        for n, v in enumerate(versions):
            row = dict(base, **v)
            # version n comes out n months later, observed a day later each time
            row["observed_at"] = observed(i, org, fi, metric, 1 + 2 * n, n)
            rows.append((i + 2 * n, seq, row))
            seq += 1
        if key == LATE:
            row = dict(base, **scaled(fact, metric, "-0.02"))
            y, m = MONTHS[i]
            row["observed_at"] = stamp(y, m + 1, 1, 0, 30)
            rows.append((NM + 1, seq, row))
            seq += 1
        if key == DUPLICATE:
            rows.append((NM + 2, seq, dict(rows[-1][2])))
            seq += 1
    rows.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in rows]


# ---- the readmission rates as FHIR MeasureReports --------------------------

FHIR_METRIC = "readmission_rate_30d"
# The demo hospitals' measure engine publishes its Measure under this
# canonical URL (example.org: a demo, not a published measure).
MEASURE_URL = "http://example.org/fhir/Measure/readmission-rate-30d"
MEASURE_VERSION = "2022.1"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"


def population(code, count):
    return {"code": {"coding": [{"system": POPULATION, "code": code}]}, "count": int(count)}


def measure_report(r):
    """One row of the CSV as the summary MeasureReport a measure engine
    would write: the same org, facility, month, populations and score."""
    y, m = int(r["period_start"][:4]), int(r["period_start"][5:7])
    last = calendar.monthrange(y, m)[1]
    mr = {
        "resourceType": "MeasureReport",
        "id": "readm-%s-%04d-%02d" % (r["facility_id"] or r["org_id"], y, m),
        "meta": {"lastUpdated": r["observed_at"]},
        "status": "complete",
        "type": "summary",
        "measure": "%s|%s" % (MEASURE_URL, MEASURE_VERSION),
        "reporter": {"reference": "Organization/" + r["org_id"]},
        "period": {"start": r["period_start"], "end": "%04d-%02d-%02d" % (y, m, last)},
        "group": [{
            "population": [population("initial-population", r["denominator"]),
                           population("denominator", r["denominator"]),
                           population("numerator", r["numerator"])],
            # repr of the same double as the CSV's value: the same number
            "measureScore": {"value": float(r["value"])},
        }],
    }
    if r["facility_id"]:
        mr["subject"] = {"reference": "Location/" + r["facility_id"]}
    return mr


def write_ndjson(rows):
    ids = set()
    out = io.StringIO()
    for r in rows:
        mr = measure_report(r)
        assert mr["id"] not in ids, mr["id"]
        ids.add(mr["id"])
        out.write(json.dumps(mr, separators=(",", ":"), ensure_ascii=False) + "\n")
    return out.getvalue()


def demo_catalog(path):
    """schemas/catalog.tsv with the demo Measure's URL on its metric."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = ["# The catalog of the demo, written by deploy/demo/make-demo.py: the catalog",
           "# of schemas/catalog.tsv, with the measure_url of the demo's readmission",
           "# Measure, which maps deploy/demo/readmissions.ndjson."]
    cols = None
    for line in lines:
        if not line or line.startswith("#"):
            if cols is not None or not line:
                out.append(line)
            continue
        fields = line.split("\t")
        if cols is None:
            cols = fields
        elif fields[cols.index("code")] == FHIR_METRIC:
            fields[cols.index("measure_url")] = MEASURE_URL
        out.append("\t".join(fields))
    return "\n".join(out)


def write_csv(rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for r in rows:
        w.writerow([r[h] for h in HEADER])
    return out.getvalue()


# ---- claims, computed back from the CSV -----------------------------------

def fold(text):
    """Last writer wins: greatest observed_at, then the later row."""
    facts = {}
    for n, r in enumerate(csv.DictReader(io.StringIO(text))):
        key = (r["org_id"], r["facility_id"], r["metric"], r["grain"], r["period_start"])
        cur = facts.get(key)
        # RFC 3339 UTC stamps of one shape order as text.
        if cur is None or r["observed_at"] >= cur["observed_at"]:
            facts[key] = r
    return facts


class Facts:
    def __init__(self, facts):
        self.f = facts

    def rows(self, org, metric, periods, fac=None):
        out = []
        for (o, f, m, g, p), r in self.f.items():
            if o == org and m == metric and p[:7] in periods and (fac is None or f == fac):
                out.append(r)
        if not out:
            raise RuntimeError("no facts for %s %s %s" % (org, metric, periods))
        return out

    def pooled(self, org, metric, periods, fac=None):
        rs = self.rows(org, metric, periods, fac)
        return (sum(Fraction(r["numerator"]) for r in rs) /
                sum(Fraction(r["denominator"]) for r in rs))

    def total(self, org, metric, periods, fac=None):
        return sum(Fraction(r["value"]) for r in self.rows(org, metric, periods, fac))

    def gauge_mean(self, org, metric, periods, fac=None):
        """Mean over months of the month's org-level sum across facilities."""
        return self.total(org, metric, periods, fac) / len(periods)


def year(y):
    return ["%04d-%02d" % (y, m) for m in range(1, 13)]


def pct(a, b):
    return (Fraction(b) - Fraction(a)) / Fraction(a) * 100


def f4(x):
    return "%.4f" % float(x)


def money(x):
    return "${:,.2f}".format(float(x))


def count(x):
    x = Fraction(x)
    return "{:,}".format(int(x)) if x.denominator == 1 else "{:,.1f}".format(float(x))


def signed(x, digits=1):
    return "%+.*f%%" % (digits, float(x))


def claims(fx):
    """Each claim as a dict: id, seed, org, facility, metric, level, statistic,
    periods (text), the figure as text, and the numbers: before/after with
    their periods (before empty for a level reached or a total)."""
    out = []

    def add(cid, seed, org, metric, level, stat, text, p_after, after, p_before="",
            before=None, fac=""):
        out.append(dict(claim=cid, seed=seed, org=org, fac=fac, metric=metric, level=level,
                        stat=stat, text=text, p_before=p_before, before=before,
                        p_after=p_after, after=after))

    allm = year(2022) + year(2023) + year(2024)
    cc = "coastal-carolina-health"
    a, b = fx.pooled(cc, "readmission_rate_30d", year(2022)), fx.pooled(cc, "readmission_rate_30d", year(2023))
    add("coastal_readmissions", "Coastal Carolina Health: readmissions down 10-15% in one year",
        cc, "readmission_rate_30d", "org", "pooled sum(numerator)/sum(denominator)",
        "%s -> %s, %s" % (f4(a), f4(b), signed(pct(a, b))), "YEAR 2023", b, "YEAR 2022", a)
    a, b = fx.total(cc, "er_visits", year(2022)), fx.total(cc, "er_visits", year(2023))
    add("coastal_er_visits", "Coastal Carolina Health: ER visits down 10-15% in one year",
        cc, "er_visits", "org", "sum",
        "%s -> %s, %s" % (count(a), count(b), signed(pct(a, b))), "YEAR 2023", b, "YEAR 2022", a)

    la = "lasis-healthcare"
    a, b = fx.pooled(la, "ar_days", year(2022)), fx.pooled(la, "ar_days", year(2024))
    add("lasis_ar_days", "NextGen RCM: A/R days down 81% (LASIS Healthcare)", la, "ar_days",
        "org", "pooled sum(A/R balance)/sum(average daily charges)",
        "%.2f -> %.2f days, %s" % (float(a), float(b), signed(pct(a, b))),
        "YEAR 2024", b, "YEAR 2022", a)
    a, b = (fx.pooled(la, "first_pass_clean_claim_rate", year(2022)),
            fx.pooled(la, "first_pass_clean_claim_rate", year(2024)))
    add("lasis_clean_claims", "LASIS Healthcare: clean claim rate up over 20%; NextGen RCM: "
        "first pass clean claims 97%", la, "first_pass_clean_claim_rate", "org",
        "pooled sum(numerator)/sum(denominator)",
        "%s -> %s, %s" % (f4(a), f4(b), signed(pct(a, b), 2)), "YEAR 2024", b, "YEAR 2022", a)

    cu = "communitycare"
    a = fx.gauge_mean(cu, "pending_charges", year(2022))
    b = fx.gauge_mean(cu, "pending_charges", year(2024))
    add("communitycare_pending_charges", "CommUnityCare: average pending charges 55,000 -> "
        "10,000", cu, "pending_charges", "org", "mean of the monthly values",
        "%s -> %s" % (count(a), count(b)), "YEAR 2024", b, "YEAR 2022", a)
    a = fx.total(cu, "ar_balance", ["2022-12"])
    b = fx.total(cu, "ar_balance", ["2024-12"])
    add("communitycare_ar_balance", "NextGen RCM: improvement in A/R of 36.4% (CommUnityCare)",
        cu, "ar_balance", "org", "last value (December)",
        "%s -> %s, %s" % (money(a), money(b), signed(pct(a, b))),
        "MONTH 2024-12", b, "MONTH 2022-12", a)
    a, b = fx.total(cu, "collections", year(2022)), fx.total(cu, "collections", year(2024))
    add("communitycare_collections", "NextGen RCM: improvement in collections of 9.0% "
        "(CommUnityCare)", cu, "collections", "org", "sum",
        "%s -> %s, %s" % (money(a), money(b), signed(pct(a, b))), "YEAR 2024", b, "YEAR 2022", a)
    a, b = fx.total(cu, "production", year(2022)), fx.total(cu, "production", year(2024))
    add("communitycare_production", "NextGen RCM: production improvement of 3.8% "
        "(CommUnityCare)", cu, "production", "org", "sum",
        "%s -> %s, %s" % (money(a), money(b), signed(pct(a, b))), "YEAR 2024", b, "YEAR 2022", a)
    a, b = fx.pooled(cu, "ar_days", year(2022)), fx.pooled(cu, "ar_days", year(2024))
    add("communitycare_ar_days", "(not a seed claim: CommUnityCare's A/R days, consistent "
        "with its A/R and production)", cu, "ar_days", "org",
        "pooled sum(A/R balance)/sum(average daily charges)",
        "%.2f -> %.2f days, %s" % (float(a), float(b), signed(pct(a, b))),
        "YEAR 2024", b, "YEAR 2022", a)

    uh = "university-health-systems"
    first = next(p for p in allm if fx.pooled(uh, "cpoe_rate", [p]) >= Fraction("0.995"))
    dec = fx.pooled(uh, "cpoe_rate", ["2024-12"])
    jan = fx.pooled(uh, "cpoe_rate", ["2022-01"])
    add("uhs_cpoe", "University Health Systems: 99.5% CPOE", uh, "cpoe_rate", "org",
        "pooled per month",
        "%s in 2022-01; first month at 99.5%%: %s; 2024-12: %s" % (f4(jan), first, f4(dec)),
        "MONTH 2024-12", dec, "MONTH 2022-01", jan)
    add("uhs_cpoe_first_month", "University Health Systems: 99.5% CPOE (first month)", uh,
        "cpoe_rate", "org", "pooled per month", "first month at 99.5%%: %s" % first,
        "MONTH %s" % first, fx.pooled(uh, "cpoe_rate", [first]))
    a = fx.total(uh, "mu_incentive", allm)
    add("uhs_mu_incentive", "University Health Systems: $9 million in Meaningful Use "
        "incentives", uh, "mu_incentive", "org", "sum", money(a), "YEAR 2022..2024", a)
    a = min(fx.pooled(uh, "system_availability", [p]) for p in year(2024))
    add("uhs_availability", "(not a seed claim: Allscripts/ACS hosting SLA) system "
        "availability", uh, "system_availability", "org", "lowest monthly pooled value",
        "%s, lowest month of 2024" % f4(a), "YEAR 2024", a)

    fp = "family-practice-associates"
    a = fx.pooled(fp, "net_collection_rate", year(2022))
    b = fx.pooled(fp, "net_collection_rate", year(2024))
    add("fpa_net_collections", "Family Practice Associates (and NextGen RCM): net "
        "collections of 98%", fp, "net_collection_rate", "org",
        "pooled sum(collected)/sum(allowed)", "%s -> %s" % (f4(a), f4(b)),
        "YEAR 2024", b, "YEAR 2022", a)
    series = year(2023) + year(2024)
    launch = next(p for p in series if fx.f.get((fp, "fpa-main", "portal_enrollment_rate",
                                                 "MONTH", p + "-01")))
    first = next(p for p in series
                 if fx.pooled(fp, "portal_enrollment_rate", [p]) >= Fraction("0.2"))
    a = fx.pooled(fp, "portal_enrollment_rate", [launch])
    b = fx.pooled(fp, "portal_enrollment_rate", [first])
    add("fpa_portal", "Family Practice Associates: 20% of patients enrolled in the portal in "
        "less than one year", fp, "portal_enrollment_rate", "org", "pooled per month",
        "%s in %s (first month); first month at 20%%: %s (%s); 2024-12: %s" % (
            f4(a), launch, first, f4(b),
            f4(fx.pooled(fp, "portal_enrollment_rate", ["2024-12"]))),
        "MONTH %s" % first, b, "MONTH %s" % launch, a)

    cm = "cockerell-mcintosh"
    a = fx.pooled(cm, "claim_rejection_rate", year(2022))
    b = fx.pooled(cm, "claim_rejection_rate", year(2024))
    mx = max(fx.pooled(cm, "claim_rejection_rate", [p]) for p in year(2024))
    add("cm_claim_rejections", "Cockerell & McIntosh: claim rejections reduced to less than "
        "2%", cm, "claim_rejection_rate", "org", "pooled sum(rejected)/sum(submitted)",
        "%s -> %s; highest month of 2024: %s" % (f4(a), f4(b), f4(mx)),
        "YEAR 2024", b, "YEAR 2022", a)
    add("cm_claim_rejections_max_month", "Cockerell & McIntosh: claim rejections below 2% "
        "every month", cm, "claim_rejection_rate", "org", "highest monthly pooled value",
        "%s, highest month of 2024" % f4(mx), "YEAR 2024", mx)

    kh = "kaleida-health"
    a, b = fx.total(kh, "supply_cost", year(2022)), fx.total(kh, "supply_cost", year(2023))
    add("kaleida_supply_cost", "Kaleida Health: supply costs down $4 million in one year", kh,
        "supply_cost", "org", "sum",
        "%s -> %s, %s" % (money(a), money(b), money(b - a).replace("$-", "-$")),
        "YEAR 2023", b, "YEAR 2022", a)
    a = fx.total(kh, "overtime_fte", ["2023-01"])
    b = fx.total(kh, "overtime_fte", ["2023-10"])
    add("kaleida_overtime_fte", "Kaleida Health: overtime and shifts down 307 FTEs in nine "
        "months", kh, "overtime_fte", "org", "sum across facilities",
        "%.1f -> %.1f FTE, %.1f" % (float(a), float(b), float(b - a)),
        "MONTH 2023-10", b, "MONTH 2023-01", a)
    a, b = fx.total(kh, "overtime_cost", year(2022)), fx.total(kh, "overtime_cost", year(2024))
    add("kaleida_overtime_cost", "Kaleida Health: overtime reduction saving $15 million", kh,
        "overtime_cost", "org", "sum",
        "%s -> %s, %s" % (money(a), money(b), money(b - a).replace("$-", "-$")),
        "YEAR 2024", b, "YEAR 2022", a)

    for org, cid, seed in (
            ("altamed", "altamed", "AltaMed: 94 providers meeting requirements and $1.9 "
             "million in MU incentives"),
            ("healthcare-partners", "hcp", "HealthCare Partners: over 100 physicians earning "
             "$2 million in MU payments")):
        a = fx.total(org, "mu_incentive", allm)
        p = fx.total(org, "mu_providers_attested", allm)
        add(cid + "_mu_incentive", seed, org, "mu_incentive", "org", "sum", money(a),
            "YEAR 2022..2024", a)
        add(cid + "_mu_providers", seed, org, "mu_providers_attested", "org", "sum",
            "%s providers" % count(p), "YEAR 2022..2024", p)

    fh = "fraser-health"
    seed = ("Fraser Health: 4,200 community users with access to acute data, 18,000 acute "
            "users with access to community data")
    for fac in ("fh-community", "fh-acute"):
        a = fx.total(fh, "hie_users", ["2024-12"], fac)
        add("fraser_hie_users_" + fac[3:], seed, fh, "hie_users", "facility", "last value",
            "%s: %s users" % (fac, count(a)), "MONTH 2024-12", a, fac=fac)
    return out


def num6(x):
    return "" if x is None else "%.6f" % float(x)


def claims_csv(cl):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["claim", "org_id", "facility_id", "metric", "level", "statistic",
                "period_before", "before", "period_after", "after", "change", "change_pct"])
    for c in cl:
        b, a = c["before"], c["after"]
        w.writerow([c["claim"], c["org"], c["fac"], c["metric"], c["level"], c["stat"],
                    c["p_before"], num6(b), c["p_after"], num6(a),
                    num6(None if b is None else a - b),
                    num6(None if b is None else pct(b, a))])
    return out.getvalue()


def claims_md(cl, n_csv, n_fhir, facts):
    lines = [
        "# Demo data: the seed claims, recomputed",
        "",
        "Generated by `deploy/demo/make-demo.py` (do not edit by hand; re-run it). The",
        "figures below are computed from `observations.csv` and `readmissions.ndjson`",
        "(the 30-day readmission rates, as FHIR MeasureReports) after last writer wins",
        "(greatest `observed_at`, then the later row), the way the rollups must compute",
        "them. `claims.csv` holds the same figures for tests: `before` and `after` with",
        "their periods (6 decimals), `change` = after - before and `change_pct`, empty",
        "where the claim is a level or a total rather than a change.",
        "",
        "Conventions: *org* level = all facilities of the org (org-level facts have an",
        "empty `facility_id`); ratio metrics pool Σnumerator / Σdenominator over the",
        "facilities and months covered; counts and amounts sum; gauges sum across",
        "facilities and, across months, take the mean or the last value as stated.",
        "",
        "| claim (seed) | org | metric | statistic | periods | figure from the CSV |",
        "|---|---|---|---|---|---|",
    ]
    for c in cl:
        periods = c["p_after"] if not c["p_before"] else "%s -> %s" % (c["p_before"],
                                                                       c["p_after"])
        lines.append("| `%s`: %s | %s (`%s`) | `%s` | %s, %s level | %s | %s |" % (
            c["claim"], c["seed"], ORG_NAME[c["org"]], c["org"], c["metric"], c["stat"],
            c["level"], periods, c["text"]))
    lines += ["", "## Organisations and facilities", "",
              "| org_id | name | source | facilities |", "|---|---|---|---|"]
    for oid, name, source, facs in ORGS:
        fl = ", ".join("`%s` (%s)" % f for f in facs) if facs else "org-level facts only"
        lines.append("| `%s` | %s | `%s` | %s |" % (oid, name, source, fl))
    lines += [
        "",
        "## Versions in the stream",
        "",
        "`observations.csv` has %d rows and `readmissions.ndjson` %d MeasureReports, for %d "
        "standing facts (grain MONTH, 2022-01 .. 2024-12)." % (n_csv, n_fhir, len(facts)),
        "Each month's figures are observed early in the following month. Besides them:",
        "",
    ]
    for (org, fac, metric, i), pre in sorted(RESTATED.items()):
        lines.append("- restated%s: `%s` / `%s` / `%s` / %s: %d preliminary version%s, the "
                     "final one later in the file with a later `observed_at`" % (
                         " twice" if len(pre) > 1 else "", org, fac or "(org level)", metric,
                         month_date(i), len(pre), "s" if len(pre) > 1 else ""))
    org, fac, metric, i = LATE
    lines.append("- late older version: `%s` / `%s` / `%s` / %s, re-sent near the end of the "
                 "file with an `observed_at` before the standing one: it must change nothing"
                 % (org, fac, metric, month_date(i)))
    org, fac, metric, i = DUPLICATE
    lines.append("- exact duplicate: the last row repeats `%s` / `%s` / `%s` / %s" % (
        org, fac, metric, month_date(i)))
    lines.append("")
    return "\n".join(lines)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=here,
                    help="where to write (default: the script's directory)")
    args = ap.parse_args()

    d = Demo()
    for build in (coastal, uhs, kaleida, fpa, fraser, communitycare, lasis, cockerell):
        build(d)
    mu(d, "altamed", {4: 1_120_000, 10: 780_000}, {1: 38, 2: 56})
    mu(d, "healthcare-partners", {16: 1_200_000, 22: 800_000}, {13: 61, 14: 43})

    rows = stream_rows(d)
    text = write_csv(rows)  # all of them, for the claims
    facts = fold(text)
    cl = claims(Facts(facts))
    csv_rows = [r for r in rows if r["metric"] != FHIR_METRIC]
    fhir_rows = [r for r in rows if r["metric"] == FHIR_METRIC]
    catalog = demo_catalog(os.path.join(here, "..", "..", "schemas", "catalog.tsv"))
    os.makedirs(args.out_dir, exist_ok=True)
    for name, content in (("observations.csv", write_csv(csv_rows)),
                          ("readmissions.ndjson", write_ndjson(fhir_rows)),
                          ("catalog.tsv", catalog),
                          ("claims.csv", claims_csv(cl)),
                          ("CLAIMS.md", claims_md(cl, len(csv_rows), len(fhir_rows), facts))):
        with open(os.path.join(args.out_dir, name), "w", encoding="utf-8", newline="") as f:
            f.write(content)


if __name__ == "__main__":
    main()
