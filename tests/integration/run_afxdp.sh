#!/usr/bin/env bash
# busbard on net_af_xdp (issue 12): an XDP socket on one end of a veth pair in a namespace of
# its own, the kernel's UDP on the other end. The AF_XDP PMD makes busbard's frame pool its
# umem, whose chunks the kernel takes only up to a page: with jumbo frames the port never
# started ("Failed to create umem"). A ping, then sends and receives over UDP, one of them
# larger than the MTU (fragments both ways). Stops what it starts by PID.
# Takes the build and source directories; exits 77 (skipped) where lib.sh says, or when this
# kernel cannot make an XDP socket.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ns_setup
in_ns ip link add bbx0 type veth peer name bbx1 || { echo "skip: no veth"; exit 77; }
in_ns ip link set bbx0 up
in_ns ip link set bbx1 up
# The kernel leaves a veth's UDP checksums for the "hardware" to finish, and the XDP socket
# hands busbard the frame as it is, which busbard rightly drops: the kernel side finishes them.
in_ns ethtool -K bbx1 tx off >/dev/null || fail "ethtool -K bbx1 tx off"
# One queue: the PMD's default queue count and the veth's agree.
BUSBARD_VDEV="net_af_xdp0,iface=bbx0,start_queue=0,queue_count=1"
BUSBARD_IFACE=bbx1
start_busbard
if ! grep -q '^busbard: serving' "$work/busbard.log" &&
	grep -q 'Address family not supported' "$work/busbard.log"; then
	echo "skip: this kernel makes no XDP sockets"; cat "$work/busbard.log"; exit 77
fi
grep -q '^busbard: serving' "$work/busbard.log" || fail "busbard did not serve on net_af_xdp"
start_control

expect 0 '1 received' -- in_ns ping -c 1 -W 2 "$server"
expect 0 'QueueUrl' -- busbar create-queue xdp
wait_snapshot 1
expect 0 'MessageId' -- busbar send xdp "over an XDP socket"
expect 0 'over an XDP socket' -- busbar receive xdp
# 6,000 bytes travel both ways in five fragments of the 1,500-byte MTU, each in one frame.
big=$(head -c 6000 /dev/zero | tr '\0' 'x')
expect 0 'MessageId' -- busbar send xdp "$big"
expect 0 "$big" -- busbar receive xdp

ns_finish afxdp
