#!/usr/bin/env bash
# FIFO queues through busbar-control, the wire and the busbar command (issue 11): CreateQueue
# wants FifoQueue for a .fifo name and the reverse; a send without MessageGroupId is
# MissingParameter, without a dedup id on a queue without content-based deduplication
# InvalidParameterValue; a duplicate answers the first MessageId and SequenceNumber and stores
# nothing; a receive gives MessageGroupId and SequenceNumber, takes a group's messages in order
# and none of a group while one of it is in flight; after busbard is killed with SIGKILL and
# started again, the dedup window still holds the id of a deleted message and the group's
# order and blocking are as before. Over UDP and the local socket. Stops what it starts by PID.
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

ns_finish fifo
