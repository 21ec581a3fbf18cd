-- wrk script: replay a file of form posts, each once, spread over wrk's threads (bench/vote.py).
-- Usage: wrk -t T -c C -d LIMIT -s bench/wrk/replay.lua URL -- FILE T OK_STATUS OK_LOCATION
-- FILE: one request a line, "path<TAB>cookie<TAB>urlencoded body". A post counts as done when it is
-- answered with OK_STATUS redirecting to a path ending in OK_LOCATION (a saved sheet: 302 to /judge/);
-- anything else is counted as refused. When a
-- thread has sent all of its posts, its connections ask for /healthz until its last answer is in; it
-- then prints "DONE <id>" (the caller interrupts wrk when every thread has, and times the phase by it).

-- Run it with as many threads as connections (-t C -c C): a thread's one connection sends its posts one
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

function init(args)
  local count, every, mine = 0, tonumber(args[2]), {}
  ok_status, ok_location = tonumber(args[3]), args[4] or ""
  for line in io.lines(args[1]) do
    if count % every == id - 1 then
      local path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      mine[#mine + 1] = wrk.format("POST", path, {
        ["Cookie"] = cookie,
        ["Content-Type"] = "application/x-www-form-urlencoded",
      }, body)
    end
    count = count + 1
  end
  posts, sent, ok, refused, fillers, filler = mine, 0, 0, 0, 0, wrk.format("GET", "/healthz")
  -- wrk asks the first thread's request() once before the run, to check it (script_verify_request):
  -- that first answer is a filler that is never sent.
  primed = id ~= 1
  io.write(string.format("START %d\n", id))
  io.flush()
end

function request()
  if not primed then
    primed = true
    return filler
  end
  if sent >= #posts then
    fillers = fillers + 1
    return filler
  end
  sent = sent + 1
  return posts[sent]
end

function response(status, headers, body)
  local location = headers["Location"] or ""
  if status == ok_status and (ok_location == "" or location:sub(-#ok_location) == ok_location) then
    ok = ok + 1
  elseif not (status == 200 and body:find('"status"')) then  -- /healthz's answer is not a post's
    refused = refused + 1
    if refused <= 3 then io.write(string.format("REFUSED %d %s\n", status, (body:sub(1, 200):gsub("%s+", " ")))) end
  end
  if ok + refused == #posts then
    io.write(string.format("DONE %d\n", id))  -- one write: threads share stdout
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
