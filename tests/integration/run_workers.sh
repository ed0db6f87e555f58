#!/usr/bin/env bash
# busbard with two workers (issue 11 asks that routing across workers be exercised, where
# every other test runs one): queues are owned by either worker (a hash of their id), a
# request that arrives on one worker crosses to its queue's owner over a ring, and every
# operation still works over UDP and the local socket; the stats show requests crossed.
# On a machine with fewer CPUs than lcores busbard places them on the CPUs in turn (slow,
# correct). Stops what it starts by PID.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUSBARD_WORKERS=2
ns_setup
start_busbard
start_control
grep -q '2 worker(s)' "$work/busbard.log" || fail "busbard did not start two workers"

# Eight queues: with two owners chosen by a hash of the queue id, both own some.
for i in 1 2 3 4 5 6 7 8; do
	expect 0 "w$i" -- busbar create-queue "w$i"
done
for i in 1 2 3 4 5 6 7 8; do
	expect 0 'MessageId' -- busbar send "w$i" "udp-$i"
	expect 0 "\"Body\":\"udp-$i\"" -- busbar receive "w$i"
	expect 0 '' -- busbar delete "w$i" "$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")"
	expect 0 'MessageId' -- busbar --local "$socket" send "w$i" "local-$i"
	expect 0 "\"Body\":\"local-$i\"" -- busbar --local "$socket" receive "w$i"
	expect 0 '"Messages":\[\]' -- busbar receive "w$i"
done

crossed=$(busbar --local "$socket" stats | json_field '["requests_to_other_worker"]')
if [ "${crossed:-0}" -gt 0 ]; then
	echo "ok: $crossed requests crossed to the other worker"
else
	fail "no request crossed to the other worker (requests_to_other_worker ${crossed:-missing})"
fi
ns_finish workers
