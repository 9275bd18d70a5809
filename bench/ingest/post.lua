-- wrk script of the ingest benchmark: single-event POSTs to /api/v1/events
-- with the token in $OPSBOT_TOKEN; counts the 202 answers (acknowledged
-- events) and prints them as "acked N" when done.
local token = os.getenv("OPSBOT_TOKEN") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = '{"tag":"bench.ingest","severity":"warning","title":"disk 91% full on web1",' ..
  '"text":"/var is 91% full (threshold 90%)","labels":{"host":"web1","service":"api"},"source":"bench"}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  acked = 0
  other = 0
end

function response(status, headers, body)
  if status == 202 then
    acked = acked + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, o = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("acked")
    o = o + t:get("other")
  end
  io.write(string.format("acked %d\nother %d\n", a, o))
end
