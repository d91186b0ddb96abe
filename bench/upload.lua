-- wrk script for the upload path: multipart bodies read from files, one token per request.
-- wrk -t2 -c16 -d4s -s bench/upload.lua URL -- PLAN NTHREADS MARKER PATH BOUNDARY
-- PLAN lines: "B<TAB>body file" (bodies, in order) then "R<TAB>token or -<TAB>body index".
-- Thread t sends the R lines with (line number mod NTHREADS == t), each once, in order.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local bodies, plan, pos, marker, path, boundary
ok = 0
failed = 0
wrapped = 0
first_failure = ""

function init(args)
  local plan_path, nthreads = args[1], tonumber(args[2])
  marker, path, boundary = args[3], args[4], args[5]
  bodies, plan, pos = {}, {}, 0
  local index = 0
  for line in io.lines(plan_path) do
    local kind, a, b = line:match("^(%a)\t([^\t]*)\t?(.*)$")
    if kind == "B" then
      local handle = assert(io.open(a, "rb"))
      table.insert(bodies, handle:read("*a"))
      handle:close()
    elseif kind == "R" then
      if index % nthreads == tid then
        table.insert(plan, { a, tonumber(b) + 1 })
      end
      index = index + 1
    end
  end
end

function request()
  pos = pos + 1
  if pos > #plan then
    wrapped = wrapped + 1
  end
  local item = plan[((pos - 1) % #plan) + 1]
  local headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary }
  if item[1] ~= "-" then
    headers["Authorization"] = "Bearer " .. item[1]
  end
  return wrk.format("POST", path, headers, bodies[item[2]])
end

function response(status, headers, body)
  if status == 200 and body:find(marker, 1, true) then
    ok = ok + 1
  else
    failed = failed + 1
    if first_failure == "" then
      first_failure = tostring(status) .. " " .. body:sub(1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total_ok, total_failed, total_wrapped, failure = 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_failed = total_failed + thread:get("failed")
    total_wrapped = total_wrapped + thread:get("wrapped")
    if failure == "" then failure = thread:get("first_failure") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"ok":%d,"failed":%d,"wrapped":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"status_errors":%d}\n',
    summary.requests, summary.duration, total_ok, total_failed, total_wrapped,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
  if failure ~= "" then
    io.write("BENCH_FAIL " .. failure:gsub("\n", " ") .. "\n")
  end
end
