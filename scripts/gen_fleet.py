#!/usr/bin/env python3
"""gen_fleet.py - a generated SIM inventory and event stream for the demo,
the crash test and the benchmarks.  Deterministic for a given --seed.

  gen_fleet.py sims N [--seed S]                       CSV inventory (header line)
  gen_fleet.py events N --sims N [--start TIME] [--days D] [--seed S] [--id-prefix P]
                                                       NDJSON events, in time order
SIM i has ICCID "8944100030" + i (9 digits) + its Luhn check digit; i < 200
keeps the ICCIDs the flows' tests and sms_fleet.csv use (…0012, …0137).
"""
import argparse
import datetime as dt
import json
import random
import sys

TAGS = ["USA-FleetA", "fleet-telemetry", "Fleet-Critical", "sms-burst-guard", "weekly-digest",
        "auto-topup", "imei-lock", "critical", "auto-renew"]
PACKAGES = ["IoT-1GB", "M2M-Flex", "M2M-Basic"]
POOLS = ["EU-Pool-1", "US-Pool-2", ""]
GB = 1000000000


def luhn_digit(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def iccid(i):
    body = "8944100030" + "%09d" % i
    return body + luhn_digit(body)


def sim_record(i, rnd):
    quota = rnd.choice([1, 1, 2, 10]) * GB
    tags = sorted(set(rnd.sample(TAGS, rnd.randint(0, 3))))
    return {
        "iccid": iccid(i),
        "status": "active" if rnd.random() < 0.95 else "suspended",
        "type": "prepaid" if rnd.random() < 0.3 else "subscription",
        "plan": "Plan-%dGB" % (quota // GB),
        "package": rnd.choice(PACKAGES),
        "pool": rnd.choice(POOLS),
        "company": "Acme %d" % (i % 17),
        "end_user": "Unit %d" % i,
        "tags": tags,
        "quota": quota,
        "month_usage": 0,
        "expires": "2026-12-%02dT00:00:00Z" % rnd.randint(5, 28),
    }


def cmd_sims(a):
    rnd = random.Random(a.seed)
    cols = ["iccid", "status", "type", "plan", "package", "pool", "company", "end_user", "tags", "quota",
            "month_usage", "expires"]
    out = sys.stdout
    out.write(",".join(cols) + "\n")
    for i in range(a.n):
        r = sim_record(i, rnd)
        r["tags"] = ";".join(r["tags"])
        out.write(",".join(str(r[c]) for c in cols) + "\n")


def cmd_events(a):
    rnd = random.Random(a.seed)
    start = dt.datetime.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    span = a.days * 86400
    used = {}
    out = sys.stdout
    step = span / max(a.n, 1)
    for k in range(a.n):
        t = start + dt.timedelta(seconds=int(k * step))
        ev = {"id": "%s%d" % (a.id_prefix, k), "time": t.strftime("%Y-%m-%dT%H:%M:%SZ")}
        i = rnd.randrange(a.sims)
        x = rnd.random()
        if x < 0.70:
            quota = 2 * GB
            u = used.get(i, rnd.randrange(0, GB // 2)) + rnd.randrange(0, 250000000)
            if u > 2 * quota:
                u = 0
            used[i] = u
            ev.update(type="data.usage", iccid=iccid(i), used=u)
        elif x < 0.78:
            ev.update(type="sms.usage", iccid=iccid(i), count=rnd.randrange(0, 900))
        elif x < 0.84:
            ev.update(type="balance.remaining", iccid=iccid(i), remaining=rnd.randrange(0, 600) * 1000000,
                      days_left=rnd.randrange(0, 30))
        elif x < 0.88:
            frm, to = rnd.choice([("active", "suspended"), ("suspended", "active"), ("active", "invalid")])
            ev.update(type="sim.status", iccid=iccid(i), **{"from": frm, "to": to})
        elif x < 0.91:
            ev.update(type="sim.imei", iccid=iccid(i), old="35693803564%04d" % rnd.randrange(10000),
                      new="49015420323%04d" % rnd.randrange(10000))
        elif x < 0.95:
            j = rnd.choice([137, 145, i])
            ev.update(type="sms.mo", iccid=iccid(j), **{"from": rnd.choice(["+447700900123", "+15550100999"]),
                      "text": rnd.choice(["status", "SUSPEND", "resume", "tag maintenance", "hello"])})
        elif x < 0.99:
            pool = rnd.choice(["EU-Pool-1", "US-Pool-2"])
            ev.update(type="pool.usage", iccid=iccid(i), pool=pool, used=rnd.randrange(800, 1001) * GB,
                      quota=1000 * GB)
        else:
            ev.update(type="invoice.overdue", invoice_id="INV-%05d" % k, amount=round(rnd.uniform(5, 2000), 2),
                      currency="EUR")
        out.write(json.dumps(ev, separators=(",", ":")) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sims")
    s.add_argument("n", type=int)
    s.add_argument("--seed", type=int, default=7)
    e = sub.add_parser("events")
    e.add_argument("n", type=int)
    e.add_argument("--sims", type=int, required=True)
    e.add_argument("--start", default="2026-12-01T00:00:00Z")
    e.add_argument("--days", type=float, default=7)
    e.add_argument("--seed", type=int, default=11)
    e.add_argument("--id-prefix", default="ev-")
    a = p.parse_args()
    cmd_sims(a) if a.cmd == "sims" else cmd_events(a)


if __name__ == "__main__":
    main()
