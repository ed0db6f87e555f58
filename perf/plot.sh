#!/usr/bin/env bash
# Plots one scenario run with gnuplot (Debian: gnuplot-nox): throughput over time of each
# system's closed-loop run (from the per-second progress lines on stderr) and the latency
# percentiles of every run (from the JSON result lines on stdout), as SVG files.
#   busbar-bench scenario perf/scenarios/NAME >RESULTS.jsonl 2>PROGRESS.log
#   perf/plot.sh RESULTS.jsonl PROGRESS.log OUT_DIR
# writes OUT_DIR/NAME-throughput.svg and OUT_DIR/NAME-latency.svg (NAME from the results).
set -euo pipefail
results=${1:?results (JSON lines)}
progress=${2:?progress (stderr of the run)}
out=${3:?output directory}
if ! command -v gnuplot >/dev/null; then
	echo "plot.sh: needs gnuplot (apt-get install gnuplot-nox)" >&2
	exit 1
fi
mkdir -p "$out"
data=$(mktemp -d /tmp/busbar-plot.XXXXXX)
trap 'rm -rf "$data"' EXIT

# JSON to gnuplot's columns: one throughput file per system, one latency table.
python3 - "$results" "$progress" "$data" <<'PY'
import json, sys
results, progress, data = sys.argv[1:4]
rows = [json.loads(l) for l in open(results) if l.startswith('{"system"')]
if not rows:
    sys.exit("plot.sh: no result lines in " + results)
name = rows[0].get("scenario", "run")
open(f"{data}/name", "w").write(name)
systems = []
with open(progress, errors="replace") as f:
    for line in f:
        if not line.startswith('{"progress"'):
            continue
        p = json.loads(line)
        if p["mode"] != "closed":
            continue
        if p["progress"] not in systems:
            systems.append(p["progress"])
        with open(f"{data}/tp-{systems.index(p['progress'])}", "a") as t:
            t.write(f"{p['t_s']} {p['requests_per_s']}\n")
open(f"{data}/systems", "w").write("\n".join(systems) + "\n")
with open(f"{data}/latency", "w") as t:
    t.write("run p50 p90 p99 p99.9 p99.99\n")
    for r in rows:
        label = r["system"] + (" open " + str(round(r["fraction_of_max"] * 100)) + "%"
                               if r["mode"] == "open" else " closed")
        label += f" r{r['round']}" if "round" in r else ""
        t.write('"%s" %s\n' % (label, " ".join(str(max(r[k], 0.1)) for k in
                ("p50_us", "p90_us", "p99_us", "p999_us", "p9999_us"))))
PY

name=$(cat "$data/name")
plots=""
i=0
while read -r system; do
	[ -n "$system" ] || continue
	plots="$plots${plots:+, }'$data/tp-$i' using 1:2 with linespoints title '$system'"
	i=$((i + 1))
done <"$data/systems"
if [ -n "$plots" ]; then
	gnuplot <<GP
set terminal svg size 900,500 dynamic
set output '$out/$name-throughput.svg'
set title '$name: replies per second, closed loop'
set xlabel 'second of the counted run'
set ylabel 'requests/s'
set yrange [0:*]
set key outside right
set grid
plot $plots
GP
fi

gnuplot <<GP
set terminal svg size 900,500 dynamic
set output '$out/$name-latency.svg'
set title '$name: latency percentiles (open loop: from the intended send time)'
set ylabel 'microseconds (log)'
set logscale y
set yrange [1:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set key outside right
set grid y
plot for [c=2:6] '$data/latency' using c:xtic(1) title columnheader
GP
echo "plot.sh: wrote $out/$name-latency.svg${plots:+ and $out/$name-throughput.svg}"
