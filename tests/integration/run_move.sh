#!/usr/bin/env bash
# SQS message move tasks end to end (issue 11): busbar-control and busbard with two workers
# in a network namespace of its own. Queues dlq, src and src2 (RedrivePolicy to dlq,
# maxReceiveCount 1) and other are made; tests/integration/aws/boto3_move.py then dead-letters messages,
# moves them back with StartMessageMoveTask, checks the counts, the empty dead-letter queue,
# SQS's refusals, and cancels a slow (1 message/s) task to another queue. Last, the busbar
# command's move-task start, list and cancel. Every call is bounded by timeout, every
# process stopped by PID, all traffic stays in the namespace.
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/lib.sh"

BUSBARD_WORKERS=2
endpoint=http://127.0.0.1:7680
arn=arn:aws:sqs:local:000000000000

ns_setup
start_busbard
start_control

sqs() {
	timeout 30 ip netns exec "$ns" curl -s -m 20 -H 'Content-Type: application/x-amz-json-1.0' \
		-H "X-Amz-Target: AmazonSQS.$1" --data-binary "$2" "$endpoint/"
}

create() {
	local out
	out=$(sqs CreateQueue "{\"QueueName\":\"$1\",\"Attributes\":${2:-{\}}}")
	grep -q QueueUrl <<<"$out" && echo "ok: create $1" || fail "create $1: $out"
}

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

create dlq
create src "{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$arn:dlq\\\",\\\"maxReceiveCount\\\":1}\"}"
create src2 "{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$arn:dlq\\\",\\\"maxReceiveCount\\\":1}\"}"
create other
wait_applied

expect 0 'ok: every message of src2 is back in src2' -- \
	timeout 240 ip netns exec "$ns" env BUSBAR_ENDPOINT="$endpoint" python3 "$here/aws/boto3_move.py"
echo "$last_output"
grep -q FAIL <<<"$last_output" && fail "boto3_move.py failed"

# The busbar command: the last tasks listed, a start to another queue at 1/s, its cancel.
expect 0 '"Status":"CANCELLED"' -- busbar --endpoint "$endpoint" move-task list dlq --max 2
expect 0 TaskHandle -- busbar --endpoint "$endpoint" move-task start dlq other 1
handle=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["TaskHandle"])' "$last_output")
expect 0 ApproximateNumberOfMessagesMoved -- busbar --endpoint "$endpoint" move-task cancel "$handle"
expect 1 'InvalidParameterValue' -- busbar --endpoint "$endpoint" move-task cancel "$handle"
expect 2 'move-task start DLQ' -- busbar --endpoint "$endpoint" move-task start dlq other 501

ns_finish move
