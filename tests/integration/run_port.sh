#!/usr/bin/env bash
# busbard's port and start-up, in a network namespace of its own (issue 10). busbard gives
# its tap's kernel side the address of port.kernel_ipv4 at every start, so after a restart
# a client reaches it with no `ip addr` from anyone; the stats reply carries the port's own
# counters beside busbard's; start-up messages say what is true (hugepages off in the
# config, a config file that cannot be read). Stops what it starts by PID.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ns_setup
busbard="$build/dataplane/busbard"

# A config file that cannot be read is named with the reason, not as "PATH:-1:".
expect 2 'cannot read config file /nonexistent: No such file or directory' -- \
	"$busbard" --config /nonexistent
printf '{"udp_port": 7600,\n "workers": }\n' >"$work/broken.json"
expect 2 "config file $work/broken.json, line 2, column" -- "$busbard" --config "$work/broken.json"
printf '{"port": {"kernel_ipv4": "10.77.0.1"}}\n' >"$work/no-prefix.json"
expect 2 'kernel_ipv4.*A.B.C.D/N' -- "$busbard" --config "$work/no-prefix.json"

# "hugepages": "off" says so, whether or not hugepages are free (a null port, one second).
cat >"$work/off.json" <<JSON
{"port": {"vdev": "net_null0"}, "hugepages": "off", "memory_mb": 512,
 "frame_mbufs": 2047, "store_mbufs_per_worker": 1023, "eal_args": ["--log-level", "lib.eal:error"]}
JSON
expect 0 'hugepages are off in the config; running with --no-huge' -- \
	in_ns "$busbard" --config "$work/off.json" --unix-socket "$work/off.sock" \
	--state-dir "$work/off-state" --run-seconds 1
grep -q 'no hugepages' <<<"$last_output" && fail "\"off\" still blamed on the machine: $last_output"

# busbard gives the tap's kernel side its address: no `ip addr` here or in lib.sh.
BUSBARD_KERNEL_IPV4=10.77.0.1/24
start_busbard
expect 0 'inet 10.77.0.1/24' -- in_ns ip -4 addr show dev bb0
start_control
expect 0 'QueueUrl' -- busbar create-queue port
wait_snapshot 1
expect 0 'MessageId' -- busbar send port "before the restart"

# The port's own counters, beside busbard's.
stats=$(busbar --local "$socket" stats)
for key in port_ipackets port_imissed port_ierrors port_oerrors port_rx_nombuf; do
	value=$(json_field "[\"$key\"]" <<<"$stats" 2>/dev/null)
	if [[ "$value" =~ ^[0-9]+$ ]]; then echo "ok: stats $key=$value"; else fail "stats has no $key: $stats"; fi
done

# Restarted, the tap is new and busbard gives it its address again.
kill -TERM "$busbard_pid"
wait "$busbard_pid"
busbard_pid=""
start_busbard
expect 0 'inet 10.77.0.1/24' -- in_ns ip -4 addr show dev bb0
expect 0 'MessageId' -- busbar send port "after the restart"
expect 0 '2 received' -- in_ns ping -c 2 -W 1 "$server"

ns_finish port
