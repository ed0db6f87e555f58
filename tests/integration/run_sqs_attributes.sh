#!/usr/bin/env bash
# SQS DelaySeconds, PurgeQueue and the approximate counts through busbard (issue 11): a message
# sent with a delay is neither received nor counted visible before its time, also after
# busbard is killed with SIGKILL and started again, and is received once its time came; 900 s
# is taken and 901 refused; PurgeQueue (local socket only) deletes visible, in-flight and
# delayed messages, a second one within 60 s is PurgeQueueInProgress, a send after it is
# received, and a restart brings nothing purged back. Every check on time is made in the
# direction that slowness cannot fail. Message attributes over UDP: busbar sends String,
# Number, Binary and custom-typed attributes and an AWSTraceHeader (with --delay too, and a
# trace header alone), receives them with --message-attribute-names All, a prefix.*, exact
# names or none, each selection checked against what AWS would return, and
# MD5OfMessageAttributes against AWS's algorithm computed here in Python; the same again
# after busbard is killed with SIGKILL and started again (the SEND record keeps them).
# Stops what it starts by PID.
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
	expect 0 'Messages' -- busbar receive delays --wait 20 --visibility-timeout 600
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

# Message attributes (issue 11). AWS's MD5OfMessageAttributes of ATTRIBUTES, computed here:
# per attribute in name order, its name, data type and value each after a 4-byte big-endian
# length, the value after a transport byte (1 String and Number, 2 Binary).
ATTRIBUTES=(app.colour=String:red app.size=Number:42 blob=Binary:AP9/gA==
            price=Number.euro:9.99)
TRACE='Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
AWS_MD5='import base64, hashlib, struct, sys
def field(b): return struct.pack(">I", len(b)) + b
md5 = hashlib.md5()
for a in sorted(sys.argv[1:], key=lambda a: a.split("=", 1)[0].encode()):
    name, rest = a.split("=", 1)
    kind, value = rest.split(":", 1)
    binary = kind.startswith("Binary")
    raw = base64.b64decode(value) if binary else value.encode()
    md5.update(field(name.encode()) + field(kind.encode()) + (b"\x02" if binary else b"\x01")
               + field(raw))
print(md5.hexdigest())'
want_md5=$(python3 -c "$AWS_MD5" "${ATTRIBUTES[@]}")
attribute_args=()
for a in "${ATTRIBUTES[@]}"; do attribute_args+=(--attribute "$a"); done

# Checks every message of $last_output against what SQS returns for the selection given
# (MessageAttributeNames): "attributed" and "delayed" have ATTRIBUTES and the trace header,
# "traced" the trace header only. Prints the bodies seen, and "bad: ..." for each wrong one.
CHECK_RECEIVED='import base64, json, sys
want_md5, trace, attributes, selection = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
def selected(name):
    return any(s in ("All", ".*") or (s.endswith(".*") and name.startswith(s[:-1]))
               or s == name for s in selection)
full = {}
for a in attributes:
    name, rest = a.split("=", 1)
    kind, value = rest.split(":", 1)
    full[name] = {"DataType": kind, ("BinaryValue" if kind.startswith("Binary")
                                     else "StringValue"): value}
for m in json.load(sys.stdin)["Messages"]:
    body = m["Body"]
    print(body)
    has = body in ("attributed", "delayed")
    want = {n: v for n, v in full.items() if selected(n)} if has else {}
    if m.get("MessageAttributes", {}) != want:
        print("bad:", body, "MessageAttributes", m.get("MessageAttributes"), "not", want)
    if m.get("MD5OfMessageAttributes") != (want_md5 if has else None):
        print("bad:", body, "MD5OfMessageAttributes", m.get("MD5OfMessageAttributes"))
    if m["Attributes"].get("AWSTraceHeader") != trace:
        print("bad:", body, "AWSTraceHeader", m["Attributes"].get("AWSTraceHeader"))'

# receive_attributes [SELECTION...]: receives until the three messages came, each checked.
receive_attributes() {
	local names=() seen="" out
	for s in "$@"; do names+=(--message-attribute-names "$s"); done
	for _ in 1 2 3 4 5; do
		expect 0 Messages -- busbar receive attrs --max 10 --visibility-timeout 0 --wait 5 \
			"${names[@]}"
		out=$(python3 -c "$CHECK_RECEIVED" "$want_md5" "$TRACE" "${ATTRIBUTES[*]}" "$@" \
			<<<"$last_output")
		grep '^bad:' <<<"$out" | while read -r line; do echo "FAIL ($*): $line"; done
		grep -q '^bad:' <<<"$out" && fail "selection ($*): $last_output"
		seen="$seen $(grep -v '^bad:' <<<"$out" | tr '\n' ' ')"
		for body in attributed delayed traced; do
			grep -qw "$body" <<<"$seen" || continue 2
		done
		return 0
	done
	fail "selection ($*): not every message came:$seen"
}

# receive_every_selection: All, .*, a prefix, exact names (one no attribute has), none.
receive_every_selection() {
	receive_attributes All
	receive_attributes '.*'
	receive_attributes 'app.*'
	receive_attributes price blob nosuch
	receive_attributes Price
	receive_attributes
}

expect 0 attrs -- busbar create-queue attrs
wait_snapshot 2
expect 0 "\"MD5OfMessageAttributes\":\"$want_md5\"" -- \
	busbar send attrs attributed "${attribute_args[@]}" --trace-header "$TRACE"
expect 0 "\"MD5OfMessageAttributes\":\"$want_md5\"" -- \
	busbar send attrs delayed --delay 2 "${attribute_args[@]}" --trace-header "$TRACE"
expect 0 MessageId -- busbar send attrs traced --trace-header "$TRACE"
grep -q MD5OfMessageAttributes <<<"$last_output" &&
	fail "a message with a trace header only has an MD5 of attributes: $last_output"
receive_every_selection

# The SEND records bring attributes and trace headers back after a SIGKILL.
restart_busbard
wait_snapshot 2
receive_every_selection

ns_finish sqs_attributes
