#!/usr/bin/env bash
# Full disk: busbard's state directory on a small ext4 file system (an image on a loop
# device, mounted in this test's own mount namespace, so nothing outside sees it), with
# 2 MiB log segments (the least a 2 MiB commit batch fits in). Not tmpfs: it has no
# FALLOC_FL_ZERO_RANGE, with which recovery cuts a torn tail, so busbard cannot restart
# on it. The client sends (and never deletes, so the log only grows) until the disk is
# filled by another file; then each send must get a clear error (a status and a message
# that names the disk space), never an acknowledgement of a record that is not on disk;
# once the file is gone, sends are acknowledged again without a restart. Then a SIGKILL,
# a restart from the log, a drain and the crash checker: nothing acknowledged lost.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says, or when
# the machine cannot give the test a mount namespace or a loop device.
set -uo pipefail

# A mount namespace of our own, private: the file system mounted in it goes with us.
if [ -z "${BB_FULL_DISK_MOUNT_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "skip: needs root for a mount namespace"; exit 77; }
	unshare --mount --propagation private true 2>/dev/null ||
		{ echo "skip: no mount namespace here"; exit 77; }
	BB_FULL_DISK_MOUNT_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$source_dir/tests/crash/crash_lib.sh"

# Room for the snapshot, the segment being written, the spare the log prepares, and the
# file system's own blocks.
state_mib=16
queue=disk-q
# Bodies of 8 KB fill a 2 MiB segment in about 250 sends.
filler_bytes=8000

full_disk_cleanup() {
	for pid in $udp_client_pid $local_client_pid; do kill -9 "$pid" 2>/dev/null; done
	[ -n "$busbard_pid" ] && kill_busbard
	umount "$work/state" 2>/dev/null # the loop device goes with it (autoclear)
	cleanup
}
trap full_disk_cleanup EXIT

# fill_disk: takes every free byte of the file system with $work/state/filler.
fill_disk() {
	dd if=/dev/zero of="$work/state/filler" bs=64k status=none 2>/dev/null
	local free
	free=$(df --output=avail -B1 "$work/state" | tail -1 | tr -d ' ')
	[ "$free" -lt 65536 ] || fail "the disk still has $free bytes free after the filler"
}

# send_phase COUNT [ARGS...]: the crash client's send of queue $queue up to COUNT messages.
send_phase() {
	local count=$1
	shift
	in_ns "$crash_client" send --server "$server" --queues "$queue" --seed "$seed" \
		--log "$work/disk.log" --count "$count" --filler-bytes "$filler_bytes" \
		--send-only --run-seconds 60 "$@" 2>&1
}

ns_setup
truncate -s "${state_mib}M" "$work/disk.img"
if ! mkfs.ext4 -q -F -m 0 "$work/disk.img"; then
	fail "mkfs.ext4 on $work/disk.img"
	ns_finish full_disk
fi
mount -o loop "$work/disk.img" "$work/state" || { echo "skip: no loop device"; exit 77; }
BUSBARD_EXTRA_JSON='"log_segment_mib": 2,'
first_start_or_finish full_disk
start_control
expect 0 "$queue" -- busbar create-queue "$queue"
expect 0 "$queue-cli" -- busbar create-queue "$queue-cli"

expect 0 'sends acknowledged' -- send_phase 200
fill_disk
# Sends go on until the segment and the spare the log took before the filler are full;
# then the first refusal stops the client (--error-exit) and prints status and message.
# That first one may be the log's "busy; retry" (the next segment is still being tried).
out=$(send_phase 60000 --error-exit)
rc=$?
echo "$out"
[ "$rc" -eq 3 ] || crash_fail "a send on a full disk was not refused (exit $rc)"
# The busbard command's sends, to a queue of their own (the checker of $queue must not meet
# them), are refused too, naming the disk, within a bounded number: the file system may
# still find a little room (a segment's tail, blocks ext4 had reserved), which is right.
large_body=$(head -c $((filler_bytes + 2048)) /dev/zero | tr '\0' x)
refused=""
for _ in $(seq 40); do
	out=$(busbar send "$queue-cli" "$large_body" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && continue
	refused=$out
	break
done
if [ -z "$refused" ] || [ "$rc" -ne 1 ] || ! grep -qiE '(space|disk|full)' <<<"$refused"; then
	crash_fail "a send on a full disk: exit $rc (wanted 1 and the disk named): $out"
else
	echo "ok: a send on a full disk is refused: $refused"
fi

rm -f "$work/state/filler"
# Space is back: the very next sends are acknowledged, busbard was not restarted.
acked_before=$(grep -c '^S' "$work/disk.log")
next_counter=$(awk '$1 == "S" || $1 == "F" { if ($3 >= n) n = $3 + 1 } END { print n + 0 }' \
	"$work/disk.log")
expect 0 'sends acknowledged' -- send_phase $((next_counter + 300))
acked_after=$(grep -c '^S' "$work/disk.log")
[ "$acked_after" -ge $((acked_before + 300)) ] ||
	crash_fail "only $((acked_after - acked_before)) sends acknowledged after space returned"
kill -0 "$busbard_pid" 2>/dev/null || crash_fail "busbard did not survive the full disk"

# Everything acknowledged, before, during and after, comes back from the log.
kill_busbard
launch_busbard
wait_busbard_ready && drain_and_check disk "$queue" --server "$server"
ns_finish full_disk
