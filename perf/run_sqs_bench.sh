#!/usr/bin/env bash
# Measures SendMessage -> ReceiveMessage -> DeleteMessage over busbard's tap
# path from a kernel UDP client, beside two baselines measured in the same run
# with the same client: a kernel UDP echo server over loopback, and testpmd
# echoing on the same net_tap vdev (5tswap forwarding swaps the addresses and
# ports, so each request comes back as its reply: the tap path's ceiling).
# Creates its own network namespace; stops what it starts by PID.
#   perf/run_sqs_bench.sh [BUILD_DIR]   (SECONDS_PER_RUN=10 WINDOW=16 by default)
set -euo pipefail
build=$(realpath "${1:-build}")
seconds=${SECONDS_PER_RUN:-10}
window=${WINDOW:-16}
ns="bbperf$$"
work=$(mktemp -d /tmp/busbar-perf.XXXXXX)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	sleep 0.5
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
bench() { ip netns exec "$ns" "$build/perf/busbar-bench" "$@"; }

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up

ip netns exec "$ns" "$build/perf/busbar-bench" echo-server --port 7700 --seconds $((seconds + 5)) &
pids+=($!)
sleep 0.5
bench udp --server 127.0.0.1 --port 7700 --seconds "$seconds" --window "$window" \
	--op send --queue bench --baseline --system kernel-udp-echo --transport loopback-kernel-udp

# testpmd on the same vdev: the kernel side needs a static ARP entry, as
# 5tswap would bounce ARP requests instead of answering them.
ip netns exec "$ns" dpdk-testpmd -l 0-1 --no-pci --in-memory --log-level lib.eal:error \
	--vdev net_tap0,iface=bb0,mac=02:00:00:00:00:02 -- --forward-mode=5tswap \
	--stats-period 100 >"$work/testpmd.log" 2>&1 &
testpmd_pid=$!
for _ in $(seq 100); do ip netns exec "$ns" ip link show bb0 >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
ip netns exec "$ns" ip addr add 10.77.0.1/24 dev bb0
ip netns exec "$ns" ip link set bb0 up
ip netns exec "$ns" ip neigh replace 10.77.0.2 lladdr 02:00:00:00:00:02 dev bb0
bench udp --server 10.77.0.2 --port 7700 --seconds "$seconds" --window "$window" \
	--op send --queue bench --baseline --system testpmd-5tswap --transport tap-kernel-udp
kill "$testpmd_pid"
wait "$testpmd_pid" 2>/dev/null || true
for _ in $(seq 50); do ip netns exec "$ns" ip link show bb0 >/dev/null 2>&1 || break; sleep 0.1; done

cat >"$work/busbard.json" <<JSON
{"port": {"vdev": "net_tap0,iface=bb0", "ipv4": "10.77.0.2"}, "workers": 1,
 "auth": {"mode": "none"}, "eal_args": ["--log-level", "lib.eal:error"]}
JSON
ip netns exec "$ns" "$build/dataplane/busbard" --config "$work/busbard.json" \
	--unix-socket "$work/sock" --state-dir "$work" --run-seconds $((seconds + 30)) >"$work/d.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do ip netns exec "$ns" ip link show bb0 >/dev/null 2>&1 && [ -S "$work/sock" ] && break; sleep 0.1; done
ip netns exec "$ns" ip addr add 10.77.0.1/24 dev bb0
ip netns exec "$ns" ip link set bb0 up
ip netns exec "$ns" "$build/control/busbar-control" --db "$work/c.db" --busbard-socket "$work/sock" \
	--run-seconds $((seconds + 30)) >"$work/c.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do ip netns exec "$ns" "$build/client/busbar" create-queue bench >/dev/null 2>&1 && break; sleep 0.1; done
# busbar-control pushes the queue to busbard after answering: wait until busbard has it.
for _ in $(seq 50); do
	"$build/client/busbar" --local "$work/sock" stats 2>/dev/null |
		grep -Eq '"snapshot_version": ?[1-9]' && break
	sleep 0.1
done
bench udp --server 10.77.0.2 --queue bench --seconds "$seconds" --window "$window" \
	--op cycle --system busbard --transport tap-kernel-udp
