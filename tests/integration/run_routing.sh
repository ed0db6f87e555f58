#!/usr/bin/env bash
# Routing end to end (issue 14): busbar-control and busbard with two workers in a network
# namespace of its own. Queues, a topic with three sqs subscriptions (raw, the SNS envelope,
# raw with a FilterPolicy), a bus with a rule whose queue target has an InputTransformer and
# a rule with a plain queue target are made with the busbar command; messages go in with
# busbar publish / publish-batch / put-events over UDP and come out with busbar receive:
# a raw body exactly as published, the envelope's Type, MessageId, TopicArn, Subject and
# Message (python3 json), the transformed input exactly, and nothing where the policy or the
# pattern says no; a bus target with Input is refused, and an event too long for its target
# queue goes to the target's dead-letter queue with EventBridge's attributes (ERROR_CODE ...).
# "Nothing" is proven without a clock: each queue's deliveries come in the
# order of the topic's or bus's log, so once a later marker that matches has arrived, an
# earlier message that was going to arrive has too. Then busbard is killed with SIGKILL
# right after a publish and a put-events are acknowledged and started again: both must be
# in their queues after recovery (at least once). Every call is bounded by timeout, every
# process is stopped by PID, all traffic stays inside the namespace.
set -uo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
# Its steps take minutes on a loaded machine: busbard and busbar-control live longer than
# lib.sh's default, within meson's 600 s.
BB_RUN_SECONDS=${BB_RUN_SECONDS:-560}
source "$here/lib.sh"

BUSBARD_WORKERS=2
endpoint=http://127.0.0.1:7680
bound_s=60 # a hang detector for one call, not a speed test
sqs_arn=arn:aws:sqs:local:000000000000
topic_arn=arn:aws:sns:local:000000000000:news
receives_max=40 # per collect: receives of up to 1 s each

ns_setup
start_busbard
start_control

bb() { timeout "$bound_s" ip netns exec "$ns" "$build/client/busbar" --timeout-ms 2000 \
	--endpoint "$endpoint" "$@"; }

# busbard applies what busbar-control pushed: /health has both versions equal.
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

# collect QUEUE MARKER: receives from QUEUE (each message then in flight for 900 s, so none
# comes twice unless delivered twice) until a body containing MARKER has come, appending
# every body, one JSON string a line, to $work/got.QUEUE.
collect() {
	local queue=$1 marker=$2 file="$work/got.$1" out
	touch "$file"
	for _ in $(seq "$receives_max"); do
		out=$(bb receive "$queue" --max 10 --wait 1 --visibility-timeout 900 2>&1) ||
			{ fail "receive $queue: $out"; return 1; }
		python3 -c 'import json,sys
for m in json.loads(sys.argv[1])["Messages"]: print(json.dumps(m["Body"]))' "$out" >>"$file"
		python3 -c 'import json,sys
sys.exit(0 if any(sys.argv[2] in json.loads(l) for l in open(sys.argv[1])) else 1)' \
			"$file" "$marker" && return 0
	done
	fail "$queue: no message with $marker after $receives_max receives"
	return 1
}

# check_bodies QUEUE PYTHON: PYTHON, given the list `bodies` of QUEUE's bodies so far and
# the publish answers `ids` ({message: MessageId}), must not raise.
check_bodies() {
	local queue=$1 code=$2 why
	if why=$(python3 -c 'import json,sys
bodies = [json.loads(l) for l in open(sys.argv[1])]
ids = {}
for l in open(sys.argv[2]):
    m, i = l.rstrip("\n").split("\t")
    ids[m] = i
'"$code" "$work/got.$queue" "$work/ids" 2>&1); then
		echo "ok: $queue: $(tr '\n' ' ' <"$work/got.$queue")"
	else
		fail "$queue: $(tail -1 <<<"$why") in $(tr '\n' ' ' <"$work/got.$queue")"
	fi
}

# publish MESSAGE ARGS...: publishes to news, remembers its MessageId.
publish() {
	expect 0 '"MessageId"' -- busbar publish news "$@"
	local id
	id=$(json_field '["MessageId"]' <<<"$last_output" 2>/dev/null)
	printf '%s\t%s\n' "$1" "$id" >>"$work/ids"
}
: >"$work/ids"

# --- Resources, with the busbar command (busbar-control's API).
for queue in raw env filtered orders other; do
	expect 0 QueueUrl -- bb create-queue "$queue"
done
expect 0 "$topic_arn" -- bb create-topic news
expect 0 "$topic_arn:" -- bb subscribe news sqs raw RawMessageDelivery=true
expect 0 "$topic_arn:" -- bb subscribe news sqs env
expect 0 "$topic_arn:" -- bb subscribe news sqs filtered RawMessageDelivery=true \
	'FilterPolicy={"kind":["order"]}'
expect 0 'event-bus/shop' -- bb create-event-bus shop
expect 0 'rule/shop/big' -- bb put-rule big --event-bus shop \
	'pattern={"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}'
expect 0 '"FailedEntryCount": 0' -- bb put-targets big --event-bus shop \
	'{"Id":"t","Arn":"'"$sqs_arn"':orders","InputTransformer":{"InputPathsMap":
	  {"id":"$.detail.id","total":"$.detail.total"},
	  "InputTemplate":"{\"order\": <id>, \"sum\": <total>}"}}'
expect 0 'rule/shop/other' -- bb put-rule other --event-bus shop 'pattern={"source":["other"]}'
expect 0 '"FailedEntryCount": 0' -- bb put-targets other --event-bus shop "o=$sqs_arn:other"
expect 0 'rule/shop/alert' -- bb put-rule alert --event-bus shop 'pattern={"source":["alert"]}'
expect 0 '"FailedEntryCount": 0' -- bb put-targets alert --event-bus shop \
	'{"Id":"n","Arn":"'"$topic_arn"'","Input":"\"from the bus\""}'
wait_applied "topic, subscriptions, bus, rules, targets"

# --- SNS: publish and publish-batch over UDP.
publish 'hello raw' --subject Greeting --attribute kind=String:order
publish 'a refund' --attribute kind=String:refund
publish 'no attributes at all'
cat >"$work/batch" <<'EOF'
{"Id":"1","Message":"batch order","MessageAttributes":{"kind":{"DataType":"String","StringValue":"order"}}}
{"Id":"2","Message":"batch refund","MessageAttributes":{"kind":{"DataType":"String","StringValue":"refund"}}}
EOF
expect 0 '"Failed":\[\]' -- busbar publish-batch news --entries "$work/batch"
python3 -c 'import json,sys
for e in json.loads(sys.argv[1])["Successful"]:
    print({"1": "batch order", "2": "batch refund"}[e["Id"]] + "\t" + e["MessageId"])' \
	"$last_output" >>"$work/ids" || fail "publish-batch answer: $last_output"
expect 1 'InvalidParameter\|Empty message' -- busbar publish news ''
publish 'marker' --attribute kind=String:order

collect raw marker
collect env marker
collect filtered marker
everything='{"hello raw", "a refund", "no attributes at all", "batch order", "batch refund",
             "marker"}'
check_bodies raw "assert set(bodies) == $everything, 'not every message, exactly'"
check_bodies filtered "assert set(bodies) == {'hello raw', 'batch order', 'marker'}, \
'the FilterPolicy let through the wrong messages'"
check_bodies env "
notes = [json.loads(b) for b in bodies]
for n in notes:
    assert n['Type'] == 'Notification', n
    assert n['TopicArn'] == '$topic_arn', n
    assert n['MessageId'] == ids[n['Message']], ('MessageId', n)
assert {n['Message'] for n in notes} == $everything, 'not every message'
hello = [n for n in notes if n['Message'] == 'hello raw'][0]
assert hello['Subject'] == 'Greeting', hello
assert hello['MessageAttributes']['kind'] == {'Type': 'String', 'Value': 'order'}, hello"

# --- EventBridge: put-events over UDP, from an entries file and from options.
cat >"$work/events" <<'EOF'
{"Source":"shop","DetailType":"order","Detail":"{\"id\":6,\"total\":50}"}
{"Source":"shop","DetailType":"order","Detail":"{\"id\":7,\"total\":500}","Resources":["arn:aws:x:local:000000000000:till/1"]}
{"Source":"other","DetailType":"note","Detail":{"text":"hi"},"Time":"2024-05-01T12:00:00Z"}
EOF
expect 0 '"FailedEntryCount":0' -- busbar put-events --bus shop --entries "$work/events"
cat >"$work/bad_events" <<'EOF'
{"DetailType":"order","Detail":"{\"id\":8,\"total\":800}"}
{"Source":"shop","DetailType":"order","Detail":"{\"id\":5,\"total\":5}"}
EOF
expect 1 '"FailedEntryCount":1,"Entries":\[{"ErrorCode":"InvalidArgument"' -- \
	busbar put-events --bus shop --entries "$work/bad_events"
expect 0 '"FailedEntryCount":0' -- busbar put-events --bus shop --source shop \
	--detail-type order --detail '{"id":9,"total":999}'
collect orders '"order": 9'
collect other '"note"'
check_bodies orders "assert bodies == ['{\"order\": 7, \"sum\": 500}', \
'{\"order\": 9, \"sum\": 999}'], 'the pattern or the transformer is wrong'"
check_bodies other "
assert len(bodies) == 1, 'one event only'
e = json.loads(bodies[0])
assert (e['source'], e['detail-type'], e['detail']) == ('other', 'note', {'text': 'hi'}), e
assert e['time'] == '2024-05-01T12:00:00Z', e"

# --- A rule's topic target: the event's input is published to the topic's subscriptions.
expect 0 '"FailedEntryCount":0' -- busbar put-events --bus shop --source alert \
	--detail-type page --detail '{}'
collect raw 'from the bus'
check_bodies raw "assert '\"from the bus\"' in bodies, 'the topic target published nothing'"

# --- A bus target takes no input settings (EventBridge refuses them), and a rule target's
# dead letter says why: an event too long for its queue goes to the DeadLetterConfig queue
# with EventBridge's message attributes.
expect 0 'event-bus/far' -- bb create-event-bus far
expect 1 'not available with PutTarget if the target is an event bus' -- bb put-targets other \
	--event-bus shop '{"Id":"b","Arn":"arn:aws:events:local:000000000000:event-bus/far",
	  "Input":"{\"k\":1}"}'
expect 0 QueueUrl -- in_ns curl -s -m 20 -H 'Content-Type: application/x-amz-json-1.0' \
	-H 'X-Amz-Target: AmazonSQS.CreateQueue' "$endpoint/" \
	--data-binary '{"QueueName":"tiny","Attributes":{"MaximumMessageSize":"1024"}}'
expect 0 QueueUrl -- bb create-queue dead
expect 0 'rule/shop/long' -- bb put-rule long --event-bus shop 'pattern={"source":["long"]}'
expect 0 '"FailedEntryCount": 0' -- bb put-targets long --event-bus shop \
	'{"Id":"d","Arn":"'"$sqs_arn"':tiny","DeadLetterConfig":{"Arn":"'"$sqs_arn"':dead"}}'
wait_applied "a target whose queue takes 1 KiB"
expect 0 '"FailedEntryCount":0' -- busbar put-events --bus shop --source long \
	--detail-type long --detail "{\"pad\":\"$(head -c 1500 /dev/zero | tr '\0' x)\"}"
got_dead=""
for _ in $(seq "$receives_max"); do
	got_dead=$(bb receive dead --wait 1 --message-attribute-names All 2>&1) || break
	grep -q '"Body"' <<<"$got_dead" && break
done
if python3 -c 'import json,sys
m = json.loads(sys.argv[1])["Messages"][0]
a = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
assert json.loads(m["Body"])["source"] == "long", m["Body"]
assert a == {"RULE_ARN": "arn:aws:events:local:000000000000:rule/shop/long",
             "TARGET_ARN": "arn:aws:sqs:local:000000000000:tiny",
             "ERROR_CODE": "INVALID_PARAMETER",
             "ERROR_MESSAGE": "InvalidParameterValue.MessageTooLong",
             "RETRY_ATTEMPTS": "0"}, a' "$got_dead" 2>"$work/dead.err"; then
	echo "ok: the dead letter carries RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS"
else
	fail "dead letter: $(tail -1 "$work/dead.err") in $got_dead"
fi

# --- SIGKILL right after the acknowledgements, then recovery: delivered at least once.
expect 0 '"FailedEntryCount":0' -- busbar put-events --bus shop --source shop \
	--detail-type order --detail '{"id":10,"total":1000}'
publish 'durable after the kill' --attribute kind=String:order
kill -9 "$busbard_pid"
wait "$busbard_pid" 2>/dev/null
start_busbard
if kill -0 "$busbard_pid" 2>/dev/null; then
	wait_applied "after busbard's restart"
	collect raw 'durable after the kill'
	collect filtered 'durable after the kill'
	collect orders '"order": 10'
	check_bodies raw "assert 'durable after the kill' in bodies"
	check_bodies orders "assert '{\"order\": 10, \"sum\": 1000}' in bodies"
else
	fail "busbard did not recover after SIGKILL: $(tail -1 "$work/busbard.log")"
fi

ns_finish routing
