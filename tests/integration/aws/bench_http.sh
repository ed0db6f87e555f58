#!/usr/bin/env bash
# A benchmark, not a test (issue 15): signed, durable SendMessage over HTTP with keep-alive
# and many connections (wrk), beside the same busbar-control answering GET /health (its
# cheapest 200: no signature, no busbard) in the same run, on busbard and busbar-control in a
# network namespace of their own (tests/integration/lib.sh). Prints both rates and their
# ratio. Run it alone: flock /tmp/bench.lock bash tests/integration/aws/bench_http.sh BUILD SRC
# Takes the build and source directories; SECONDS_EACH (default 10) and CONNECTIONS (64).
set -uo pipefail

command -v wrk >/dev/null || { echo "skip: no wrk (scripts/setup.sh installs it)"; exit 77; }
/usr/bin/python3 -c 'import botocore' 2>/dev/null || { echo "skip: no python3-botocore"; exit 77; }
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

seconds=${SECONDS_EACH:-10}
connections=${CONNECTIONS:-64}
CONTROL_AUTH_ARGS=""
ns_setup
start_busbard
start_control
policy='{"Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}'
read -r key secret <<<"$("$build/control/busbar-control" keys --db "$work/control.db" create \
	--policy "$policy" | python3 -c 'import json,sys
k = json.load(sys.stdin)["Key"]; print(k["AccessKeyId"], k["SecretAccessKey"])')"
in_ns curl -s -m 10 -o /dev/null http://127.0.0.1:7680/health

# One SendMessage signed now (valid for the 5-minute window: the runs take less), as wrk's
# Lua script, after creating its queue with the same key.
/usr/bin/python3 - "$key" "$secret" >"$work/send.lua" <<'PY'
import sys
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

credentials = Credentials(sys.argv[1], sys.argv[2])
def signed(body):
    request = AWSRequest(method="POST", url="http://127.0.0.1:7680/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(credentials, "sqs", "local").add_auth(request)
    return request
create = signed("Action=CreateQueue&Version=2012-11-05&QueueName=bench")
send = signed("Action=SendMessage&Version=2012-11-05&QueueUrl="
              "http%3A%2F%2F127.0.0.1%3A7680%2F000000000000%2Fbench&MessageBody=" + "x" * 256)
for name, request in (("create", create), ("send", send)):
    print(f"-- {name}")
    print('wrk.method = "POST"')
    print(f'wrk.body = "{request.body.decode() if isinstance(request.body, bytes) else request.body}"')
    for header in ("Content-Type", "X-Amz-Date", "Authorization"):
        print(f'wrk.headers["{header}"] = "{request.headers[header]}"')
PY
sed -n '/^-- create/,/^-- send/p' "$work/send.lua" | grep -v '^--' >"$work/create.lua"
sed -n '/^-- send/,$p' "$work/send.lua" | grep -v '^--' >"$work/send-only.lua"
in_ns wrk -t1 -c1 -d1s -s "$work/create.lua" http://127.0.0.1:7680/ >/dev/null

rate() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
# Non-2xx answers make the run worthless: wrk counts them.
errors() { awk '/Non-2xx/ {print $4}' <<<"$1"; }
health=$(in_ns wrk -t2 -c "$connections" -d "${seconds}s" http://127.0.0.1:7680/health)
send=$(in_ns wrk -t2 -c "$connections" -d "${seconds}s" -s "$work/send-only.lua" \
	http://127.0.0.1:7680/)
echo "GET /health (ceiling):   $(rate "$health") req/s, non-2xx: $(errors "$health")"
echo "signed SendMessage:      $(rate "$send") req/s, non-2xx: $(errors "$send")"
python3 -c "print('SendMessage / ceiling: %.2f' % ($(rate "$send") / $(rate "$health")))"
echo "--- /metrics: SendMessage's errors"
in_ns curl -s -m 10 http://127.0.0.1:7680/metrics | grep 'errors_total{action="SendMessage"'
echo "--- wrk, /health"; echo "$health"; echo "--- wrk, SendMessage"; echo "$send"
ns_finish bench_http
