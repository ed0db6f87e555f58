#!/usr/bin/env bash
# The busbar command as a new user meets it (issue 10): it prints every message it
# received whatever bytes the body holds (Body when UTF-8, else BodyBase64) and exits
# with an error when it cannot print one; it refuses a body too large for a UDP request
# before sending, naming the limit and --local; numeric options name their range;
# --version works; stats without --local says to use it; admin errors print the plain
# AWS code. Runs busbard and busbar-control in a namespace of its own.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect_absent PATTERN: the output of the last expect does not hold PATTERN.
expect_absent() {
	if grep -q -- "$1" <<<"$last_output"; then
		fail "\"$1\" in output: $last_output"
	else
		echo "ok: no \"$1\""
	fi
}

# send_stdin ARGS...: busbar send with standard input taken from $work/body.
send_stdin() { in_ns "$build/client/busbar" --timeout-ms 2000 "$@" <"$work/body"; }

ns_setup
start_busbard
start_control

# No service is needed for these.
version=$(sed -n "s/^  version : '\([^']*\)',$/\1/p" "$source_dir/meson.build")
[ -n "$version" ] || fail "no version in meson.build"
expect 0 "^busbar $version\$" -- busbar --version
expect 2 '--max.* 1 to 10' -- busbar receive q --max 11
expect 2 '--max.* 1 to 10' -- busbar --max 0 receive q
expect 2 '--visibility-timeout.* 0 to 43200' -- busbar receive q --visibility-timeout 43201
expect 2 '--wait.* 0 to 20' -- busbar receive q --wait 21
expect 2 '--receive-wait.* 0 to 20' -- busbar create-queue q --receive-wait x
expect 2 '--maximum-message-size.* 1024 to 1048576' -- \
	busbar create-queue q --maximum-message-size 1023
expect 2 '--timeout-ms.* 1 to 600000' -- busbar --timeout-ms 0 ping
expect 2 '--retries.* 0 to 100' -- busbar ping --retries 101
expect 2 '--server.* 1 to 65535' -- busbar --server 10.77.0.2:0 ping
expect 2 'SECONDS.* 0 to 43200' -- busbar change-visibility q handle 43201
expect 2 'use --local SOCKET' -- busbar stats
expect 0 'snapshot_version' -- busbar --local "$socket" stats

# Admin errors carry the same plain AWS codes as data errors.
expect 1 '^busbar: InvalidParameterValue: ' -- busbar create-queue 'bad name!'
expect_absent 'com.amazonaws'
expect 1 '^busbar: QueueDoesNotExist: ' -- busbar get-queue-url nothing
expect_absent '#'
expect 0 'QueueUrl' -- busbar create-queue bin
expect 0 'QueueUrl' -- busbar create-queue big
wait_snapshot 2

# Defect 8: a body that is not UTF-8 is either refused at send (InvalidMessageContents)
# or printed in full when received; never an empty list with the message in flight.
for transport in udp local; do
	local_args=()
	[ "$transport" = local ] && local_args=(--local "$socket")
	printf 'ok\xff' >"$work/body"
	expect_sent=1
	out=$(send_stdin "${local_args[@]}" send bin - 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q 'InvalidMessageContents' <<<"$out"; then
		echo "ok: $transport: invalid UTF-8 refused at send"
		expect_sent=0
	elif [ "$rc" -ne 0 ]; then
		fail "$transport: send of invalid UTF-8: exit $rc: $out"
		expect_sent=0
	fi
	if [ "$expect_sent" -eq 1 ]; then
		expect 0 '"BodyBase64":"b2v/"' -- busbar "${local_args[@]}" receive bin --wait 1
		handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output" 2>/dev/null)
		expect 0 '' -- busbar delete bin "${handle:-none}"
	fi
	# Tab, newline and carriage return are allowed characters; JSON escapes them.
	printf 'a\tb\r\n' >"$work/body"
	expect 0 'MessageId' -- send_stdin "${local_args[@]}" send bin -
	expect 0 '"Body":"a\\tb\\r\\n"' -- busbar "${local_args[@]}" receive bin --wait 1
	handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output" 2>/dev/null)
	expect 0 '' -- busbar delete bin "${handle:-none}"
done

# What was received but could not be printed is an error, not a silent success.
expect 0 'MessageId' -- busbar send bin kept
expect 4 'could not be written to standard output' -- \
	bash -c "ip netns exec $ns $build/client/busbar --visibility-timeout 0 receive bin >/dev/full"
expect 0 '"Body":"kept".*"ApproximateReceiveCount":2' -- busbar receive bin
handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output" 2>/dev/null)
expect 0 '' -- busbar delete bin "${handle:-none}"

# Defect 13: the largest body libbusbar sends over UDP to queue "big" goes through; one
# byte more is refused before sending, naming the limit and --local. The request is the
# 64-byte header, a 6-byte field header and the name, a 6-byte field header and the body,
# and libbusbar keeps room for a 14-byte cookie field in every UDP request.
udp_request_max=$(sed -n 's/.*BB_UDP_REQUEST_BYTES_MAX .*\/\* \([0-9,]*\) \*\/$/\1/p' \
	"$source_dir/common/bb_limits.h" | tr -d ,)
[ -n "$udp_request_max" ] || fail "no BB_UDP_REQUEST_BYTES_MAX in bb_limits.h"
body_max=$((udp_request_max - 64 - 6 - 3 - 6 - 14))
head -c "$body_max" /dev/zero | tr '\0' 'U' >"$work/body"
expect 0 'MessageId' -- send_stdin send big -
head -c $((body_max + 1)) /dev/zero | tr '\0' 'U' >"$work/body"
expect 2 "--local" -- send_stdin send big -
expect 2 "$udp_request_max" -- send_stdin send big -
head -c 11800 /dev/zero | tr '\0' 'U' >"$work/body"
expect 2 "--local" -- send_stdin send big -
expect 0 'MessageId' -- send_stdin --local "$socket" send big -
expect 0 "\"Body\":\"$(head -c "$body_max" /dev/zero | tr '\0' 'U')\"" -- busbar receive big

ns_finish cli
