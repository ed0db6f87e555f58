#!/usr/bin/env bash
# Batches through the wire (issue 11) with the busbar command and libbusbar, over UDP and
# the local socket: send-batch, change-visibility-batch and delete-batch answer each entry
# in Successful or Failed with its AWS code (an entry that fails leaves the others done,
# and the command exits 1); a FIFO queue's batch with --group and --dedup-id is answered
# with sequence numbers, a duplicate with the first's; a batch the client can tell is over
# 10 entries is refused before sending; a UDP batch of bodies so short that its answer
# could be over 3 times the request is refused with nothing done, and goes through over the
# local socket; a batch acknowledged on a durable queue survives busbard being killed with
# SIGKILL.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A durable batch is answered after its fdatasync, which a loaded disk can hold for seconds:
# a local call makes one attempt, so it gets longer than lib.sh's 2 s.
busbar() { in_ns "$build/client/busbar" --timeout-ms 10000 "$@"; }

count_of() { json_field "[\"$1\"].__len__()" <<<"$last_output"; }
handle_at() { json_field "[\"Messages\"][$1][\"ReceiptHandle\"]" <<<"$last_output"; }

# expect_count LIST N: the last output's Successful or Failed list has N entries.
expect_count() {
	local n
	n=$(count_of "$1" 2>/dev/null)
	if [ "${n:-x}" = "$2" ]; then
		echo "ok: $2 $1"
	else
		fail "$1 has ${n:-no} entries, not $2: $last_output"
	fi
}

ns_setup
start_busbard
start_control
expect 0 orders -- busbar create-queue orders
wait_snapshot 1

body() { printf 'batch %s message body, %s\n' "$1" "$2"; }
for transport in udp local; do
	args=()
	[ "$transport" = local ] && args=(--local "$socket")
	expect 1 '"Code":"InvalidMessageContents","SenderFault":true' -- busbar "${args[@]}" \
		send-batch orders "$(body "$transport" one)" $'control \x01 character here' \
		"$(body "$transport" two)" "$(body "$transport" three)"
	expect_count Successful 3
	expect_count Failed 1
	expect 0 'ReceiptHandle' -- busbar "${args[@]}" receive orders --max 10 --wait 1
	h0=$(handle_at 0) h1=$(handle_at 1) h2=$(handle_at 2)
	expect 1 '"Id":"1","Code":"ReceiptHandleIsInvalid"' -- busbar "${args[@]}" \
		change-visibility-batch orders 60 "$h0" not-a-handle
	expect_count Successful 1
	expect 0 '"Failed":\[\]' -- busbar "${args[@]}" delete-batch orders "$h0" "$h1" "$h2"
	expect_count Successful 3
	expect 0 '"Messages":\[\]' -- busbar "${args[@]}" receive orders
done

# A FIFO queue's batch: --group is every entry's MessageGroupId, --dedup-id D makes entry N's
# MessageDeduplicationId D-N, each answered with its SequenceNumber; sent again, each entry is
# a duplicate answered with the first one's number; an entry without a group fails alone.
expect 0 'orders.fifo' -- busbar create-queue orders.fifo --fifo
wait_snapshot 2
fifo=(busbar --local "$socket" send-batch orders.fifo "$(body fifo one)" "$(body fifo two)")
expect 0 '"SequenceNumber"' -- "${fifo[@]}" --group g --dedup-id d
second=$(json_field '["Successful"][1]["SequenceNumber"]' <<<"$last_output")
expect 0 "\"SequenceNumber\":\"${second:-none}\"" -- "${fifo[@]}" --group g --dedup-id d
expect 1 '"Code":"MissingParameter"' -- "${fifo[@]}" --dedup-id e

expect 2 '1 to 10 entries' -- busbar send-batch orders 1 2 3 4 5 6 7 8 9 10 11
expect 1 'InvalidParameterValue: over UDP' -- busbar send-batch orders a b c d e f g h i j
expect 0 '"Messages":\[\]' -- busbar receive orders
expect 0 '"Failed":\[\]' -- busbar --local "$socket" send-batch orders a b c
expect_count Successful 3

# Acknowledged, so durable: a kill -9 right after loses none of them.
expect 0 '"Failed":\[\]' -- busbar send-batch orders "$(body kill one)" "$(body kill two)"
kill -9 "$busbard_pid" 2>/dev/null
wait "$busbard_pid" 2>/dev/null
rm -f "$socket"
start_busbard
wait_snapshot 1
expect 0 'batch kill message body, two' -- busbar receive orders --max 10 --wait 1
grep -q 'batch kill message body, one' <<<"$last_output" ||
	fail "the first entry lost: $last_output"
n=$(json_field '["Messages"].__len__()' <<<"$last_output" 2>/dev/null)
[ "${n:-0}" -eq 5 ] || fail "after the restart ${n:-no} messages, not 5 (a, b, c and two)"

ns_finish batches
