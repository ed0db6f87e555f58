#!/usr/bin/env bash
# Crash through the wire, power loss (TESTING.md item 4). A SIGKILL keeps the page cache,
# so run_crash.sh cannot see a reply sent before its fdatasync; here, after every kill,
# powercut (tests/crash/powercut.c) cuts each worker's segments back to what the log's
# durable-marks file says was fdatasync'd, plus a seeded random part of the rest,
# sometimes garbling its last sector: what a power cut could have left. Otherwise as
# run_crash.sh: two workers, a UDP and a local-socket client, seeded kills (some during
# recovery), a drain after the last restart and the checker.
# busbard keeps worker i's durable marks in <state_dir>/log-<i>.marks (config
# log_durable_marks). BB_CRASH_EARLY_ACK=1 says busbard was built with
# -Dtest_ack_early=true (it answers before fdatasync, wrong on purpose): the test then
# passes only if the checker catches lost acknowledged messages, which shows it can see
# an early reply (tests/meson.build sets it in such a build).
# Takes the build and source directories; exits 77 (skipped) where lib.sh says.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$source_dir/tests/crash/crash_lib.sh"

kill_cycles=${BB_CRASH_CYCLES:-16}
early=${BB_CRASH_EARLY_ACK:-0}
if [ "$early" = 1 ]; then
	crash_expect_loss=1
	kill_cycles=${BB_CRASH_CYCLES:-6}
fi
cuts=0

# After each kill: both workers' segments as a power cut could have left them.
power_cut() {
	local i out
	for i in 0 1; do
		if [ ! -e "$work/state/log-$i.marks" ]; then
			# Killed before this worker opened its log: then it wrote nothing either.
			[ -z "$(find "$work/state/log-$i" -type f -size +0 2>/dev/null | head -1)" ] ||
				crash_fail "log-$i has segments and no durable marks"
			continue
		fi
		out=$("$build/tests/powercut" "$work/state/log-$i" "$work/state/log-$i.marks" \
			"$((seed + cuts))" 2>&1) || crash_fail "powercut on log-$i: $out"
		cuts=$((cuts + 1))
	done
}

BUSBARD_WORKERS=2
BUSBARD_EXTRA_JSON='"log_durable_marks": true,'
ns_setup
first_start_or_finish crash_power
start_control
create_crash_queues
start_crash_clients
crash_cycles "$kill_cycles" power_cut || ns_finish crash_power
finish_crash_run power_cut
echo "ok: $cuts power cuts"
if [ "$early" = 1 ]; then
	if [ "$crash_caught_loss" = 1 ]; then
		echo "ok: the early-acking busbard lost acknowledged messages and the checker saw it"
	else
		crash_fail "an early-acking busbard passed $kill_cycles power cuts unnoticed"
	fi
fi
ns_finish crash_power
