#!/usr/bin/env python3
"""gen_project.py - the inputs of the `flowc check` benchmark.

Writes a Flow project (a folder of .flow files: inputs and consts, two subs,
18 long flows, the most a project may hold being 20) and one Lua file of the
same shape: line for line the same statements, so that `flowc check DIR` and
`luac5.4 -p FILE` read the same program written in each language.  Both come
out with exactly LINES lines.  The Lua file calls its host (email, webhook,
log, tag, untag, pct_of, has, fmt) as globals: `luac -p` only parses.

    python3 bench/gen_project.py OUT_DIR [LINES]     (default LINES: 100000)

creates OUT_DIR/project/*.flow and OUT_DIR/project.lua.  Deterministic: the
same LINES give the same bytes.
"""
import os
import sys

NFLOWS = 18
TAGS = ["fleet-telemetry", "fleet-meters", "USA-FleetA", "EU-trackers", "T3", "T7"]
PACKAGES = ["IoT-1GB", "IoT-5GB", "Trackers-EU", "Meters-100MB"]


def luhn_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
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


class Pair:
    """Two files written in step: every Flow line has its Lua line."""

    def __init__(self):
        self.flow, self.lua = [], []

    def add(self, flow, lua):
        self.flow.append(flow)
        self.lua.append(lua)

    def rows(self, rows, indent=""):
        for flow, lua in rows:
            self.add(indent + flow if flow else "", indent + lua if lua else "")


# ------------------------------------------------------------ the chunks
# Each chunk is one block of a flow's `do` body; its locals end with it (in
# both languages), so a long body never runs out of registers or locals.

def chunk_usage(k, band):
    return [
        ("// step %d: usage band %d" % (k, band), "-- step %d: usage band %d" % (k, band)),
        ('if event.used >= limit_%d of sim.quota and sim.status == "active" {' % band,
         'if event.used >= pct_of(limit_%d, sim.quota) and sim.status == "active" then' % band),
        ("  let used = event.used + 5MB", "  local used = event.used + 5000000"),
        ("  let left = sim.quota - event.used", "  local left = sim.quota - event.used"),
        ("  let share = event.used / sim.quota", "  local share = event.used / sim.quota"),
        ("  let pct = floor(share * 100)", "  local pct = math.floor(share * 100)"),
        ('  let hot = used > 750MB or "T%d" in sim.tags' % (k % 20),
         '  local hot = used > 750000000 or has(sim.tags, "T%d")' % (k % 20)),
        ('  let label = "SIM ${sim.iccid} at ${pct}%% in step %d"' % k,
         '  local label = "SIM " .. sim.iccid .. " at " .. pct .. "%% in step %d"' % k),
        ("  if hot and pct >= %d {" % (60 + k % 40), "  if hot and pct >= %d then" % (60 + k % 40)),
        ("    email noc {", "    email(noc, {"),
        ('      subject "Usage ${pct}%% for ${sim.iccid} (step %d)"' % k,
         '      subject = "Usage " .. pct .. "%% for " .. sim.iccid .. " (step %d)",' % k),
        ('      text    "Used ${event.used} of ${sim.quota}; ${left} left. ${label}"',
         '      text    = "Used " .. fmt(event.used) .. " of " .. fmt(sim.quota) .. "; " .. fmt(left) .. " left. " .. label,'),
        ("    }", "    })"),
        ("  } else if left < %dMB {" % (100 + k % 7 * 50), "  elseif left < %d then" % ((100 + k % 7 * 50) * 1000000)),
        ("    webhook usage_hook {", "    webhook(usage_hook, {"),
        ("      iccid: sim.iccid,", "      iccid = sim.iccid,"),
        ("      used:  event.used,", "      used  = event.used,"),
        ("      step:  %d," % k, "      step  = %d," % k),
        ("    }", "    })"),
        ("  } else {", "  else"),
        ("    log label", "    log(label)"),
        ("  }", "  end"),
        ("}", "end"),
    ]


def chunk_plan(k):
    return [
        ("// step %d: plan, tags and expiry" % k, "-- step %d: plan, tags and expiry" % k),
        ('if lower(sim.plan) == "iot-%dgb" or len(sim.tags) > %d {' % (1 + k % 5, 1 + k % 3),
         'if string.lower(sim.plan) == "iot-%dgb" or #sim.tags > %d then' % (1 + k % 5, 1 + k % 3)),
        ("  let scaled = event.used * %d + 3MB" % (2 + k % 4), "  local scaled = event.used * %d + 3000000" % (2 + k % 4)),
        ("  let until_expiry = sim.expires - now", "  local until_expiry = sim.expires - now"),
        ("  let remaining_days = days(until_expiry)", "  local remaining_days = until_expiry // 86400"),
        ("  for t in sim.tags {", "  for _, t in ipairs(sim.tags) do"),
        ('    if starts_with(t, "T") and not ends_with(t, "%d") {' % (k % 10),
         '    if t:sub(1, 1) == "T" and t:sub(-1) ~= "%d" then' % (k % 10)),
        ('      log "tag ${t} on ${sim.iccid}: ${format_bytes(scaled)}"',
         '      log("tag " .. t .. " on " .. sim.iccid .. ": " .. fmt(scaled))'),
        ("    }", "    end"),
        ("  }", "  end"),
        ('  if remaining_days < %d and sim.type == "prepaid" {' % (10 + k % 30),
         '  if remaining_days < %d and sim.type == "prepaid" then' % (10 + k % 30)),
        ('    tag sim "expiring-%d"' % k, '    tag(sim, "expiring-%d")' % k),
        ("  } else if until_expiry > %dd {" % (60 + k % 60), "  elseif until_expiry > %d then" % ((60 + k % 60) * 86400)),
        ('    untag sim "expiring-%d"' % k, '    untag(sim, "expiring-%d")' % k),
        ("  }", "  end"),
        ('  let note = join(sim.tags, ",") + " / " + upper(sim.package)',
         '  local note = table.concat(sim.tags, ",") .. " / " .. string.upper(sim.package)'),
        ('  log "step %d: ${note} (${remaining_days} days, ${event.percent})"' % k,
         '  log("step %d: " .. note .. " (" .. remaining_days .. " days, " .. event.percent .. "%%)")' % k),
        ("}", "end"),
    ]


def chunk_threshold(k):
    return [
        ("// step %d: thresholds and headroom" % k, "-- step %d: thresholds and headroom" % k),
        ("if event.percent >= warn_at + %d%% and event.percent < 100%% {" % (k % 15),
         "if event.percent >= warn_at + %d and event.percent < 100 then" % (k % 15)),
        ("  let headroom = max(sim.quota - event.used, 0B)", "  local headroom = math.max(sim.quota - event.used, 0)"),
        ("  let half = headroom / %d" % (2 + k % 3), "  local half = headroom // %d" % (2 + k % 3)),
        ("  let ratio = round(event.used / sim.quota * 1000.0)",
         "  local ratio = math.floor(event.used / sim.quota * 1000.0 + 0.5)"),
        ("  let why = usage_note(ratio, sim.iccid)", "  local why = usage_note(ratio, sim.iccid)"),
        ('  if headroom < %dMB and sim.in_session == "yes" {' % (200 + k % 5 * 100),
         '  if headroom < %d and sim.in_session == "yes" then' % ((200 + k % 5 * 100) * 1000000)),
        ('    notify_ops("step %d: ${why}, ${half} to go")' % k,
         '    notify_ops(sim, "step %d: " .. why .. ", " .. fmt(half) .. " to go")' % k),
        ("  }", "  end"),
        ("  let cap = min(event.used + %d%% of sim.quota, sim.quota)" % (5 + k % 20),
         "  local cap = math.min(event.used + pct_of(%d, sim.quota), sim.quota)" % (5 + k % 20)),
        ("  if cap == sim.quota {", "  if cap == sim.quota then"),
        ('    log "step %d: ${sim.iccid} will reach its cap of ${format_bytes(cap, true)}"' % k,
         '    log("step %d: " .. sim.iccid .. " will reach its cap of " .. fmt(cap, true))' % k),
        ("  }", "  end"),
        ("}", "end"),
    ]


def chunk_report(k):
    return [
        ("// step %d: report" % k, "-- step %d: report" % k),
        ('if sim.status == "suspended" or event.used > big_usage - %dMB {' % (k % 50 * 10),
         'if sim.status == "suspended" or event.used > big_usage - %d then' % (k % 50 * 10 * 1000000)),
        ("  let over = event.used - big_usage", "  local over = event.used - big_usage"),
        ('  let owner = "${sim.company} / ${sim.end_user}"', '  local owner = sim.company .. " / " .. sim.end_user'),
        ("  webhook report_hook {", "  webhook(report_hook, {"),
        ("    iccid: sim.iccid,", "    iccid = sim.iccid,"),
        ("    over: over,", "    over = over,"),
        ("    owner: owner,", "    owner = owner,"),
        ("    step: %d," % k, "    step = %d," % k),
        ("  }", "  })"),
        ("  email ops_team {", "  email(ops_team, {"),
        ('    subject "SIM ${sim.iccid} over by ${over} (step %d)"' % k,
         '    subject = "SIM " .. sim.iccid .. " over by " .. fmt(over) .. " (step %d)",' % k),
        ('    text    "Plan ${sim.plan}, package ${sim.package}, company ${sim.company}."',
         '    text    = "Plan " .. sim.plan .. ", package " .. sim.package .. ", company " .. sim.company .. ".",'),
        ('    html    "<p>Plan <b>${sim.plan}</b>, ${event.percent} used</p>"',
         '    html    = "<p>Plan <b>" .. sim.plan .. "</b>, " .. event.percent .. "% used</p>",'),
        ('    cc      ["audit@acme.example"]', '    cc      = {"audit@acme.example"},'),
        ("  }", "  })"),
        ("}", "end"),
    ]


def chunk(k):
    kind = k % 5
    if kind == 0 or kind == 3:
        return chunk_usage(k, k % 10)
    if kind == 1:
        return chunk_plan(k)
    if kind == 2:
        return chunk_threshold(k)
    return chunk_report(k)


# ------------------------------------------------------------ files

def common(p):
    p.add("// 00_common.flow - generated by bench/gen_project.py: inputs and consts of the flows.",
          "-- project.lua - generated by bench/gen_project.py: the Flow project, line for line.")
    p.add('input noc: list<email> = ["noc@acme.example", "oncall@acme.example"]',
          'local noc = {"noc@acme.example", "oncall@acme.example"}')
    p.add('input ops_team: list<email> = ["ops@acme.example"]', 'local ops_team = {"ops@acme.example"}')
    p.add('input usage_hook: url = "https://hooks.acme.example/usage"',
          'local usage_hook = "https://hooks.acme.example/usage"')
    p.add('input report_hook: url = "https://hooks.acme.example/report"',
          'local report_hook = "https://hooks.acme.example/report"')
    p.add("input warn_at: percent = 80%", "local warn_at = 80")
    p.add("const big_usage = 4GB", "local big_usage = 4000000000")
    for band in range(10):
        p.add("const limit_%d = %d%%" % (band, 50 + band * 5), "local limit_%d = %d" % (band, 50 + band * 5))
    p.add("// the flows of the project follow", "local flows = {}")


def subs(p):
    p.rows([
        ("// 01_subs.flow - the subs the flows call.", "-- the subs the flows call"),
        ("sub usage_note(ratio: int, who: string) -> string {", "local function usage_note(ratio, who)"),
        ("  if ratio >= 900 {", "  if ratio >= 900 then"),
        ('    return "${who} is nearly full (${ratio} per mille)"',
         '    return who .. " is nearly full (" .. ratio .. " per mille)"'),
        ("  }", "  end"),
        ('  return "${who} at ${ratio} per mille"', '  return who .. " at " .. ratio .. " per mille"'),
        ("}", "end"),
        ("", ""),
        ("sub notify_ops(why: string) {", "local function notify_ops(sim, why)"),
        ("  email ops_team {", "  email(ops_team, {"),
        ('    subject "SIM ${sim.iccid}: ${why}"', '    subject = "SIM " .. sim.iccid .. ": " .. why,'),
        ('    text    "Status ${sim.status}, plan ${sim.plan}."',
         '    text    = "Status " .. sim.status .. ", plan " .. sim.plan .. ".",'),
        ("  }", "  })"),
        ("}", "end"),
    ])


def scope_rows(f):
    kind = f % 4
    if kind == 0:
        return ("scope  all", "scope = \"all\",")
    if kind == 1:
        tags = [TAGS[f % len(TAGS)], "T%d" % (f % 20)]
        return ("scope  tags [%s]" % ", ".join('"%s"' % t for t in tags),
                "scope = {tags = {%s}}," % ", ".join('"%s"' % t for t in tags))
    if kind == 2:
        pkg = PACKAGES[f % len(PACKAGES)]
        return ('scope  package "%s"' % pkg, 'scope = {package = "%s"},' % pkg)
    ids = [iccid(f * 7919 + j * 97) for j in range(4)]
    return ("scope  iccids [%s]" % ", ".join('"%s"' % i for i in ids),
            "scope = {iccids = {%s}}," % ", ".join('"%s"' % i for i in ids))


def flow(p, f, budget, first_step):
    """One flow of about `budget` lines; returns the next step number."""
    start = len(p.flow)
    scope_flow, scope_lua = scope_rows(f)
    p.rows([
        ("// f%02d.flow - generated by bench/gen_project.py: one long flow." % f,
         "-- f%02d: one long flow" % f),
        ("flow usage_f%02d {" % f, "flows.usage_f%02d = {" % f),
        ('  title  "Generated usage flow %d"' % f, '  title = "Generated usage flow %d",' % f),
        ("  on     data.usage", '  on = "data.usage",'),
        ("  " + scope_flow, "  " + scope_lua),
        ('  when   event.percent >= warn_at - %d%% and sim.status != "invalid"' % (f % 10),
         '  when = function(event, sim, now) return event.percent >= warn_at - %d and sim.status ~= "invalid" end,'
         % (f % 10)),
    ])
    if f % 3 == 0:
        p.add("  rearm  when event.percent < %d%%" % (40 + f % 20),
              "  rearm = function(event, sim, now) return event.percent < %d end," % (40 + f % 20))
    p.add("  do {", '  ["do"] = function(event, sim, now)')
    k = first_step
    while True:
        rows = chunk(k)
        if len(p.flow) - start + len(rows) + 1 + 3 > budget:
            break
        p.rows(rows, "    ")
        p.add("", "")
        k += 1
    p.add("  }", "  end,")
    p.add("}", "}")
    return k


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write("usage: gen_project.py OUT_DIR [LINES]\n")
        return 2
    out = sys.argv[1]
    lines = int(sys.argv[2]) if len(sys.argv) == 3 else 100000
    p = Pair()
    files = []                      # (name, first line index) of each .flow file
    files.append(("00_common.flow", len(p.flow)))
    common(p)
    files.append(("01_subs.flow", len(p.flow)))
    subs(p)
    per_flow = (lines - len(p.flow) - 1) // NFLOWS
    step = 0
    for f in range(NFLOWS):
        files.append(("f%02d.flow" % f, len(p.flow)))
        step = flow(p, f, per_flow, step)
    # pad both to exactly `lines` (the Lua file ends with its return)
    while len(p.flow) < lines - 1:
        p.add("// padding", "-- padding")
    p.add("// end of the generated project", "return flows")
    if len(p.flow) != lines:
        sys.stderr.write("gen_project.py: %d lines is too few for the project's frame\n" % lines)
        return 1

    os.makedirs(os.path.join(out, "project"), exist_ok=True)
    for old in os.listdir(os.path.join(out, "project")):
        if old.endswith(".flow"):
            os.remove(os.path.join(out, "project", old))
    for i, (name, first) in enumerate(files):
        last = files[i + 1][1] if i + 1 < len(files) else len(p.flow)
        with open(os.path.join(out, "project", name), "w") as fh:
            fh.write("\n".join(p.flow[first:last]) + "\n")
    with open(os.path.join(out, "project.lua"), "w") as fh:
        fh.write("\n".join(p.lua) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
