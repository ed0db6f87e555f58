/*
 * `busbar-bench scenario FILE`: runs one benchmark described by a file in
 * perf/scenarios/ (bench_scenario.c; perf/README.md documents the keys).
 */
#ifndef BB_BENCH_SCENARIO_H
#define BB_BENCH_SCENARIO_H

/* Exit status: 0 done; 1 a run failed (or --check found a lost reply); 2 usage or a bad
 * file; 3 the scenario needs a feature busbar does not have yet (no figure is printed). */
int bench_scenario_main(int argc, char **argv);

#endif
