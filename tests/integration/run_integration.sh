#!/usr/bin/env bash
# End-to-end test of busbar on the real stack. Creates its own network
# namespace, starts busbard (DPDK net_tap port) and busbar-control inside it,
# drives every operation with the busbar command and with libbusbar over real
# UDP, restarts each process to show busbard serves without the control plane
# and from its stored snapshot, and stops everything it started by PID.
# Exit 77 (skipped) when the machine cannot host it: not root, no /dev/net/tun.
set -uo pipefail

build=${1:?build directory}
source_dir=${2:?source directory}
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root for a network namespace"; exit 77; }
[ -c /dev/net/tun ] || { echo "skip: no /dev/net/tun"; exit 77; }

ns="bbit$$"
work=$(mktemp -d /tmp/busbar-it.XXXXXX)
socket="$work/busbard.sock"
server=10.77.0.2
busbard_pid=""
control_pid=""
failures=0

cleanup() {
	for pid in $busbard_pid $control_pid; do kill "$pid" 2>/dev/null; done
	sleep 0.5
	for pid in $busbard_pid $control_pid; do kill -9 "$pid" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

in_ns() { ip netns exec "$ns" "$@"; }
busbar() { in_ns "$build/client/busbar" --timeout-ms 2000 "$@"; }

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expect CODE PATTERN -- COMMAND...: exit code and a pattern in stdout+stderr.
expect() {
	local code=$1 pattern=$2
	shift 3
	local out
	out=$("$@" 2>&1)
	local rc=$?
	if [ "$rc" -ne "$code" ]; then
		fail "exit $rc (wanted $code): $* -> $out"
	elif ! grep -q -- "$pattern" <<<"$out"; then
		fail "no \"$pattern\" in output of: $* -> $out"
	else
		echo "ok: $*"
	fi
	last_output=$out
}

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

start_busbard() {
	cat >"$work/busbard.json" <<JSON
{"port": {"vdev": "net_tap0,iface=bb0", "ipv4": "$server", "mtu": 1500},
 "udp_port": 7600, "workers": 1, "hugepages": "auto", "memory_mb": 768,
 "frame_mbufs": 4095, "store_mbufs_per_worker": 16383,
 "eal_args": ["--log-level", "lib.eal:error"]}
JSON
	# Not through in_ns: a backgrounded function is a subshell, and $! must be busbard.
	ip netns exec "$ns" "$build/dataplane/busbard" --config "$work/busbard.json" --unix-socket "$socket" \
		--state-dir "$work/state" --run-seconds 300 >>"$work/busbard.log" 2>&1 &
	busbard_pid=$!
	for _ in $(seq 100); do
		in_ns ip link show bb0 >/dev/null 2>&1 && [ -S "$socket" ] && break
		sleep 0.1
	done
	in_ns ip addr replace 10.77.0.1/24 dev bb0
	in_ns ip link set bb0 up
}

start_control() {
	ip netns exec "$ns" "$build/control/busbar-control" --db "$work/control.db" --busbard-socket "$socket" \
		--run-seconds 300 >>"$work/control.log" 2>&1 &
	control_pid=$!
	for _ in $(seq 50); do
		in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/7680' 2>/dev/null && break
		sleep 0.1
	done
}

# Waits until busbard has applied at least snapshot version $1.
wait_snapshot() {
	for _ in $(seq 50); do
		local v
		v=$(busbar --local "$socket" stats 2>/dev/null | json_field '["snapshot_version"]')
		[ "${v:-0}" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "busbard never applied snapshot $1"
}

ip netns add "$ns" || exit 1
in_ns ip link set lo up
mkdir -p "$work/state"
start_busbard
start_control

# Queue administration over the control API (SQS JSON 1.0).
expect 0 '"QueueUrl":"http://127.0.0.1:7680/000000000000/orders"' -- busbar create-queue orders
expect 0 'orders' -- busbar create-queue orders
expect 1 'QueueNameExists' -- busbar create-queue orders --visibility-timeout 5
expect 1 'not supported' -- busbar create-queue orders.fifo
expect 1 'InvalidParameterValue' -- busbar create-queue 'bad name!'
expect 0 '"VisibilityTimeout":"30"' -- busbar get-queue-attributes orders
expect 0 'orders' -- busbar get-queue-url orders
expect 1 'QueueDoesNotExist' -- busbar get-queue-url nothing
expect 0 'lib' -- busbar create-queue lib --visibility-timeout 10
expect 0 '"QueueUrls":\["http://127.0.0.1:7680/000000000000/lib","http://127.0.0.1:7680/000000000000/orders"\]' -- busbar list-queues
expect 0 '"QueueUrls":\["http://127.0.0.1:7680/000000000000/orders"\]' -- busbar list-queues --prefix or
wait_snapshot 3

# Data operations over UDP through the tap.
expect 0 '"MD5OfMessageBody":"5d41402abc4b2a76b9719d911017c592"' -- busbar send orders hello
message_id=$(json_field '["MessageId"]' <<<"$last_output")
expect 0 "\"MessageId\":\"$message_id\"" -- busbar receive orders --max 10 --visibility-timeout 30
handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
expect 0 '"Messages":\[\]' -- busbar receive orders
expect 0 '' -- busbar change-visibility orders "$handle" 0
expect 0 '"ApproximateReceiveCount":2' -- busbar receive orders --visibility-timeout 30
new_handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
expect 0 '' -- busbar delete orders "$handle"
expect 1 'MessageNotInflight' -- busbar change-visibility orders "$handle" 5
expect 0 '' -- busbar delete orders "$new_handle"
expect 0 '"Messages":\[\]' -- busbar receive orders --wait 1
expect 1 'ReceiptHandleIsInvalid' -- busbar delete orders not-a-handle
expect 1 'NonExistentQueue' -- busbar send nothing hello
expect 0 'MessageId' -- busbar send orders "twelve hours"
expect 0 'twelve hours' -- busbar receive orders
twelve_handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
expect 1 'InvalidParameterValue' -- busbar change-visibility orders "$twelve_handle" 43200
expect 0 '' -- busbar delete orders "$twelve_handle"
expect 2 'usage' -- busbar receive
expect 2 'bad' -- busbar receive orders --max 11
expect 3 'no reply' -- busbar --server 10.77.0.3 --timeout-ms 200 --retries 1 ping
expect 0 'ok' -- busbar ping
expect 0 '2 received' -- in_ns ping -c 2 -W 1 "$server"

# The local socket takes what UDP cannot: a 512 KiB message.
head -c 524288 /dev/zero | tr '\0' 'L' >"$work/big"
expect 0 'MessageId' -- bash -c "ip netns exec $ns $build/client/busbar --local $socket send orders - <$work/big"
expect 0 'LLLL' -- busbar --local "$socket" receive orders
big_handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
expect 0 '' -- busbar --local "$socket" change-visibility orders "$big_handle" 0
expect 1 'does not fit a UDP reply' -- busbar receive orders
expect 0 'LLLL' -- busbar --local "$socket" receive orders
expect 0 '' -- busbar --local "$socket" delete orders "$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")"

# The library over real UDP.
if in_ns env BUSBAR_SERVER="$server" BUSBAR_QUEUE=lib "$build/tests/test_library" --jobs 1; then
	echo "ok: libbusbar suite"
else
	fail "libbusbar suite"
fi

# busbard serves while busbar-control is down...
kill "$control_pid"; wait "$control_pid" 2>/dev/null; control_pid=""
expect 0 'MessageId' -- busbar send orders "while control is down"
# ...and restarts from its stored snapshot with the control plane still down.
kill -TERM "$busbard_pid"
wait "$busbard_pid"
rc=$?
[ "$rc" -eq 0 ] && echo "ok: busbard stopped cleanly on SIGTERM" || fail "busbard exit $rc on SIGTERM"
grep -q 'busbard: stopping' "$work/busbard.log" || fail "no clean-stop message"
busbard_pid=""
start_busbard
expect 0 'MessageId' -- busbar send orders "after restart"
grep -q 'started from stored snapshot 3' "$work/busbard.log" || fail "did not start from snapshot 3"

# Deleting a queue reaches busbard once the control plane is back.
start_control
expect 0 '{}' -- busbar delete-queue orders
wait_snapshot 4
expect 1 'NonExistentQueue' -- busbar send orders "gone"
expect 1 'QueueDoesNotExist' -- busbar delete-queue orders

echo "--- busbard stats"
busbar --local "$socket" stats
if [ "$failures" -ne 0 ]; then
	echo "--- busbard log"; cat "$work/busbard.log"
	echo "--- control log"; cat "$work/control.log"
	echo "$failures check(s) failed"
	exit 1
fi
echo "integration: all checks passed"
