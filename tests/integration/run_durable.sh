#!/usr/bin/env bash
# Durable queues through the wire (issue 11): a message acknowledged by SendMessage survives
# busbard being killed with SIGKILL and started again; a message whose DeleteMessage was
# acknowledged does not come back; one that was in flight comes back once its visibility
# timeout passes; over UDP and the local socket. A queue made with busbar:Durability=memory
# loses its message; the state dir started with "durability": "memory" says so at start.
# Stops what it starts by PID.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

restart_busbard() {
	kill -9 "$busbard_pid" 2>/dev/null
	wait "$busbard_pid" 2>/dev/null
	rm -f "$socket"
	start_busbard
	wait_snapshot 1
}

handle_of() { json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output"; }

ns_setup
start_busbard
start_control
expect 0 durable -- busbar create-queue durable
wait_snapshot 1

expect 0 MessageId -- busbar send durable first
expect 0 MessageId -- busbar send durable second
expect 0 MessageId -- busbar --local "$socket" send durable third
expect 0 '"Body":"first"' -- busbar receive durable
expect 0 '' -- busbar delete durable "$(handle_of)"
# In flight for 20 s. After the restart it must stay hidden until then (however long the
# restart took): the check is on the clock, in the direction that cannot fail by slowness.
expect 0 '"Body":"second"' -- busbar receive durable --visibility-timeout 20
hidden_until=$(( $(date +%s) + 20 - 1 ))

restart_busbard
grep -q 'worker 0 recovered 2 message(s)' "$work/busbard.log" ||
	fail "busbard did not say it recovered 2 messages: $(grep recovered "$work/busbard.log")"
seen=""
for _ in 1 2 3 4; do
	expect 0 'Messages' -- busbar receive durable --max 10 --wait 20
	while read -r body count handle; do
		[ -n "$body" ] || continue
		seen="$seen $body"
		[ "$body" = first ] && fail "a message whose delete was acknowledged came back"
		if [ "$body" = second ]; then
			[ "$(date +%s)" -ge "$hidden_until" ] ||
				fail "the in-flight message was visible before its visibility timeout ended"
			[ "$count" = 2 ] || fail "second's receive count is $count, not 2"
		fi
		expect 0 "" -- busbar delete durable "$handle" </dev/null
	done < <(python3 -c 'import json,sys
for m in json.load(sys.stdin)["Messages"]:
    print(m["Body"], m["Attributes"]["ApproximateReceiveCount"], m["ReceiptHandle"])' \
		<<<"$last_output")
	grep -q second <<<"$seen" && grep -q third <<<"$seen" && break
done
[ "$(tr ' ' '\n' <<<"$seen" | grep -c .)" = 2 ] || fail "after the restart got:$seen (want third, second)"

# A queue made with busbar:Durability=memory is not logged: its message dies with busbard.
expect 0 fast -- busbar create-queue fast --durability memory
wait_snapshot 2
expect 0 '"busbar:Durability":"memory"' -- busbar get-queue-attributes fast
expect 0 MessageId -- busbar send fast "gone with the process"

restart_busbard
expect 0 '"Messages":\[\]' -- busbar receive durable --wait 4
expect 0 '"Messages":\[\]' -- busbar receive fast
recovered=$(busbar --local "$socket" stats | json_field '["log_messages_recovered"]')
[ "${recovered:-x}" = 0 ] || fail "deleted or memory messages came back: $recovered recovered"

kill -9 "$busbard_pid"; wait "$busbard_pid" 2>/dev/null; rm -f "$socket"
BUSBARD_EXTRA_JSON='"durability": "memory",'
start_busbard
grep -q 'durability memory: messages are NOT stored' "$work/busbard.log" ||
	fail "busbard did not say that durability memory keeps nothing on disk"

ns_finish durable
