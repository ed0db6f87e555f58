#!/usr/bin/env bash
# Runs every scenario of perf/scenarios/ that busbar can run today, one after another,
# keeping each one's result lines and progress, and plots them. Scenarios that need what
# busbar lacks print why (exit 3) and are listed as such; their peers' rows, when they
# have peers, are kept and plotted. As root (af_packet needs a namespace; the peers'
# packages are installed by perf/setup_peers.sh, then busbar-bench is rebuilt with their
# client libraries). Writes machine.txt (date, nproc, CPU model, kernel, hugepages).
#   perf/run_scenarios.sh BUILD_DIR OUT_DIR [SCENARIO...]
set -uo pipefail
build=$(realpath "${1:?build directory}")
out=${2:?output directory}
shift 2
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
names=("$@")
if [ "${#names[@]}" -eq 0 ]; then
	names=(memif-ping memif-send-memory memif-cycle-memory afpacket-ping redis-durable
		rabbitmq-durable nats-durable memif-send-durable memif-cycle-durable memif-route
		memif-route-durable memif-sns-fanout peers-durable peers-cycle-durable)
fi
"$here/setup_peers.sh" || exit 1
# A build configured before the peers' client libraries were installed has no driver for them.
for peer in rabbitmq nats; do
	if "$build/perf/busbar-bench" "$peer" --op ping 2>&1 | grep -q 'built without'; then
		meson setup --reconfigure "$build" >/dev/null && meson compile -C "$build" busbar-bench \
			>/dev/null || exit 1
	fi
done
mkdir -p "$out"
{
	echo "date: $(date -u +%FT%TZ)"
	echo "nproc: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo
	echo "kernel: $(uname -r)"
	grep -E 'HugePages_(Total|Free)' /proc/meminfo
} >"$out/machine.txt"
# The routing scenarios' events and rules: ../shared/bench beside the source tree, the corpus
# generated once (seeded: the same bytes each time) where the scenario files name it.
shared_bench=$(realpath -m "$here/../../shared/bench")
corpus=/tmp/busbar-citylots/synthetic-citylots2.jlines
status=0
for name in "${names[@]}"; do
	echo "== $name"
	extra=()
	if [[ $name == memif-route* || $name == memif-sns-fanout ]]; then
		[ -r "$corpus" ] || python3 "$shared_bench/citylots_gen.py" "$(dirname "$corpus")" \
			20000 >/dev/null || { echo "$name: no corpus"; status=1; continue; }
		extra=(--corpus "$corpus" --rulesets "$shared_bench/citylots_rulesets.json")
	fi
	"$build/perf/busbar-bench" scenario "$here/scenarios/$name" "${extra[@]}" \
		>"$out/$name.jsonl" 2>"$out/$name.progress"
	rc=$?
	case $rc in
	0) "$here/plot.sh" "$out/$name.jsonl" "$out/$name.progress" "$out" ;;
	3)
		grep -m1 'not available' "$out/$name.progress"
		if grep -q '"system"' "$out/$name.jsonl"; then
			"$here/plot.sh" "$out/$name.jsonl" "$out/$name.progress" "$out"
		else
			rm -f "$out/$name.jsonl"
		fi
		;;
	*) echo "$name failed (exit $rc); see $out/$name.progress"; status=1 ;;
	esac
done
exit $status
