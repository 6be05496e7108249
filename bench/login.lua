-- wrk script: POST /api/v1/auth/login, rotating BENCH_ACCOUNTS accounts
-- (bench-N@bench.test, all with BENCH_PASSWORD) and client addresses.
local threads = 0
function setup(thread)
	thread:set("id", threads)
	threads = threads + 1
end
function init(args)
	n = id * 40000
	accounts = tonumber(os.getenv("BENCH_ACCOUNTS"))
	password = os.getenv("BENCH_PASSWORD")
end
function request()
	n = n + 1
	local body = string.format('{"email":"bench-%d@bench.test","password":"%s"}',
		n % accounts, password)
	local headers = {
		["Content-Type"] = "application/json",
		["X-Forwarded-For"] = string.format("198.%d.%d.%d",
			18 + math.floor(n / 65536) % 2, math.floor(n / 256) % 256, n % 256),
	}
	return wrk.format("POST", "/api/v1/auth/login", headers, body)
end
function response(status, headers, body)
	if status ~= 200 then
		failed = (failed or 0) + 1
	end
end
