#!/usr/bin/env bash
# FIFO queues through busbar-control, the wire and the busbar command (issue 11): CreateQueue
# wants FifoQueue for a .fifo name and the reverse; a send without MessageGroupId is
# MissingParameter, without a dedup id on a queue without content-based deduplication
# InvalidParameterValue; a duplicate answers the first MessageId and SequenceNumber and stores
# nothing; a receive gives MessageGroupId and SequenceNumber, takes a group's messages in order
# and none of a group while one of it is in flight; after busbard is killed with SIGKILL and
# started again, the dedup window still holds the id of a deleted message and the group's
# order and blocking are as before. Over UDP and the local socket. Then a queue with
# DeduplicationScope=messageGroup (made through the AWS query API) takes one dedup id once in
# each group, and a receive with --attempt-id is answered again with the same messages and
# receipt handles when retried, by another request and after a SIGKILL too, while a new id
# gets nothing of the groups in flight. Stops what it starts by PID.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

field() { json_field "$1" <<<"$last_output"; }

restart_busbard() {
	kill -9 "$busbard_pid" 2>/dev/null
	wait "$busbard_pid" 2>/dev/null
	rm -f "$socket"
	start_busbard
	wait_snapshot 2
}

ns_setup
start_busbard
start_control
expect 1 'FifoQueue=true' -- busbar create-queue orders.fifo
expect 1 'InvalidParameterValue' -- busbar create-queue orders --fifo
expect 0 'orders.fifo' -- busbar create-queue orders.fifo --fifo
expect 0 '"FifoQueue":"true"' -- busbar get-queue-attributes orders.fifo
wait_snapshot 2

expect 1 'MissingParameter' -- busbar send orders.fifo a1
expect 1 'ContentBasedDeduplication' -- busbar send orders.fifo a1 --group A
expect 1 'InvalidParameterValue' -- busbar send orders.fifo a1 --group 'A B' --dedup-id 1
expect 0 SequenceNumber -- busbar send orders.fifo a1 --group A --dedup-id 1
first_id=$(field '["MessageId"]')
first_seq=$(field '["SequenceNumber"]')
[ "${#first_seq}" = 20 ] || fail "SequenceNumber $first_seq is not 20 digits"
expect 0 "$first_id" -- busbar send orders.fifo other --group B --dedup-id 1
[ "$(field '["SequenceNumber"]')" = "$first_seq" ] || fail "a duplicate has another sequence"
expect 0 SequenceNumber -- busbar send orders.fifo a2 --group A --dedup-id 2
second_seq=$(field '["SequenceNumber"]')
[[ "$second_seq" > "$first_seq" ]] || fail "sequence numbers do not grow: $second_seq"
expect 0 SequenceNumber -- busbar --local "$socket" send orders.fifo b1 --group B --dedup-id 3

expect 0 '"Body":"a1"' -- busbar receive orders.fifo
[ "$(field '["Messages"][0]["Attributes"]["MessageGroupId"]')" = A ] ||
	fail "no MessageGroupId A in $last_output"
[ "$(field '["Messages"][0]["Attributes"]["SequenceNumber"]')" = "$first_seq" ] ||
	fail "the received SequenceNumber is not the send's: $last_output"
a1_handle=$(field '["Messages"][0]["ReceiptHandle"]')
expect 0 '"Body":"b1"' -- busbar receive orders.fifo --max 10 --visibility-timeout 300
grep -q '"a2"' <<<"$last_output" && fail "a2 was given while a1 of its group was in flight"
expect 0 '"Messages":\[\]' -- busbar --local "$socket" receive orders.fifo --max 10
expect 0 '' -- busbar delete orders.fifo "$a1_handle"

restart_busbard
expect 0 "$first_id" -- busbar send orders.fifo again --group A --dedup-id 1
expect 0 '"Body":"a2"' -- busbar receive orders.fifo --max 10
grep -q '"b1"' <<<"$last_output" && fail "b1 came back before its visibility timeout"
expect 0 '"Messages":\[\]' -- busbar receive orders.fifo --max 10

handles() { python3 -c 'import json,sys
print(" ".join(m["ReceiptHandle"] for m in json.load(sys.stdin)["Messages"]))' <<<"$last_output"; }

command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }
create='Action=CreateQueue&QueueName=h.fifo&Attribute.1.Name=FifoQueue&Attribute.1.Value=true'
create+='&Attribute.2.Name=DeduplicationScope&Attribute.2.Value=messageGroup'
expect 0 'h.fifo' -- in_ns curl -s -m 10 -d "$create" http://127.0.0.1:7680/
expect 0 '"DeduplicationScope":"messageGroup"' -- busbar get-queue-attributes h.fifo
wait_snapshot 3
expect 0 SequenceNumber -- busbar send h.fifo g1 --group G1 --dedup-id same
g1_id=$(field '["MessageId"]')
expect 0 SequenceNumber -- busbar send h.fifo g2 --group G2 --dedup-id same
[ "$(field '["MessageId"]')" != "$g1_id" ] || fail "messageGroup scope: G2's id was a duplicate"
expect 0 "$g1_id" -- busbar send h.fifo g1 --group G1 --dedup-id same

expect 0 '"Body":"g2"' -- busbar receive h.fifo --max 10 --attempt-id try-1 --visibility-timeout 600
first_handles=$(handles)
[ "$(wc -w <<<"$first_handles")" = 2 ] || fail "the attempt took not both groups: $last_output"
expect 0 '"Body":"g1"' -- busbar --local "$socket" receive h.fifo --max 10 --attempt-id try-1 \
	--visibility-timeout 600
[ "$(handles)" = "$first_handles" ] || fail "a retried attempt got other handles: $last_output"
expect 0 '"Messages":\[\]' -- busbar receive h.fifo --max 10 --attempt-id try-2
# A send is answered once its record is durable, and the ATTEMPT record is before it in the log.
expect 0 SequenceNumber -- busbar send h.fifo g3 --group G3 --dedup-id other
restart_busbard
expect 0 "$g1_id" -- busbar send h.fifo again --group G1 --dedup-id same
expect 0 '"Body":"g1"' -- busbar receive h.fifo --max 10 --attempt-id try-1 --visibility-timeout 600
[ "$(handles)" = "$first_handles" ] ||
	fail "after kill -9 the attempt got other handles: $last_output"
grep -q '"g3"' <<<"$last_output" && fail "a retried attempt took a new message"
expect 0 '"Body":"g3"' -- busbar receive h.fifo --max 10 --attempt-id try-3

ns_finish fifo
