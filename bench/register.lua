-- wrk script for bench/writes.sh: every request registers a new seizure with one sample
-- (one write transaction: seizure, sample, lab-code counter, two custody events, audit rows).
-- Needs COOKIE (the session cookie header value), CSRF (that session's token) and RUN (a
-- tag that keeps references unique across runs) in the environment.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0

local function enc(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Cookie"] = os.getenv("COOKIE")
end

function request()
  n = n + 1
  local fields = {
    csrf_token = os.getenv("CSRF"),
    reference = string.format("W%s-%d-%d", os.getenv("RUN"), tid, n),
    customs_office = "Intendencia de Aduana de Tacna",
    seized_at = "2026-03-01T10:30",
    place = "Complejo fronterizo Santa Rosa",
    seizing_officer = "Of. Pedro Ramírez",
    goods_description = "Polvo blanco en paquetes",
    risk_channel = "red",
    rows = "1",
    s0_description = "Paquete 1",
    s0_priority = "routine",
    s0_seal_number = string.format("S%s-%d-%d", os.getenv("RUN"), tid, n),
  }
  local body = {}
  for k, v in pairs(fields) do body[#body + 1] = k .. "=" .. enc(v) end
  return wrk.format(nil, "/seizures", nil, table.concat(body, "&"))
end

function done(summary, latency, requests)
  -- One line the driver parses: p50, p99 and max in milliseconds, requests, errors.
  io.write(string.format("RESULT p50=%.1f p99=%.1f max=%.1f requests=%d errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, summary.errors.status))
end
