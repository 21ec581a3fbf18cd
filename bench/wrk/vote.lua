-- wrk script: public votes as the vote page's script casts them (bench/vote.py).
-- Usage: wrk -t T -c C -d LIMIT -s bench/wrk/vote.lua URL -- TOKENS T VOTES SLUG CODES CSRF SESSION
-- Each vote posts the form asking for JSON; its answer carries the next challenge, which the next vote
-- of the thread uses (TOKENS holds the first ones, fetched from /vote/SLUG/challenge). The challenges are
-- issued at difficulty 0, so the nonce "0" solves them: the proof of work is the voter's CPU, not the
-- server's, which checks a proof the same way at any difficulty. A thread's n-th vote is device
-- <thread id, n div #codes> voting for code n mod #codes: one vote per device and work, as the rubric
-- allows. Prints "DONE <id>" when a thread's votes are all answered (see replay.lua).

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
  local count, every = 0, tonumber(args[2])
  tokens = {}
  for line in io.lines(args[1]) do
    if count % every == id - 1 then tokens[#tokens + 1] = line end
    count = count + 1
  end
  local total = tonumber(args[3])
  quota = math.floor(total / every) + ((id <= total % every) and 1 or 0)
  slug, csrf, session = args[4], args[6], args[7]
  codes = {}
  for code in args[5]:gmatch("[^,]+") do codes[#codes + 1] = code end
  sent, ok, refused, fillers, filler = 0, 0, 0, 0, wrk.format("GET", "/healthz")
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
  local token = tokens[#tokens]
  if sent >= quota or token == nil then
    fillers = fillers + 1
    return filler
  end
  tokens[#tokens] = nil
  local device = string.format("%09d%039d", id, math.floor(sent / #codes))
  local code = codes[(sent % #codes) + 1]
  sent = sent + 1
  return wrk.format("POST", "/vote/" .. slug .. "/" .. code, {
    ["Cookie"] = "session=" .. session .. "; vote_device=" .. device,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }, "csrf_token=" .. csrf .. "&token=" .. token .. "&nonce=0&screen=1x1&time_zone=Asia%2FShanghai")
end

function response(status, headers, body)
  local token = body:match('"token":%s*"([^"]+)"')
  if token then tokens[#tokens + 1] = token end
  if body:find('"ok":%s*true') then
    ok = ok + 1
  elseif body:find('"ok":%s*false') or status ~= 200 then
    refused = refused + 1
    if refused <= 3 then io.write(string.format("REFUSED %d %s\n", status, (body:sub(1, 200):gsub("%s+", " ")))) end
  end
  if ok + refused == quota then
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
