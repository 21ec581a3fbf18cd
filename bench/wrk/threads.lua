-- What replay.lua and vote.lua share (loaded with dofile from the project root, where bench/vote.py runs
-- wrk): one thread per connection, each counting its own answers, "START <id>" and "DONE <id>" lines for
-- the caller, and the totals when wrk is interrupted.
--
-- Run wrk with as many threads as connections (-t C -c C): a thread's one connection sends its posts one
-- after the other. A thread whose posts are all answered keeps its connection busy with /healthz (the
-- fillers, counted) until the caller interrupts wrk: stopping it would leave wrk's reconnected socket
-- idle in a sync worker, which blocks reading it, and a few of those stall the whole server.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

-- The end of a thread's init: its counters, and its start announced.
function begin_thread()
  ok, refused, fillers, filler = 0, 0, 0, wrk.format("GET", "/healthz")
  -- wrk asks the first thread's request() once before the run, to check it (script_verify_request):
  -- that first answer is a filler that is never sent.
  primed = id ~= 1
  io.write(string.format("START %d\n", id))  -- one write a line: the threads share stdout
  io.flush()
end

-- Whether this request() is wrk's check before the run (answer it with the filler).
function checking()
  if primed then return false end
  primed = true
  return true
end

function next_filler()
  fillers = fillers + 1
  return filler
end

function count_refused(status, body)
  refused = refused + 1
  if refused <= 3 then
    io.write(string.format("REFUSED %d %s\n", status, (body:sub(1, 200):gsub("%s+", " "))))
  end
end

-- After each answer: announce the thread done once its ``quota`` posts are all answered.
function check_done(quota)
  if ok + refused == quota then
    io.write(string.format("DONE %d\n", id))
    io.flush()
  end
end

function done(summary, latency, requests)
  local ok_all, refused_all, fillers_all = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_all = ok_all + thread:get("ok")
    refused_all = refused_all + thread:get("refused")
    fillers_all = fillers_all + thread:get("fillers")
  end
  io.write(string.format("RESULT ok=%d refused=%d fillers=%d p50_us=%d p99_us=%d\n", ok_all, refused_all,
    fillers_all, latency:percentile(50), latency:percentile(99)))
end
