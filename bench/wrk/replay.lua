-- wrk script: replay a file of form posts, each once, spread over wrk's threads (bench/vote.py).
-- Usage: wrk -t T -c T -d LIMIT -s bench/wrk/replay.lua URL -- FILE T OK_STATUS OK_LOCATION
-- FILE: one request a line, "path<TAB>cookie<TAB>urlencoded body". A post counts as done when it is
-- answered with OK_STATUS redirecting to a path ending in OK_LOCATION (a saved sheet: 302 to /judge/);
-- anything else is counted as refused. Threads, fillers and the lines printed: threads.lua.

dofile("bench/wrk/threads.lua")

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
  posts, sent = mine, 0
  begin_thread()
end

function request()
  if checking() or sent >= #posts then
    return next_filler()
  end
  sent = sent + 1
  return posts[sent]
end

function response(status, headers, body)
  local location = headers["Location"] or ""
  if status == ok_status and (ok_location == "" or location:sub(-#ok_location) == ok_location) then
    ok = ok + 1
  elseif not (status == 200 and body:find('"status"')) then  -- /healthz's answer is not a post's
    count_refused(status, body)
  end
  check_done(#posts)
end
