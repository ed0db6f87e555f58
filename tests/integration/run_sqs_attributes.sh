#!/usr/bin/env bash
# SQS DelaySeconds, PurgeQueue and the approximate counts through busbard (issue 11): a message
# sent with a delay is neither received nor counted visible before its time, also after
# busbard is killed with SIGKILL and started again, and is received once its time came; 900 s
# is taken and 901 refused; PurgeQueue (local socket only) deletes visible, in-flight and
# delayed messages, a second one within 60 s is PurgeQueueInProgress, a send after it is
# received, and a restart brings nothing purged back. Every check on time is made in the
# direction that slowness cannot fail. Stops what it starts by PID.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DELAY_S=20

restart_busbard() {
	kill -9 "$busbard_pid" 2>/dev/null
	wait "$busbard_pid" 2>/dev/null
	rm -f "$socket"
	start_busbard
	wait_snapshot 1
}

# counts QUEUE: "visible not_visible delayed" from busbard.
counts() {
	busbar --local "$socket" counts "$1" | python3 -c 'import json,sys
c = json.load(sys.stdin)
print(c["ApproximateNumberOfMessages"], c["ApproximateNumberOfMessagesNotVisible"],
      c["ApproximateNumberOfMessagesDelayed"])'
}

expect_counts() {
	local got
	got=$(counts "$1")
	[ "$got" = "$2" ] || fail "counts of $1: $got, not $2 ($3)"
}

handle_of() { json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output"; }

ns_setup
start_busbard
start_control
expect 0 delays -- busbar create-queue delays
wait_snapshot 1

# The limits of a message's DelaySeconds.
expect 2 'from 0 to 900' -- busbar send delays "too late" --delay 901
t0=$(date +%s)
expect 0 MessageId -- busbar send delays later --delay "$DELAY_S"
[ "$(date +%s)" -lt $((t0 + DELAY_S)) ] &&
	expect_counts delays "0 0 1" "the delayed message counts as delayed only"
expect 0 'Messages' -- busbar receive delays
received_before=0 # a slow machine may reach the receive after the delay: then it is due
if grep -q '"Body":"later"' <<<"$last_output"; then
	received_before=1
	[ "$(date +%s)" -lt $((t0 + DELAY_S)) ] &&
		fail "a delayed message was received before its delay ended"
fi

# Its delay survives a restart: hidden until t0 + DELAY_S, then received once.
restart_busbard
[ "$(date +%s)" -lt $((t0 + DELAY_S)) ] &&
	expect_counts delays "0 0 1" "still delayed after the restart"
got=""
for _ in 1 2 3 4; do
	expect 0 'Messages' -- busbar receive delays --wait 20
	if grep -q '"Body":"later"' <<<"$last_output"; then
		got=yes
		[ "$(date +%s)" -ge $((t0 + DELAY_S)) ] ||
			fail "the delayed message came before its delay ended after the restart"
		grep -q "\"ApproximateReceiveCount\":$((received_before + 1))" <<<"$last_output" ||
			fail "the delayed message's receive count is wrong: $last_output"
		break
	fi
done
[ -n "$got" ] || fail "the delayed message never came after the restart"
expect_counts delays "0 1 0" "received: in flight"

# PurgeQueue: visible, in flight (later) and delayed (900 s) go; not over UDP.
expect 0 MessageId -- busbar send delays "the longest" --delay 900
expect 0 MessageId -- busbar send delays visible
expect_counts delays "1 1 1" "one of each"
expect 1 'AccessDenied' -- busbar purge delays
expect_counts delays "1 1 1" "a refused purge deletes nothing"
t_purge=$(date +%s)
expect 0 PurgeQueue -- busbar --local "$socket" purge delays
expect_counts delays "0 0 0" "purged"
out=$(busbar --local "$socket" purge delays 2>&1)
if [ "$(date +%s)" -lt $((t_purge + 60)) ]; then
	grep -q PurgeQueueInProgress <<<"$out" || fail "a second purge within 60 s: $out"
fi
expect 0 MessageId -- busbar send delays after
expect 0 '"Body":"after"' -- busbar receive delays
expect 0 '' -- busbar delete delays "$(handle_of)"

# The PURGE and DELETE records keep everything gone after a restart.
restart_busbard
expect_counts delays "0 0 0" "nothing purged or deleted came back"
expect 0 '"Messages":\[\]' -- busbar receive delays --wait 2

ns_finish sqs_attributes
