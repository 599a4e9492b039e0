-- wrk script: counts answers whose status or body is not the expected one.
-- EXPECT_STATUS and EXPECT_PREFIX come from the environment; X_API_KEY and COOKIE are sent
-- when set.
local expect_status = tonumber(os.getenv("EXPECT_STATUS") or "200")
local expect_prefix = os.getenv("EXPECT_PREFIX") or ""
local api_key = os.getenv("X_API_KEY")
local cookie = os.getenv("COOKIE")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  if api_key and api_key ~= "" then
    wrk.headers["X-API-Key"] = api_key
  end
  if cookie and cookie ~= "" then
    wrk.headers["Cookie"] = cookie
  end
end

function response(status, headers, body)
  if status ~= expect_status or string.sub(body, 1, #expect_prefix) ~= expect_prefix then
    bad = bad + 1
    if bad == 1 then io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n") end
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad")
  end
  io.write(string.format("BAD_ANSWERS %d\n", total))
end
