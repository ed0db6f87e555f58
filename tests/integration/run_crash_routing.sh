#!/usr/bin/env bash
# Crash between accept and fan-out (issue 14, TESTING.md item 3 for topics and buses):
# busbard with two workers and a state directory; an SNS topic with two raw sqs
# subscriptions, an EventBridge bus with a rule whose two queue targets give back the
# event's detail.b (InputTransformer "<b>"), and a queue that a FilterPolicy and a rule
# matching nothing point at. Two crash_clients send seeded unique bodies, one with Publish
# over UDP, one with PutEvents over the local socket, and log every acknowledged one;
# busbard is killed with SIGKILL at seeded random points (right after accepts, with fan-out
# in flight; sometimes again while it recovers) and restarted each time. Then a last kill,
# a restart, and every target queue is drained with a copy of its topic's or bus's log:
# every acknowledged Publish or event must be in every subscribed or targeted queue at least
# once, with its exact body, and nothing else may be there (crash_check: lost, unknown,
# damaged); the queue nothing matches must be empty. Ids are handed out in creation order
# and owners are a hash of them (crash-u0 and crash-l1 on worker 1, crash-u1 and crash-l0
# on worker 0), so each source has a target on each worker: deliveries cross the rings. The seed is printed first and named by every failure (BB_CRASH_SEED
# reproduces it). Takes the build and source directories; exits 77 (skipped) where lib.sh
# says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$source_dir/tests/crash/crash_lib.sh"

# About 8 kills and 2 more during recovery: 2-4 minutes on this loaded 2-core machine (a
# restart takes 5-15 s here). Recovery forgetting its publishes (a mutant of dp_replay.c)
# lost deliveries to the cross-ring subscribers within 6 cycles.
kill_cycles=${BB_CRASH_CYCLES:-8}
endpoint=http://127.0.0.1:7680
sns_arn=arn:aws:sns:local:000000000000
sqs_arn=arn:aws:sqs:local:000000000000
# crash_lib's clients publish here: their "queues" are a topic and a bus.
udp_queues=crash-tu
local_queues=crash-bl
declare -A targets=([crash-tu]="crash-u0 crash-u1" [crash-bl]="crash-l0 crash-l1")
declare -A log_of=([crash-tu]=udp [crash-bl]=local)
nothing=crash-none

BUSBARD_WORKERS=2
ns_setup
first_start_or_finish crash_routing
start_control

bb() { busbar --endpoint "$endpoint" "$@"; }

# busbard applies what busbar-control pushed: /health has both versions equal.
wait_applied() {
	local out
	for _ in $(seq 100); do # at most 100 * 1.1 s
		out=$(in_ns curl -s -m 1 "$endpoint/health")
		if python3 -c 'import json,sys; h = json.loads(sys.argv[1])
sys.exit(0 if h["status"] == "ok" and h["config_version"] == h["busbard_version"] else 1)' \
			"$out" 2>/dev/null; then
			echo "ok: busbard applied busbar-control's version"
			return 0
		fi
		sleep 0.1
	done
	crash_fail "busbard did not apply busbar-control's version: $out"
	return 1
}

for q in ${targets[crash-tu]} ${targets[crash-bl]} "$nothing"; do
	expect 0 QueueUrl -- bb create-queue "$q"
done
topic=crash-tu
expect 0 "$sns_arn:$topic" -- bb create-topic "$topic"
for q in ${targets[$topic]}; do
	expect 0 "$sns_arn:$topic:" -- bb subscribe "$topic" sqs "$q" RawMessageDelivery=true
done
expect 0 "$sns_arn:$topic:" -- bb subscribe "$topic" sqs "$nothing" RawMessageDelivery=true \
	'FilterPolicy={"kind":["never-published"]}'
bus=crash-bl
expect 0 "event-bus/$bus" -- bb create-event-bus "$bus"
expect 0 "rule/$bus/crash" -- bb put-rule crash --event-bus "$bus" 'pattern={"source":["crash"]}'
for q in ${targets[$bus]}; do
	expect 0 '"FailedEntryCount": 0' -- bb put-targets crash --event-bus "$bus" \
		'{"Id":"'"$q"'","Arn":"'"$sqs_arn:$q"'","InputTransformer":
		  {"InputPathsMap":{"b":"$.detail.b"},"InputTemplate":"<b>"}}'
done
expect 0 "rule/$bus/none" -- bb put-rule none --event-bus "$bus" 'pattern={"source":["nobody"]}'
expect 0 '"FailedEntryCount": 0' -- bb put-targets none --event-bus "$bus" "n=$sqs_arn:$nothing"
wait_applied || ns_finish crash_routing

# Both clients in the background, logs $work/udp.log and $work/local.log (crash_lib's).
ip netns exec "$ns" "$crash_client" publish --server "$server" --queues "$udp_queues" \
	--seed "$seed" --log "$work/udp.log" --count 60000 --run-seconds 240 \
	>"$work/udp.out" 2>&1 &
udp_client_pid=$!
ip netns exec "$ns" "$crash_client" put --local "$socket" --queues "$local_queues" \
	--seed "$seed" --log "$work/local.log" --count 60000 --run-seconds 240 \
	>"$work/local.out" 2>&1 &
local_client_pid=$!

crash_cycles "$kill_cycles" || ns_finish crash_routing
stop_crash_clients
kill_busbard
launch_busbard
wait_busbard_ready || ns_finish crash_routing

# Each target queue is judged on a copy of its topic's or bus's log: the same acknowledged
# publishes or events, its own deliveries.
for source in crash-tu crash-bl; do
	for q in ${targets[$source]}; do
		cp "$work/${log_of[$source]}.log" "$work/$q.log"
		drain_and_check "$q" "$q" --local "$socket"
	done
done
# Every drain above waited until its queue stayed empty for seconds after recovery's fan-out.
expect 0 '"Messages":\[\]' -- busbar --local "$socket" receive "$nothing" --max 10
check_worker_logs
ns_finish crash_routing
