#!/usr/bin/env bash
# Dead-letter queues end to end (issue 11): busbar-control and busbard with two workers in a
# network namespace of its own. Queues with a RedrivePolicy are made through busbar-control's
# SQS JSON API (curl); GetQueueAttributes shows the policy, ListDeadLetterSourceQueues lists
# the sources and a policy naming no queue is InvalidParameterValue. Messages go in and out
# with the busbar command over UDP: a message received maxReceiveCount times is not handed
# out by the next receive but moved to its dead-letter queue, owned by the other worker
# (src-far) or by the same one (src-near), where `busbar receive` shows the queue it left as
# its DeadLetterQueueSourceArn; its queue is then empty and GetStats counts
# redrive_moved. Then busbard is killed with SIGKILL (a) while a move the dead-letter queue
# refuses (MessageTooLong) holds its message in flight, and (b) right after a receive that
# started ten moves: after the restart, and once the moves' 30 s deadline passed, every one
# of those messages reaches its dead-letter queue at least once and none is lost.
# Queue ids decide the owners (dp_owner_of with two workers: ids 1, 4, 5 on one worker,
# 2, 3, 6 on the other), so the queues are made in a fixed order in a fresh store. Every call
# is bounded by timeout, every process is stopped by PID, all traffic stays in the namespace.
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
# Its steps take minutes on a loaded machine: busbard and busbar-control live longer than
# lib.sh's default, within meson's 600 s.
BB_RUN_SECONDS=${BB_RUN_SECONDS:-560}
source "$here/lib.sh"

BUSBARD_WORKERS=2
endpoint=http://127.0.0.1:7680
sqs_arn=arn:aws:sqs:local:000000000000
move_deadline_s=31 # SQS_MOVE_VISIBILITY_MS, and a second

ns_setup
start_busbard
start_control

# sqs ACTION JSON: busbar-control's SQS JSON 1.0 API (unsigned: --insecure-no-auth).
sqs() {
	timeout 30 ip netns exec "$ns" curl -s -m 20 -H 'Content-Type: application/x-amz-json-1.0' \
		-H "X-Amz-Target: AmazonSQS.$1" --data-binary "$2" "$endpoint/"
}

# redrive DLQ COUNT: a RedrivePolicy as the JSON string an Attributes map holds.
redrive() {
	printf '"{\\"deadLetterTargetArn\\":\\"%s:%s\\",\\"maxReceiveCount\\":%s}"' "$sqs_arn" "$1" "$2"
}

# create NAME [ATTRIBUTES_JSON]
create() {
	local out attributes=${2:-}
	[ -n "$attributes" ] || attributes='{}'
	out=$(sqs CreateQueue "{\"QueueName\":\"$1\",\"Attributes\":$attributes}")
	grep -q QueueUrl <<<"$out" && echo "ok: create $1" || fail "create $1: $out"
}

# busbard applies what busbar-control pushed: /health has both versions equal.
wait_applied() {
	local out
	for _ in $(seq 100); do # at most 100 * 1.1 s
		out=$(in_ns curl -s -m 1 "$endpoint/health")
		python3 -c 'import json,sys; h = json.loads(sys.argv[1])
sys.exit(0 if h["status"] == "ok" and h["config_version"] == h["busbard_version"] else 1)' \
			"$out" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "busbard did not apply busbar-control's version: $out"
}

bodies() { python3 -c 'import json,sys
for m in json.loads(sys.argv[1])["Messages"]: print(m["Body"])' "$1"; }

stat_of() { busbar --local "$socket" stats | json_field "[\"$1\"]"; }

counts() {
	busbar --local "$socket" counts "$1" | python3 -c 'import json,sys
c = json.load(sys.stdin)
print(c["ApproximateNumberOfMessages"], c["ApproximateNumberOfMessagesNotVisible"],
      c["ApproximateNumberOfMessagesDelayed"])'
}

# collect QUEUE BODY...: receives from QUEUE (each message then in flight for 900 s) until
# every BODY came, at most 40 receives of up to 1 s; the bodies go to $work/got.QUEUE.
collect() {
	local queue=$1 out
	shift
	touch "$work/got.$queue"
	for _ in $(seq 40); do
		out=$(busbar receive "$queue" --max 10 --wait 1 --visibility-timeout 900 2>&1) ||
			{ fail "receive $queue: $out"; return 1; }
		bodies "$out" >>"$work/got.$queue"
		local missing=0
		for body in "$@"; do grep -qx -- "$body" "$work/got.$queue" || missing=1; done
		[ "$missing" -eq 0 ] && { echo "ok: $queue has all $# (${1:0:16}...)"; return 0; }
	done
	fail "$queue lacks some of $* after 40 receives: $(tr '\n' ' ' <"$work/got.$queue")"
}

# collect_moved QUEUE BODY SOURCE: as collect, for one moved message, which must name its
# queue SOURCE as its DeadLetterQueueSourceArn (a system attribute, among its Attributes).
collect_moved() {
	local queue=$1 body=$2 source=$3 out
	for _ in $(seq 40); do
		out=$(busbar receive "$queue" --max 10 --wait 1 --visibility-timeout 900 2>&1) ||
			{ fail "receive $queue: $out"; return 1; }
		bodies "$out" >>"$work/got.$queue"
		python3 -c 'import json,sys
for m in json.loads(sys.argv[1])["Messages"]:
    if m["Body"] == sys.argv[2]:
        assert m["Attributes"]["DeadLetterQueueSourceArn"] == sys.argv[3], m
        sys.exit(0)
sys.exit(3)' "$out" "$body" "$sqs_arn:$source" 2>"$work/moved.err"
		case $? in
		0) echo "ok: $queue has $body from $source"; return 0 ;;
		3) ;;
		*) fail "$body: $(tail -1 "$work/moved.err")"; return 1 ;;
		esac
	done
	fail "$queue lacks $body after 40 receives"
}

# receive_none QUEUE WHY: a receive that gets nothing (the message is moved instead).
receive_none() {
	expect 0 '"Messages":\[\]' -- busbar receive "$1" --max 10 --visibility-timeout 0
}

# ---- the queues: ids 1-6 in this order (owners above) ----
create dlq                                                        # 1, worker A
create src-far "{\"RedrivePolicy\":$(redrive dlq 1)}"             # 2, worker B
create filler                                                     # 3
create src-near "{\"RedrivePolicy\":$(redrive dlq 2)}"            # 4, worker A
create small-dlq '{"MaximumMessageSize":"1024"}'                  # 5, worker A
create held "{\"RedrivePolicy\":$(redrive small-dlq 1)}"          # 6, worker B

out=$(sqs CreateQueue "{\"QueueName\":\"bad\",\"Attributes\":{\"RedrivePolicy\":$(redrive nope 1)}}")
grep -q 'InvalidParameterValue' <<<"$out" && grep -q 'does not exist' <<<"$out" &&
	echo "ok: a policy naming no queue is refused" || fail "bad policy: $out"
out=$(sqs GetQueueAttributes \
	"{\"QueueUrl\":\"$endpoint/000000000000/src-far\",\"AttributeNames\":[\"RedrivePolicy\"]}")
grep -q 'deadLetterTargetArn.*dlq.*maxReceiveCount..:1' <<<"$out" &&
	echo "ok: GetQueueAttributes shows the policy" || fail "attributes: $out"
out=$(sqs ListDeadLetterSourceQueues "{\"QueueUrl\":\"$endpoint/000000000000/dlq\"}")
[ "$(python3 -c 'import json,sys; print(" ".join(u.rsplit("/", 1)[1]
for u in json.loads(sys.argv[1])["queueUrls"]))' "$out")" = "src-far src-near" ] &&
	echo "ok: ListDeadLetterSourceQueues" || fail "sources: $out"
wait_applied

# ---- a move to the other worker's queue, and to the same worker's ----
expect 0 MessageId -- busbar send src-far far-1
expect 0 '"Body":"far-1"' -- busbar receive src-far --visibility-timeout 0
receive_none src-far
collect_moved dlq far-1 src-far
expect 0 MessageId -- busbar send src-near near-1
expect 0 '"Body":"near-1"' -- busbar receive src-near --visibility-timeout 0
expect 0 '"Body":"near-1"' -- busbar receive src-near --visibility-timeout 0
receive_none src-near
collect_moved dlq near-1 src-near
[ "$(counts src-far)" = "0 0 0" ] && [ "$(counts src-near)" = "0 0 0" ] &&
	echo "ok: moved messages left their queues" || fail "left: $(counts src-far) $(counts src-near)"
[ "$(stat_of redrive_moved)" = 2 ] && echo "ok: redrive_moved 2" ||
	fail "redrive_moved: $(stat_of redrive_moved)"

# ---- (a) a move refused for now holds its message: kill -9 while it does ----
big=$(head -c 2000 /dev/zero | tr '\0' b)
out=$(busbar send held "$big" 2>&1) || fail "send held: $out"
out=$(busbar receive held --visibility-timeout 0 2>&1)
grep -q '"Body":"bbbb' <<<"$out" && echo "ok: held received once" || fail "receive held: $out"
receive_none held
for _ in $(seq 50); do [ "$(stat_of redrive_move_failures)" -ge 1 ] && break; sleep 0.1; done
[ "$(stat_of redrive_move_failures)" -ge 1 ] && echo "ok: small-dlq refused the move" ||
	fail "no move failure counted"
[ "$(counts held)" = "0 1 0" ] && echo "ok: the message waits in flight" ||
	fail "held: $(counts held)"

# ---- (b) ten moves started right before the kill ----
for i in $(seq 10); do busbar send src-far "many-$i" >/dev/null || fail "send many-$i"; done
busbar receive src-far --max 10 --visibility-timeout 0 >/dev/null # received once
busbar receive src-far --max 10 --visibility-timeout 0 >/dev/null # moves them
kill -9 "$busbard_pid"
wait "$busbard_pid" 2>/dev/null
rm -f "$socket"
t_kill=$(date +%s)
start_busbard
wait_applied
[ "$(counts held)" != "0 0 0" ] && echo "ok: the held message survived the kill" ||
	fail "the held message is lost"

# small-dlq takes it now; once the moves' deadline passed, receives move what is left.
out=$(sqs SetQueueAttributes \
	"{\"QueueUrl\":\"$endpoint/000000000000/small-dlq\",\"Attributes\":{\"MaximumMessageSize\":\"262144\"}}")
[ "$out" = "{}" ] || fail "set small-dlq: $out"
wait_applied
while [ "$(date +%s)" -lt $((t_kill + move_deadline_s)) ]; do sleep 1; done
for queue in held src-far; do
	for _ in 1 2 3; do busbar receive "$queue" --max 10 --visibility-timeout 0 >/dev/null; done
done
collect small-dlq "$big"
many=()
for i in $(seq 10); do many+=("many-$i"); done
collect dlq "${many[@]}"
[ "$(counts held)" = "0 0 0" ] && [ "$(counts src-far)" = "0 0 0" ] &&
	echo "ok: nothing left behind" || fail "left: held $(counts held), src-far $(counts src-far)"

ns_finish dlq
