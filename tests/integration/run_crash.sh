#!/usr/bin/env bash
# Crash through the wire, process kill (TESTING.md item 3): busbard with two workers and a
# state directory, two crash_clients sending, receiving and deleting (one over UDP, one over
# the local socket), busbard killed with SIGKILL dozens of times at seeded random points,
# sometimes again while it recovers, and restarted each time. Then a last kill, a restart,
# a drain, and the checker: no acknowledged send lost, nothing unknown delivered, nothing
# delivered after its delete was acknowledged (duplicates counted). A kill keeps the page
# cache, so this proves recovery and the order of replies after writes; run_crash_power.sh
# proves the fdatasync. The seed is printed first and named by every failure.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$source_dir/tests/crash/crash_lib.sh"

# About 16 kills and 4 more during recovery: 2-4 minutes on this loaded 2-core machine.
kill_cycles=${BB_CRASH_CYCLES:-16}

BUSBARD_WORKERS=2
ns_setup
first_start_or_finish crash
start_control
create_crash_queues

# First, without chance: a delete that names a receipt handle from before a restart is
# either refused or done for good; acknowledged, the message must not come back when its
# visibility timeout ends (a long poll waits past it). A queue of its own: the clients'
# checker would call this body unknown.
expect 0 crash-pre -- busbar create-queue crash-pre
expect 0 MessageId -- busbar send crash-pre before-restart
expect 0 before-restart -- busbar receive crash-pre --visibility-timeout 1
old_handle=$(json_field '["Messages"][0]["ReceiptHandle"]' <<<"$last_output")
kill_busbard
launch_busbard
wait_busbard_ready
if busbar delete crash-pre "$old_handle" >/dev/null 2>&1; then
	expect 0 '"Messages":\[\]' -- busbar receive crash-pre --wait 4
else
	expect 0 before-restart -- busbar receive crash-pre --wait 4
	expect 0 '' -- busbar delete crash-pre "$(json_field '["Messages"][0]["ReceiptHandle"]' \
		<<<"$last_output")"
fi

start_crash_clients
crash_cycles "$kill_cycles" || ns_finish crash
finish_crash_run
check_worker_logs
ns_finish crash
