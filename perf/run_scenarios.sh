#!/usr/bin/env bash
# Runs every scenario of perf/scenarios/ that busbar can run today, one after another,
# keeping each one's result lines and progress, and plots them. Scenarios that need what
# busbar lacks print why (exit 3) and are listed as such. As root (af_packet needs a
# namespace). For perf/RESULTS.md: record `nproc`, the CPU model and the date beside it.
#   perf/run_scenarios.sh BUILD_DIR OUT_DIR [SCENARIO...]
set -uo pipefail
build=$(realpath "${1:?build directory}")
out=${2:?output directory}
shift 2
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
names=("$@")
if [ "${#names[@]}" -eq 0 ]; then
	names=(memif-ping memif-send-memory memif-cycle-memory afpacket-ping redis-durable
		memif-send-durable memif-cycle-durable memif-route peers-durable)
fi
mkdir -p "$out"
{
	echo "date: $(date -u +%FT%TZ)"
	echo "nproc: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo
	echo "kernel: $(uname -r)"
	grep -E 'HugePages_(Total|Free)' /proc/meminfo
} >"$out/machine.txt"
status=0
for name in "${names[@]}"; do
	echo "== $name"
	"$build/perf/busbar-bench" scenario "$here/scenarios/$name" >"$out/$name.jsonl" \
		2>"$out/$name.progress"
	rc=$?
	case $rc in
	0) "$here/plot.sh" "$out/$name.jsonl" "$out/$name.progress" "$out" ;;
	3) grep 'not available' "$out/$name.progress"; rm -f "$out/$name.jsonl" ;;
	*) echo "$name failed (exit $rc); see $out/$name.progress"; status=1 ;;
	esac
done
exit $status
