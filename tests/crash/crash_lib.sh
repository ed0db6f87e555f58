#!/usr/bin/env bash
# What the crash tests (run_crash.sh, run_crash_power.sh, run_full_disk.sh) share, on top
# of lib.sh: a seed printed first (BB_CRASH_SEED reproduces a run), busbard killed with
# SIGKILL and restarted, two crash_clients (tests/crash/crash_client.c), one over UDP and
# one over the local socket, each on queues of its own, and their drain and verdict.
# Sourced after tests/integration/lib.sh.

seed=${BB_CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "crash seed $seed (BB_CRASH_SEED=$seed reproduces this run's schedule)"
RANDOM=$seed
crash_client="$build/tests/crash_client"
udp_queues="crash-u0,crash-u1"
local_queues="crash-l0,crash-l1"
udp_client_pid=""
local_client_pid=""
# With crash_expect_loss=1 (a deliberately wrong busbard) losses set crash_caught_loss.
crash_caught_loss=0
crash_kills=0

crash_fail() { fail "$* (seed $seed)"; }

# Waits (at most 30 s) until a restarted busbard answers a ping over its UDP port.
wait_busbard_ready() {
	for _ in $(seq 300); do
		if ! kill -0 "$busbard_pid" 2>/dev/null; then
			crash_fail "busbard exited while starting: $(tail -3 "$work/busbard.log")"
			return 1
		fi
		if in_ns ip link show bb0 >/dev/null 2>&1; then
			in_ns ip addr replace 10.77.0.1/24 dev bb0 2>/dev/null
			in_ns ip link set bb0 up 2>/dev/null
			in_ns "$build/client/busbar" --timeout-ms 300 ping >/dev/null 2>&1 && return 0
		fi
		sleep 0.1
	done
	crash_fail "busbard did not come back within 30 s"
	return 1
}

# SIGKILL busbard and reap it; $1 (optional) runs after it died, before any restart.
kill_busbard() {
	kill -9 "$busbard_pid" 2>/dev/null
	wait "$busbard_pid" 2>/dev/null
	busbard_pid=""
	crash_kills=$((crash_kills + 1))
	# Into the clients' logs (O_APPEND, whole lines), so a history shows where kills fell.
	local log
	for log in "$work/udp.log" "$work/local.log" "$work/disk.log"; do
		[ -e "$log" ] && echo "K $crash_kills" >>"$log"
	done
	if [ -n "${1:-}" ]; then "$1"; fi
}

# A random pause of $1 to $2 milliseconds (from the seeded RANDOM).
random_pause() {
	local ms=$(($1 + RANDOM % ($2 - $1 + 1)))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

# crash_cycles COUNT [AFTER_KILL]: COUNT times, traffic for a random while, SIGKILL,
# restart; one restart in four is itself killed during its recovery. AFTER_KILL (a
# function) runs each time busbard is dead (the power-loss cut).
crash_cycles() {
	local count=$1 after=${2:-} kills=0
	for cycle in $(seq "$count"); do
		random_pause 200 1500
		kill_busbard "$after"
		kills=$((kills + 1))
		launch_busbard
		if [ $((RANDOM % 4)) -eq 0 ]; then
			random_pause 0 600
			kill_busbard "$after"
			kills=$((kills + 1))
			launch_busbard
		fi
		wait_busbard_ready || return 1
		# The clients must outlive every cycle: one that exited stopped proving anything.
		local pid
		for pid in "$udp_client_pid" "$local_client_pid"; do
			kill -0 "$pid" 2>/dev/null && continue
			crash_fail "a client (pid $pid) ended at cycle $cycle"
			return 1
		done
	done
	echo "ok: busbard killed $kills times"
}

# The first start must work, or the run proves nothing: the verdict comes at once.
first_start_or_finish() {
	launch_busbard
	wait_busbard_ready && return 0
	ns_finish "$1"
}

# Creates the clients' queues through busbar-control.
create_crash_queues() {
	local q
	for q in ${udp_queues//,/ } ${local_queues//,/ }; do
		expect 0 "$q" -- busbar create-queue "$q"
	done
}

# Starts both clients in the background; their logs are $work/udp.log and $work/local.log.
start_crash_clients() {
	# Not through in_ns: a backgrounded function is a subshell, and $! must be the client.
	ip netns exec "$ns" "$crash_client" send --server "$server" --queues "$udp_queues" \
		--seed "$seed" --log "$work/udp.log" --count 60000 --run-seconds 240 \
		>"$work/udp.out" 2>&1 &
	udp_client_pid=$!
	ip netns exec "$ns" "$crash_client" send --local "$socket" --queues "$local_queues" \
		--seed "$seed" --log "$work/local.log" --count 60000 --run-seconds 240 \
		>"$work/local.out" 2>&1 &
	local_client_pid=$!
}

# Stops the clients between two operations (SIGTERM) and waits for them (bounded by
# their --run-seconds).
stop_crash_clients() {
	kill -TERM "$udp_client_pid" "$local_client_pid" 2>/dev/null
	wait "$udp_client_pid" || crash_fail "UDP client: $(cat "$work/udp.out")"
	wait "$local_client_pid" || crash_fail "local client: $(cat "$work/local.out")"
	cat "$work/udp.out" "$work/local.out"
	udp_client_pid=""
	local_client_pid=""
}

# drain_and_check NAME TRANSPORT_ARGS... QUEUES: reads NAME's queues to their end, then
# the verdict on $work/NAME.log.
drain_and_check() {
	local name=$1 queues=$2
	shift 2
	local out
	out=$(in_ns "$crash_client" drain "$@" --queues "$queues" --seed "$seed" \
		--log "$work/$name.log" --run-seconds 60 2>&1) || crash_fail "$name drain: $out"
	echo "$out"
	out=$("$crash_client" check --queues "$queues" --seed "$seed" --log "$work/$name.log" 2>&1)
	local rc=$?
	echo "$out"
	[ "$rc" -eq 0 ] && return 0
	# The wrong writer loses acknowledged sends or deletes (these come back), as it must;
	# a body never sent or damaged would still be a failure.
	if [ "${crash_expect_loss:-0}" = 1 ] &&
		grep -q 'lost [0-9]*, unknown 0, damaged 0, back after delete [0-9]*$' <<<"$out" &&
		! grep -q 'lost 0, unknown 0, damaged 0, back after delete 0$' <<<"$out"; then
		crash_caught_loss=1
		return 0
	fi
	crash_fail "$name: the checker found violations"
	# The history of the first few, as the client logged it.
	local q n
	grep -o 'message [0-9]*/[0-9]*' <<<"$out" | head -3 | tr '/' ' ' |
		while read -r _ q n; do
			echo "--- $name log, message $q/$n:"
			grep -n "^[A-Z] $q $n\( \|$\)\|^K " "$work/$name.log" |
				grep -B1 ":[A-Z] $q $n\( \|$\)"
		done
}

# The last act of every crash test: stop the clients, kill busbard once more (everything
# then comes from its logs), restart it and judge both clients' logs.
finish_crash_run() {
	local after=${1:-}
	stop_crash_clients
	kill_busbard "$after"
	launch_busbard
	wait_busbard_ready || return 1
	drain_and_check udp "$udp_queues" --server "$server"
	drain_and_check local "$local_queues" --local "$socket"
}

# Both workers wrote: each has a log directory with a segment in it.
check_worker_logs() {
	local i
	for i in 0 1; do
		if [ -n "$(find "$work/state/log-$i" -type f -size +0 2>/dev/null | head -1)" ]; then
			echo "ok: worker $i wrote its log in $work/state/log-$i"
		else
			crash_fail "worker $i has no log in $work/state/log-$i"
		fi
	done
}

# The clients are this test's processes too: stopped by PID with lib.sh's cleanup.
crash_cleanup() {
	for pid in $udp_client_pid $local_client_pid; do kill -9 "$pid" 2>/dev/null; done
	cleanup
}
trap crash_cleanup EXIT
