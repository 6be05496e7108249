-- wrk script: every request from another client address (198.18.0.0/15,
-- the range set aside for benchmarks), as a trusted proxy would forward
-- it, so per-address rate limits measure nothing but themselves.
-- Optional: BENCH_TOKEN in the environment adds a Bearer header.
local threads = 0
function setup(thread)
	thread:set("id", threads)
	threads = threads + 1
end
function init(args)
	n = id * 40000
	token = os.getenv("BENCH_TOKEN")
end
function request()
	n = n + 1
	local headers = { ["X-Forwarded-For"] = string.format("198.%d.%d.%d",
		18 + math.floor(n / 65536) % 2, math.floor(n / 256) % 256, n % 256) }
	if token then
		headers["Authorization"] = "Bearer " .. token
	end
	return wrk.format(nil, nil, headers, nil)
end
