#!/usr/bin/env bash
# busbar-control under abuse and trouble, on the real stack in a network namespace
# of its own (issue 10): the listen address is loopback unless asked otherwise, and
# only POST / and GET /health are served (defect 14, the localhost report); more
# slow connections than select() could hold keep nobody else out and idle ones are
# closed (defect 4); a stopped busbard stalls neither the API nor /health, which
# says so, and the snapshot arrives once it runs again (defect 5); a fresh or
# restored database is refused with a reason until --adopt (defect 6). Every
# process it starts has a bounded run and is stopped by PID; every wait is bounded.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

control="$build/control/busbar-control"
idle_timeout_s=3 # --http-timeout-seconds, short so the test need not wait long
bound_s=5        # what a prompt answer takes at most: a hang detector, not a speed test

# lib.sh's start_control on database $1 with the short idle timeout and more arguments.
start_control_on() { start_control "$1" --http-timeout-seconds "$idle_timeout_s" "${@:2}"; }

stop_control() {
	kill "$control_pid"
	wait "$control_pid" 2>/dev/null
	control_pid=""
}

# api TARGET JSON: one SQS JSON 1.0 call, bounded by bound_s; prints the body and then
# the HTTP status on a line of its own.
api() {
	timeout "$bound_s" ip netns exec "$ns" curl -s -m 30 -X POST \
		-H "X-Amz-Target: AmazonSQS.$1" -H 'Content-Type: application/x-amz-json-1.0' \
		-d "$2" -w '\n%{http_code}\n' http://127.0.0.1:7680/
}

health() {
	timeout "$bound_s" ip netns exec "$ns" curl -s -m 30 -w '\n%{http_code}\n' \
		http://127.0.0.1:7680/health
}

# Waits (bounded) until /health answers with status $1 and matches $2.
wait_health() {
	local out
	for _ in $(seq 60); do
		out=$(health)
		if grep -q "^$1\$" <<<"$out" && grep -q -- "$2" <<<"$out"; then
			echo "ok: /health $1 $2"
			return 0
		fi
		sleep 0.25
	done
	fail "/health never answered $1 with \"$2\": $out"
}

# Waits (bounded) until file $2 holds pattern $1.
wait_log() {
	for _ in $(seq 100); do
		grep -q -- "$1" "$2" && { echo "ok: log has \"$1\""; return 0; }
		sleep 0.1
	done
	fail "no \"$1\" in $2"
}

ns_setup

# --- The listen address (defect 14; `--listen localhost:7681` printed only the usage).
expect 2 'not a loopback address' -- in_ns "$control" --listen 0.0.0.0:7689 \
	--db "$work/listen.db" --run-seconds 1
expect 0 'WARNING: --insecure-listen-any' -- in_ns "$control" --listen 0.0.0.0:7689 \
	--insecure-listen-any --db "$work/listen.db" --run-seconds 1
expect 0 'SQS API on http://localhost:7681' -- in_ns "$control" --listen localhost:7681 \
	--db "$work/listen.db" --run-seconds 1
expect 2 'the port must be 1-65535' -- in_ns "$control" --listen 127.0.0.1:http \
	--db "$work/listen.db" --run-seconds 1

start_busbard
start_control_on "$work/control.db"
wait_health 200 '"status":"ok"'
# A change is answered once busbard has it (unless busbard fails to take it), so the
# queue is there at once, without waiting for the snapshot.
expect 0 '^200$' -- api CreateQueue '{"QueueName":"kept"}'
expect 0 'MessageId' -- busbar --local "$socket" send kept "at once"

# --- Only POST / is the API (defect 14: any POST path was served, /health included).
expect 0 '^404$' -- timeout "$bound_s" ip netns exec "$ns" curl -s -m 30 -X POST \
	-H 'X-Amz-Target: AmazonSQS.CreateQueue' -d '{"QueueName":"via-health"}' \
	-w '\n%{http_code}\n' http://127.0.0.1:7680/health
expect 0 '^404$' -- timeout "$bound_s" ip netns exec "$ns" curl -s -m 30 -X POST \
	-H 'X-Amz-Target: AmazonSQS.CreateQueue' -d '{"QueueName":"via-path"}' \
	-w '\n%{http_code}\n' http://127.0.0.1:7680/000000000000/x
expect 0 'QueueDoesNotExist' -- api GetQueueUrl '{"QueueName":"via-health"}'

# --- Slowloris (defect 4): 1,100 connections from 127.0.0.2, more than select()'s
# FD_SETSIZE of 1,024, each sending headers slowly. A request from 127.0.0.1 is still
# answered, 127.0.0.2 keeps at most its share (64), and idle ones are closed after the
# timeout. Every socket operation is bounded by bound_s, the whole by 60 s.
cat >"$work/slowloris.py" <<'PY'
import http.client, resource, select, socket, sys, time
slow_count, bound_s, idle_wait_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, slow_count + 256), hard))
slow = []
for _ in range(slow_count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(bound_s)
    s.bind(('127.0.0.2', 0))
    try:
        s.connect(('127.0.0.1', 7680))
        s.sendall(b'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n')
        slow.append(s)
    except OSError:
        s.close()
c = http.client.HTTPConnection('127.0.0.1', 7680, timeout=bound_s)
try:
    c.request('POST', '/', body='{"QueueName":"beside-slowloris"}',
              headers={'X-Amz-Target': 'AmazonSQS.CreateQueue',
                       'Content-Type': 'application/x-amz-json-1.0'})
    print('served:', c.getresponse().status, 'beside', len(slow), 'slow connections')
except OSError as e:
    print('not served:', e)
for s in slow:  # one more header line each, as slowloris sends
    try:
        s.sendall(b'X-Slow: 1\r\n')
    except OSError:
        pass
def closed(s):
    try:
        return s.recv(64) == b''
    except (BlockingIOError, socket.timeout):
        return False
    except OSError:
        return True
for s in slow:
    s.setblocking(False)
time.sleep(0.5)  # not a timing check: lets the server's closes arrive before counting
open_ = [s for s in slow if not closed(s)]
print('open slow connections:', len(open_))
deadline = time.monotonic() + idle_wait_s
while open_ and time.monotonic() < deadline:
    readable, _, _ = select.select(open_, [], [], 0.5)
    open_ = [s for s in open_ if s not in readable or not closed(s)]
print('idle connections closed:', 'all' if not open_ else f'{len(open_)} still open')
PY
expect 0 'served: 200 beside 1100 slow' -- timeout 60 ip netns exec "$ns" python3 \
	"$work/slowloris.py" 1100 "$bound_s" 30
echo "$last_output"
open_slow=$(grep -o 'open slow connections: [0-9]*' <<<"$last_output" | grep -o '[0-9]*$')
[ "${open_slow:-9999}" -le 64 ] && echo "ok: 127.0.0.2 kept $open_slow connections" ||
	fail "127.0.0.2 kept ${open_slow:-?} connections, more than its 64"
grep -q 'idle connections closed: all' <<<"$last_output" && echo "ok: idle connections closed" ||
	fail "idle connections were not closed: $last_output"
expect 0 '^200$' -- api GetQueueUrl '{"QueueName":"beside-slowloris"}'

# --- A stopped busbard (defect 5): five CreateQueues at once took 2-14 s (each waited for
# the one before to give up on busbard) and /health 13.8 s. Each is bounded by bound_s.
version=$(health | grep -o '"config_version":[0-9]*' | grep -o '[0-9]*$')
wait_snapshot "$version"
kill -STOP "$busbard_pid"
creates=()
for i in 1 2 3 4 5; do
	api CreateQueue "{\"QueueName\":\"while-stopped-$i\"}" >"$work/stopped-$i.out" 2>&1 &
	creates+=($!)
done
for i in 1 2 3 4 5; do
	wait "${creates[$((i - 1))]}"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q '^200$' "$work/stopped-$i.out"; then
		echo "ok: CreateQueue $i answered while busbard is stopped"
	else
		fail "CreateQueue $i, busbard stopped: exit $rc, $(cat "$work/stopped-$i.out")"
	fi
done
wait_health 503 'busbard'
expect 0 '"status":"\(unreachable\|unresponsive\)"' -- health
kill -CONT "$busbard_pid"
wait_snapshot $((version + 5))
wait_health 200 '"status":"ok"'
expect 0 'MessageId' -- busbar --local "$socket" send while-stopped-5 hello

# --- A fresh database (defect 6): refused forever, control said "Protocol error" and
# /health ok. Now the refusal says why and how out; busbard keeps its queues.
stop_control
start_control_on "$work/fresh.db"
wait_log 'busbard refuses snapshot 1: busbard runs store' "$work/control.log"
wait_log 'restart busbar-control with --adopt' "$work/control.log"
wait_health 503 '"status":"refused"'
grep -q 'snapshot refused' "$work/busbard.log" && echo "ok: busbard logged the refusal" ||
	fail "busbard did not log the refusal"
expect 0 'MessageId' -- busbar --local "$socket" send kept "still here"
stop_control
start_control_on "$work/fresh.db" --adopt
wait_log 'adopted: busbard runs this store now' "$work/control.log"
wait_health 200 '"status":"ok"'
expect 1 'NonExistentQueue' -- busbar --local "$socket" send kept "gone with the old store"

# --- A restored backup of the same store: older than busbard's version; --adopt goes
# on numbering after it.
stop_control
rm -f "$work/fresh.db-wal" "$work/fresh.db-shm"
cp "$work/fresh.db" "$work/backup.db"
start_control_on "$work/fresh.db"
expect 0 '^200$' -- api CreateQueue '{"QueueName":"after-backup-1"}'
expect 0 '^200$' -- api CreateQueue '{"QueueName":"after-backup-2"}'
wait_health 200 '"busbard_version":3'
stop_control
rm -f "$work/fresh.db-wal" "$work/fresh.db-shm"
cp "$work/backup.db" "$work/fresh.db"
start_control_on "$work/fresh.db"
wait_log 'older than the applied 3 of the same store' "$work/control.log"
wait_health 503 '"status":"refused"'
stop_control
start_control_on "$work/fresh.db" --adopt
wait_log "numbering after busbard's version 3" "$work/control.log"
wait_health 200 '"busbard_version":4'
expect 1 'NonExistentQueue' -- busbar --local "$socket" send after-backup-1 "not in the backup"

echo "--- busbar-control's own messages"
grep '^busbar-control' "$work/control.log"
ns_finish control
