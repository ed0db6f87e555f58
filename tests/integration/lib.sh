#!/usr/bin/env bash
# What every namespace test shares: a network namespace of its own, busbard on
# a tap port and busbar-control inside it, checks that count failures, and a
# cleanup that stops by PID what it started. Sourced by the run_*.sh scripts,
# whose arguments are the build and source directories; they call ns_setup, then
# start_busbard / start_control, and end with ns_finish.
# BUSBARD_WORKERS (default 1) and BUSBARD_EXTRA_JSON (more keys for busbard.json,
# each followed by a comma) change the appliance's configuration. BUSBARD_KERNEL_IPV4
# (e.g. 10.77.0.1/24) has busbard give the tap's kernel side its address (port.kernel_ipv4)
# instead of start_busbard's own `ip addr`. BUSBARD_AUTH_JSON is busbard's "auth" key with its
# comma: tests not about authentication run busbard in the explicit unauthenticated mode;
# run_auth.sh sets it empty (signed requests required) and uses create_key.
# BUSBARD_VDEV (default net_tap0,iface=bb0) is busbard's port and BUSBARD_IFACE (default bb0)
# the kernel interface that reaches it, which the test creates when it is not the tap's.

# The machine must be able to host a namespace with a tap: else the test is skipped.
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
# How long busbard and busbar-control may live (--run-seconds): a bound, so nothing a test
# starts outlives it; a test whose steps take longer on a loaded machine sets BB_RUN_SECONDS
# below meson's 600 s timeout.
run_seconds=${BB_RUN_SECONDS:-300}
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

# launch_busbard: writes busbard.json and starts busbard in the background ($busbard_pid)
# without waiting for it (the crash tests kill it at any point, recovery included).
launch_busbard() {
	local kernel_json="" unauthenticated='"auth": {"mode": "none"},'
	local auth_json=${BUSBARD_AUTH_JSON-$unauthenticated}
	[ -n "${BUSBARD_KERNEL_IPV4:-}" ] && kernel_json=", \"kernel_ipv4\": \"$BUSBARD_KERNEL_IPV4\""
	cat >"$work/busbard.json" <<JSON
{"port": {"vdev": "${BUSBARD_VDEV:-net_tap0,iface=bb0}", "ipv4": "$server", "mtu": 1500$kernel_json},
 "udp_port": 7600, "workers": ${BUSBARD_WORKERS:-1}, "hugepages": "auto", "memory_mb": 768,
 "frame_mbufs": 4095, "store_mbufs_per_worker": 16383, ${BUSBARD_EXTRA_JSON:-}
 $auth_json
 "eal_args": ["--log-level", "lib.eal:error"]}
JSON
	# Not through in_ns: a backgrounded function is a subshell, and $! must be busbard.
	ip netns exec "$ns" "$build/dataplane/busbard" --config "$work/busbard.json" --unix-socket "$socket" \
		--state-dir "$work/state" --run-seconds "$run_seconds" >>"$work/busbard.log" 2>&1 &
	busbard_pid=$!
}

# Waits until this busbard says it is serving: its socket exists before it has replayed its
# logs, and its start lines (workers, auth mode) come after that.
start_busbard() {
	local served
	served=$(grep -c '^busbard: serving' "$work/busbard.log" 2>/dev/null)
	launch_busbard
	# Up to 60 s: a loaded 2-core machine can take 10 s to bring the EAL up, more to recover.
	for _ in $(seq 600); do
		in_ns ip link show "${BUSBARD_IFACE:-bb0}" >/dev/null 2>&1 && [ -S "$socket" ] &&
			[ "$(grep -c '^busbard: serving' "$work/busbard.log")" -gt "${served:-0}" ] && break
		sleep 0.1
	done
	[ -n "${BUSBARD_KERNEL_IPV4:-}" ] && return 0
	in_ns ip addr replace 10.77.0.1/24 dev "${BUSBARD_IFACE:-bb0}"
	in_ns ip link set "${BUSBARD_IFACE:-bb0}" up
}

# start_control [DB [ARGS...]]: busbar-control on DB (default $work/control.db), with ARGS.
# The AWS API runs with --insecure-no-auth unless CONTROL_AUTH_ARGS says otherwise (run_aws.sh
# sets it empty: signatures checked).
start_control() {
	local db=${1:-$work/control.db}
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086 # CONTROL_AUTH_ARGS is a list of words
	ip netns exec "$ns" "$build/control/busbar-control" --db "$db" --busbard-socket "$socket" \
		--run-seconds "$run_seconds" ${CONTROL_AUTH_ARGS---insecure-no-auth} "$@" >>"$work/control.log" 2>&1 &
	control_pid=$!
	for _ in $(seq 200); do
		in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/7680' 2>/dev/null && break
		sleep 0.1
	done
}

# create_key FILE [POLICY]: a key in $work/control.db (busbar-control keys create), its JSON
# in FILE (0600), as busbar --key-file reads it. Default policy: every SQS action on every queue.
create_key() {
	local policy=${2:-'{"Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}'}
	(umask 077; "$build/control/busbar-control" keys --db "$work/control.db" create \
		--policy "$policy" >"$1") || fail "create_key $1"
}

# Waits until busbard has applied at least snapshot version $1.
wait_snapshot() {
	for _ in $(seq 150); do
		local v
		v=$(busbar --local "$socket" stats 2>/dev/null | json_field '["snapshot_version"]')
		[ "${v:-0}" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "busbard never applied snapshot $1"
}


# Creates the namespace and the state directory. Call once, before start_busbard.
ns_setup() {
	ip netns add "$ns" || exit 1
	in_ns ip link set lo up
	mkdir -p "$work/state"
}

# Prints the logs when a check failed and exits with the verdict; $1 names the test.
ns_finish() {
	if [ "$failures" -ne 0 ]; then
		echo "--- busbard log"; cat "$work/busbard.log" 2>/dev/null
		echo "--- control log"; cat "$work/control.log" 2>/dev/null
		echo "$failures check(s) failed"
		exit 1
	fi
	echo "$1: all checks passed"
}
