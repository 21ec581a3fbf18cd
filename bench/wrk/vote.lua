-- wrk script: public votes as the vote page's script casts them (bench/vote.py).
-- Usage: wrk -t T -c T -d LIMIT -s bench/wrk/vote.lua URL -- TOKENS T VOTES SLUG CODES CSRF SESSION
-- Each vote posts the form asking for JSON; its answer carries the next challenge, which the next vote
-- of the thread uses (TOKENS holds the first ones, fetched from /vote/SLUG/challenge). The challenges are
-- issued at difficulty 0, so the nonce "0" solves them: the proof of work is the voter's CPU, not the
-- server's, which checks a proof the same way at any difficulty. A thread's n-th vote is device
-- <thread id, n div #codes> voting for code n mod #codes: one vote per device and work, as the rubric
-- allows. Threads, fillers and the lines printed: threads.lua.

dofile("bench/wrk/threads.lua")

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
  sent = 0
  begin_thread()
end

function request()
  local token = tokens[#tokens]
  if checking() or sent >= quota or token == nil then
    return next_filler()
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
    count_refused(status, body)
  end
  check_done(quota)
end
