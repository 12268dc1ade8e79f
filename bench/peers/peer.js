// peer.js: the peer workload (see bench/README.md, part 2) in JavaScript (Node.js 20).
// Only the 2,000,000-event evaluation loop is timed.
'use strict';

const NSIMS = 100000, NFLOWS = 50, NEVENTS = 2000000, NSTATIC = 1000;
const EXPECT = { fires: 43176, hash: 1175160724, len: 1760021 };

// ------------------------------------------------------------- random numbers
// xorshift32 on uint32 (`>>> 0` brings each step back to unsigned)
let state = 2463534242;
function rnd() {
  let s = state;
  s = (s ^ (s << 13)) >>> 0;
  s = (s ^ (s >>> 17)) >>> 0;
  s = (s ^ (s << 5)) >>> 0;
  state = s;
  return s;
}

// ------------------------------------------------------------- SIMs
function luhnDigit(digits) {
  let sum = 0, double = true; // the digit next to the check digit is doubled
  for (let k = digits.length - 1; k >= 0; k--) {
    let d = digits.charCodeAt(k) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

// Tag and package names come from one catalogue, so every SIM and flow shares the same
// string objects (as a loaded fleet would; Lua interns strings the same way).
const TAGS = Array.from({ length: 20 }, (_, t) => 'T' + t);
const PACKAGES = Array.from({ length: 10 }, (_, p) => 'P' + p);

const sims = new Array(NSIMS);
for (let i = 0; i < NSIMS; i++) {
  const base = '8944100030' + String(i).padStart(9, '0');
  const quota = (1 + (rnd() % 5)) * 1000000000; // up to 5e9: a double, exact
  const tags = new Set();
  const ntags = 1 + (rnd() % 3);
  for (let k = 0; k < ntags; k++) tags.add(TAGS[rnd() % 20]);
  const pkg = PACKAGES[rnd() % 10];
  const status = rnd() % 100 < 95 ? 'active' : 'suspended';
  sims[i] = { iccid: base + luhnDigit(base), quota, tags, package: pkg, status, used: 0 };
}

// ------------------------------------------------------------- flows
const SCOPE_ALL = 0, SCOPE_TAG = 1, SCOPE_PACKAGE = 2, SCOPE_SET = 3;
const flows = [];
for (let f = 0; f < NFLOWS; f++) {
  const flow = {
    id: f,
    scope: f % 4,
    tag: null,
    package: null,
    set: null,
    thr: 50 + (f % 5) * 10,
    needActive: f % 2 === 0,
    needTag: TAGS[(f + 3) % 20],
    edge: new Uint8Array(NSIMS), // condition at the previous in-scope evaluation
  };
  if (flow.scope === SCOPE_TAG) flow.tag = TAGS[f % 20];
  else if (flow.scope === SCOPE_PACKAGE) flow.package = PACKAGES[f % 10];
  else if (flow.scope === SCOPE_SET) {
    flow.set = new Set();
    for (let k = 0; k < NSTATIC; k++) flow.set.add((f * 7919 + k * 97) % NSIMS);
  }
  flows.push(flow);
}

function inScope(flow, sim, si) {
  switch (flow.scope) {
    case SCOPE_ALL: return true;
    case SCOPE_TAG: return sim.tags.has(flow.tag);
    case SCOPE_PACKAGE: return sim.package === flow.package;
    default: return flow.set.has(si);
  }
}

// ------------------------------------------------------------- events (timed)
let fires = 0, hash = 0, len = 0;

const t0 = process.hrtime.bigint();
for (let e = 0; e < NEVENTS; e++) {
  const si = rnd() % NSIMS;
  const sim = sims[si];
  const quota = sim.quota;
  let used = sim.used + (rnd() % 50000000);
  if (used > quota + Math.floor(quota / 5)) used = 0; // new billing cycle
  sim.used = used;
  for (let fi = 0; fi < NFLOWS; fi++) {
    const flow = flows[fi];
    if (!inScope(flow, sim, si)) continue;
    const cond = used * 100 >= quota * flow.thr &&
      (flow.needActive ? sim.status === 'active' : sim.tags.has(flow.needTag));
    const edge = flow.edge;
    if (cond && edge[si] === 0) {
      const text = `SIM ${sim.iccid} at ${Math.floor((used * 100) / quota)}% (flow ${flow.id})`;
      fires++;
      len += text.length; // the text is ASCII: one byte per UTF-16 code unit
      for (let k = 0; k < text.length; k++) {
        hash = (hash * 31 + text.charCodeAt(k)) % 2147483647; // < 2^37: exact in a double
      }
    }
    edge[si] = cond ? 1 : 0;
  }
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;

console.log(`peer=node events=${NEVENTS} seconds=${secs.toFixed(3)} ` +
  `events_per_s=${Math.round(NEVENTS / secs)} fires=${fires} hash=${hash} len=${len}`);
const ok = fires === EXPECT.fires && hash === EXPECT.hash && len === EXPECT.len;
process.exitCode = ok ? 0 : 1;
