#!/usr/bin/env python3
"""gen_peer.py - the peer workload (bench/README.md, part 2) as flowvm
input: `sims` writes the 100,000 SIMs as NDJSON, `events [N]` the first N
(default 2,000,000) events as NDJSON data.usage lines, one a second from
2027-01-01T00:00:00Z.  The random draws are the workload's, in its order."""
import json
import sys

state = 2463534242


def rnd():
    global state
    s = state
    s ^= (s << 13) & 0xFFFFFFFF
    s ^= s >> 17
    s ^= (s << 5) & 0xFFFFFFFF
    state = s
    return s


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


def main():
    what = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000000
    sims, quotas, used = [], [], [0] * 100000
    for i in range(100000):
        quota = (1 + rnd() % 5) * 1000000000
        tags = []
        for _ in range(1 + rnd() % 3):
            t = "T%d" % (rnd() % 20)
            if t not in tags:
                tags.append(t)
        package = "P%d" % (rnd() % 10)
        active = rnd() % 100 < 95
        quotas.append(quota)
        sims.append({"iccid": iccid(i), "quota": quota, "tags": tags, "package": package,
                     "status": "active" if active else "suspended"})
    out = sys.stdout
    if what == "sims":
        for s in sims:
            out.write(json.dumps(s, separators=(",", ":")) + "\n")
        return
    t0 = 1798761600
    w = out.write
    for k in range(n):
        si = rnd() % 100000
        used[si] += rnd() % 50000000
        q = quotas[si]
        if used[si] > q + q // 5:
            used[si] = 0
        secs = t0 + k
        day, rem = divmod(secs - t0, 86400)
        w('{"id":"p%d","type":"data.usage","iccid":"%s","time":"2027-01-%02dT%02d:%02d:%02dZ","used":%d}\n'
          % (k, sims[si]["iccid"], 1 + day, rem // 3600, rem // 60 % 60, rem % 60, used[si]))


if __name__ == "__main__":
    main()
