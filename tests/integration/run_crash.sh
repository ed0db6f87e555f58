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

# About 24 kills and 6 more during recovery in 2-3 minutes on this 2-core machine.
kill_cycles=${BB_CRASH_CYCLES:-24}

BUSBARD_WORKERS=2
ns_setup
first_start_or_finish crash
start_control
create_crash_queues
start_crash_clients
crash_cycles "$kill_cycles" || ns_finish crash
finish_crash_run
check_worker_logs
ns_finish crash
