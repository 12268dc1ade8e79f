-- many.lua: wrk's requests for tests/http/run.sh's "many clients at once":
-- single data.usage events of one SIM, each with an id of its own.
-- wrk -s many.lua URL -- TOKEN ICCID PREFIX
-- Its RESULT line ends with idle_at_end: seconds from the last answer to the
-- end of the run (0 or 1 when answers kept coming).
local token, iccid, prefix
local counter = 0
local threads = {}
last_answer = 0   -- a global: done() reads it from each thread

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    token, iccid, prefix = args[1], args[2], args[3]
    wrk.method = "POST"
    wrk.headers["Authorization"] = "Bearer " .. token
    wrk.headers["Content-Type"] = "application/json"
end

function request()
    counter = counter + 1
    return wrk.format(nil, nil, nil, string.format(
        '{"id":"%s-%d","type":"data.usage","iccid":"%s","time":"%s","used":%d}',
        prefix, counter, iccid, os.date("!%Y-%m-%dT%H:%M:%SZ"), counter))
end

function response(status, headers, body)
    last_answer = os.time()
end

function done(summary, latency, requests)
    local latest = 0
    for _, thread in ipairs(threads) do
        latest = math.max(latest, thread:get("last_answer") or 0)
    end
    local e = summary.errors
    io.write(string.format("RESULT requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d idle_at_end=%d\n",
        summary.requests, e.status, e.connect, e.read, e.write, e.timeout, os.time() - latest))
end
