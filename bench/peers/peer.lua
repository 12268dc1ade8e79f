-- peer.lua: the peer workload (see bench/README.md, part 2) in Lua.
-- Runs unchanged on Lua 5.4 (`lua5.4 peer.lua`) and LuaJIT 2.1 (`luajit peer.lua`).
-- The file itself uses only syntax both understand: no `//`, no bitwise operators.
-- On Lua 5.3+/5.4 the xorshift32 step is compiled from a small chunk with native
-- integer operators via load(); on LuaJIT it uses the `bit` library.
-- Only the 2,000,000-event evaluation loop is timed.

local NSIMS, NFLOWS, NEVENTS, NSTATIC = 100000, 50, 2000000, 1000
local EXPECT_FIRES, EXPECT_HASH, EXPECT_LEN = 43176, 1175160724, 1760021

local is_jit = type(jit) == "table"
local peer_name = is_jit and "luajit" or "lua5.4"

---------------------------------------------------------------- random numbers
-- xorshift32; rnd() returns the new state as a non-negative integer < 2^32.
local rnd
if is_jit then
  local bxor, lshift, rshift, tobit = bit.bxor, bit.lshift, bit.rshift, bit.tobit
  local s = tobit(2463534242) -- kept as a signed int32, the bit library's domain
  rnd = function()
    s = bxor(s, lshift(s, 13))
    s = bxor(s, rshift(s, 17)) -- logical shift: uint32 semantics
    s = bxor(s, lshift(s, 5))
    return s % 4294967296      -- as uint32 (a double, exact)
  end
else
  rnd = assert(load([[
    local s = 2463534242
    return function()
      s = s ~ ((s << 13) & 0xFFFFFFFF)
      s = s ~ (s >> 17)
      s = s ~ ((s << 5) & 0xFFFFFFFF)
      return s
    end
  ]]))()
end

---------------------------------------------------------------- timing
local now
if is_jit then
  local ok, ffi = pcall(require, "ffi")
  if ok then
    pcall(ffi.cdef, [[
      typedef struct { long tv_sec; long tv_nsec; } peer_timespec;
      int clock_gettime(int clk_id, peer_timespec *tp);
    ]])
    local ts = ffi.new("peer_timespec")
    local CLOCK_MONOTONIC = 1 -- Linux
    now = function()
      ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
      return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
    end
  end
end
now = now or os.clock -- plain Lua: CPU time of this single-threaded process

---------------------------------------------------------------- SIMs
local function luhn_digit(digits)
  local sum, double = 0, true -- the digit next to the check digit is doubled
  for k = #digits, 1, -1 do
    local d = string.byte(digits, k) - 48
    if double then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
    double = not double
  end
  return (10 - sum % 10) % 10
end

local sims = {}
for i = 0, NSIMS - 1 do
  local base = string.format("8944100030%09d", i)
  local sim = {
    iccid = base .. luhn_digit(base),
    quota = (1 + rnd() % 5) * 1000000000,
    tags = {},
  }
  local ntags = 1 + rnd() % 3
  for _ = 1, ntags do
    sim.tags["T" .. rnd() % 20] = true
  end
  sim.package = "P" .. rnd() % 10
  sim.status = (rnd() % 100 < 95) and "active" or "suspended"
  sim.used = 0
  sims[i + 1] = sim
end

---------------------------------------------------------------- flows
local flows = {}
for f = 0, NFLOWS - 1 do
  local flow = {
    id = f,
    scope = f % 4,
    thr = 50 + (f % 5) * 10,
    need_active = (f % 2 == 0),
    need_tag = "T" .. (f + 3) % 20,
    edge = {}, -- edge[sim index] = condition at the previous in-scope evaluation
  }
  if flow.scope == 1 then
    flow.tag = "T" .. f % 20
  elseif flow.scope == 2 then
    flow.package = "P" .. f % 10
  elseif flow.scope == 3 then
    local set = {}
    for k = 0, NSTATIC - 1 do
      set[(f * 7919 + k * 97) % NSIMS] = true
    end
    flow.set = set
  end
  for i = 0, NSIMS - 1 do flow.edge[i + 1] = false end
  flows[f + 1] = flow
end

---------------------------------------------------------------- events (timed)
local floor, byte = math.floor, string.byte
local fires, h, len = 0, 0, 0

local t0 = now()
for _ = 1, NEVENTS do
  local si = rnd() % NSIMS
  local sim = sims[si + 1]
  local quota = sim.quota
  local used = sim.used + rnd() % 50000000
  -- quota is a multiple of 10^9, so quota / 5 is exact (the README's integer division)
  if used > quota + quota / 5 then used = 0 end -- new billing cycle
  sim.used = used
  for fi = 1, NFLOWS do
    local flow = flows[fi]
    -- the flow's in-scope test (written inline: this is the hot loop)
    local scope, inscope = flow.scope, true
    if scope == 1 then
      inscope = sim.tags[flow.tag] == true
    elseif scope == 2 then
      inscope = sim.package == flow.package
    elseif scope == 3 then
      inscope = flow.set[si] == true
    end
    if inscope then
      local cond = used * 100 >= quota * flow.thr
      if cond then
        if flow.need_active then
          cond = sim.status == "active"
        else
          cond = sim.tags[flow.need_tag] == true
        end
      end
      local edge = flow.edge
      if cond and not edge[si + 1] then
        -- floor of the float quotient is exact here: quota is k * 10^9 (k <= 5), so a
        -- non-integer quotient is >= 2e-10 away from an integer, far beyond rounding error
        local text = "SIM " .. sim.iccid .. " at " .. floor(used * 100 / quota)
                  .. "% (flow " .. flow.id .. ")"
        fires = fires + 1
        local n = #text
        len = len + n
        for k = 1, n do
          h = (h * 31 + byte(text, k)) % 2147483647
        end
      end
      edge[si + 1] = cond
    end
  end
end
local secs = now() - t0

print(string.format("peer=%s events=%d seconds=%.3f events_per_s=%.0f fires=%d hash=%d len=%d",
  peer_name, NEVENTS, secs, NEVENTS / secs, fires, h, len))
local ok = fires == EXPECT_FIRES and h == EXPECT_HASH and len == EXPECT_LEN
os.exit(ok and 0 or 1)
