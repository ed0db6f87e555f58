#!/usr/bin/env bash
# Scheduled rules and bus targets end to end (issue 14): busbar-control and busbard in a
# network namespace of its own. A rule `tick` with ScheduleExpression rate(1 minute) on the
# default bus, made with the busbar command (busbar-control's API), targets queue ticks:
# AWS's scheduled event (source aws.events, detail-type "Scheduled Event", the rule's ARN
# as its resource, detail {}) must arrive there. busbard anchors rates at 1970, so a
# rate(1 minute) rule fires at every whole minute: the first firing comes within 60 s of the
# rule, whenever the test runs, and 150 s is the generous bound (no timing is asserted
# beyond it). Then busbard is killed with SIGKILL and started again: a later due time fires
# (a later "time"), and no due time arrives as two different events. A rule of bus a
# targeting bus b hands b the event as it is: b's rule's queue gets it with the id
# PutEvents answered on a. Every call is bounded by timeout, every process is stopped by
# PID, all traffic stays inside the namespace. Runs in about 1-3 minutes.
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/lib.sh"

endpoint=http://127.0.0.1:7680
bound_s=60 # a hang detector for one call, not a speed test
sqs_arn=arn:aws:sqs:local:000000000000
tick_bound_s=150

ns_setup
start_busbard
start_control

bb() { timeout "$bound_s" ip netns exec "$ns" "$build/client/busbar" --timeout-ms 2000 \
	--endpoint "$endpoint" "$@"; }

wait_applied() {
	local out
	for _ in $(seq 100); do # at most 100 * 1.1 s
		out=$(in_ns curl -s -m 1 "$endpoint/health")
		if python3 -c 'import json,sys; h = json.loads(sys.argv[1])
sys.exit(0 if h["status"] == "ok" and h["config_version"] == h["busbard_version"] else 1)' \
			"$out" 2>/dev/null; then
			echo "ok: busbard applied busbar-control's version ($1)"
			return 0
		fi
		sleep 0.1
	done
	fail "busbard did not apply busbar-control's version ($1): $out"
}

# wait_for QUEUE PYTHON: receives from QUEUE (each message then hidden for 900 s) until
# PYTHON, given `bodies` (every body so far, parsed JSON), is true; at most tick_bound_s.
wait_for() {
	local queue=$1 code=$2 file="$work/got.$1" out deadline=$((SECONDS + tick_bound_s))
	touch "$file"
	while [ "$SECONDS" -lt "$deadline" ]; do
		out=$(bb receive "$queue" --max 10 --wait 5 --visibility-timeout 900 2>&1) ||
			{ fail "receive $queue: $out"; return 1; }
		python3 -c 'import json,sys
for m in json.loads(sys.argv[1])["Messages"]: print(m["Body"])' "$out" >>"$file"
		if python3 -c 'import json,sys
bodies = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if ('"$code"') else 1)' "$file" 2>/dev/null; then
			echo "ok: $queue: $(wc -l <"$file") message(s) so far"
			return 0
		fi
	done
	fail "$queue: not within ${tick_bound_s} s: $(cat "$file")"
	return 1
}

# A scheduled event of rule tick, as AWS writes it.
is_tick='all(b["source"] == "aws.events" and b["detail-type"] == "Scheduled Event" and
b["resources"] == ["arn:aws:events:local:000000000000:rule/tick"] and b["detail"] == {} and
b["version"] == "0" and b["account"] == "000000000000" and b["region"] == "local" and
b["time"].endswith(":00Z") for b in bodies)'

for queue in ticks b-events; do
	expect 0 QueueUrl -- bb create-queue "$queue"
done
expect 0 'rule/tick' -- bb put-rule tick 'schedule=rate(1 minute)'
expect 0 '"FailedEntryCount": 0' -- bb put-targets tick "q=$sqs_arn:ticks"
expect 0 'event-bus/a' -- bb create-event-bus a
expect 0 'event-bus/b' -- bb create-event-bus b
expect 0 'rule/a/fwd' -- bb put-rule fwd --event-bus a 'pattern={"source":["shop"]}'
expect 0 '"FailedEntryCount": 0' -- bb put-targets fwd --event-bus a \
	"bus=arn:aws:events:local:000000000000:event-bus/b"
expect 0 'rule/b/got' -- bb put-rule got --event-bus b 'pattern={"source":["shop"]}'
expect 0 '"FailedEntryCount": 0' -- bb put-targets got --event-bus b "q=$sqs_arn:b-events"
wait_applied "scheduled rule, buses a and b"

# --- A bus target: the event as it is, its id kept.
expect 0 '"FailedEntryCount":0' -- busbar put-events --bus a --source shop \
	--detail-type order --detail '{"id":1}'
event_id=$(json_field '["Entries"][0]["EventId"]' <<<"$last_output" 2>/dev/null)
wait_for b-events "len(bodies) >= 1"
wait_for b-events "[b['id'] for b in bodies] == ['$event_id'] and
bodies[0]['source'] == 'shop' and bodies[0]['detail'] == {'id': 1}"

# --- The scheduled rule fires.
wait_for ticks "len(bodies) >= 1 and $is_tick"
first=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["time"])' \
	"$work/got.ticks")

# --- Killed and started again: a later due time fires; none arrives as two events.
kill -9 "$busbard_pid"
wait "$busbard_pid" 2>/dev/null
start_busbard
if kill -0 "$busbard_pid" 2>/dev/null; then
	wait_applied "after busbard's restart"
	wait_for ticks "$is_tick and max(b['time'] for b in bodies) > '$first'"
	wait_for ticks "len({b['time'] for b in bodies}) == len({b['id'] for b in bodies})"
else
	fail "busbard did not start again"
fi

ns_finish scheduled
