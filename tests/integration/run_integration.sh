#!/usr/bin/env bash
# End-to-end test of busbar on the real stack. Creates its own network
# namespace, starts busbard (DPDK net_tap port) and busbar-control inside it,
# drives every operation with the busbar command and with libbusbar over real
# UDP, restarts each process to show busbard serves without the control plane
# and from its stored snapshot, and stops everything it started by PID.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ns_setup
start_busbard
start_control

# Queue administration over the control API (SQS JSON 1.0).
expect 0 '"QueueUrl":"http://127.0.0.1:7680/000000000000/orders"' -- busbar create-queue orders
expect 0 'orders' -- busbar create-queue orders
expect 1 'QueueNameExists' -- busbar create-queue orders --visibility-timeout 5
expect 1 'FifoQueue=true' -- busbar create-queue orders.fifo
expect 1 'InvalidParameterValue' -- busbar create-queue 'bad name!'
expect 0 '"VisibilityTimeout":"30"' -- busbar get-queue-attributes orders
expect 0 'orders' -- busbar get-queue-url orders
expect 1 'QueueDoesNotExist' -- busbar get-queue-url nothing
expect 0 'lib' -- busbar create-queue lib --visibility-timeout 10
expect 0 '"QueueUrls":\["http://127.0.0.1:7680/000000000000/lib","http://127.0.0.1:7680/000000000000/orders"\]' -- busbar list-queues
expect 0 '"QueueUrls":\["http://127.0.0.1:7680/000000000000/orders"\]' -- busbar list-queues --prefix or
wait_snapshot 3

# Data operations over UDP through the tap.
expect 0 '"MD5OfMessageBody":"5d41402abc4b2a76b9719d911017c592"' -- busbar send orders hello
message_id=$(json_field '["MessageId"]' <<<"$last_output")
expect 0 "\"MessageId\":\"$message_id\"" -- busbar receive orders --max 10 --visibility-timeout 30
handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
expect 0 '"Messages":\[\]' -- busbar receive orders
expect 0 '' -- busbar change-visibility orders "$handle" 0
expect 0 '"ApproximateReceiveCount":2' -- busbar receive orders --visibility-timeout 30
new_handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
expect 0 '' -- busbar delete orders "$handle"
expect 1 'MessageNotInflight' -- busbar change-visibility orders "$handle" 5
expect 0 '' -- busbar delete orders "$new_handle"
expect 0 '"Messages":\[\]' -- busbar receive orders --wait 1
expect 1 'ReceiptHandleIsInvalid' -- busbar delete orders not-a-handle
expect 1 'NonExistentQueue' -- busbar send nothing hello
expect 0 'MessageId' -- busbar send orders "twelve hours"
expect 0 'twelve hours' -- busbar receive orders
twelve_handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
expect 1 'InvalidParameterValue' -- busbar change-visibility orders "$twelve_handle" 43200
expect 0 '' -- busbar delete orders "$twelve_handle"
expect 2 'usage' -- busbar receive
expect 2 'bad' -- busbar receive orders --max 11
expect 3 'no reply' -- busbar --server 10.77.0.3 --timeout-ms 200 --retries 1 ping
expect 0 'ok' -- busbar ping
expect 0 '2 received' -- in_ns ping -c 2 -W 1 "$server"

# The local socket takes what UDP cannot: a 512 KiB message.
head -c 524288 /dev/zero | tr '\0' 'L' >"$work/big"
expect 0 'MessageId' -- bash -c "ip netns exec $ns $build/client/busbar --local $socket send orders - <$work/big"
expect 0 'LLLL' -- busbar --local "$socket" receive orders
big_handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
expect 0 '' -- busbar --local "$socket" change-visibility orders "$big_handle" 0
# A UDP receive passes over what cannot fit its reply and returns what can (defect 9).
expect 0 'MessageId' -- busbar send orders small
expect 0 '"Body":"small"' -- busbar receive orders
expect 0 '' -- busbar delete orders "$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")"
expect 0 'LLLL' -- busbar --local "$socket" receive orders
expect 0 '' -- busbar --local "$socket" delete orders "$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")"

# The library over real UDP.
if in_ns env BUSBAR_SERVER="$server" BUSBAR_QUEUE=lib "$build/tests/test_library" --jobs 1; then
	echo "ok: libbusbar suite"
else
	fail "libbusbar suite"
fi

# busbard serves while busbar-control is down...
kill "$control_pid"; wait "$control_pid" 2>/dev/null; control_pid=""
expect 0 'MessageId' -- busbar send orders "while control is down"
# ...and restarts from its stored snapshot with the control plane still down.
kill -TERM "$busbard_pid"
wait "$busbard_pid"
rc=$?
[ "$rc" -eq 0 ] && echo "ok: busbard stopped cleanly on SIGTERM" || fail "busbard exit $rc on SIGTERM"
grep -q 'busbard: stopping' "$work/busbard.log" || fail "no clean-stop message"
busbard_pid=""
start_busbard
expect 0 'MessageId' -- busbar send orders "after restart"
grep -q 'started from stored snapshot 3' "$work/busbard.log" || fail "did not start from snapshot 3"

# Deleting a queue reaches busbard once the control plane is back.
start_control
expect 0 '{}' -- busbar delete-queue orders
wait_snapshot 4
expect 1 'NonExistentQueue' -- busbar send orders "gone"
expect 1 'QueueDoesNotExist' -- busbar delete-queue orders

echo "--- busbard stats"
busbar --local "$socket" stats
ns_finish integration
