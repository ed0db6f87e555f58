/*
 * busbar-bench filters --corpus FILE (--rulesets FILE | --patterns FILE)
 *                      [--corpus-citylots FILE] [--verify N]
 *
 * Compiles each rule set (and each combo of sets) into one matcher, matches
 * every event of the corpus (one JSON object per line, held in memory) on one
 * core, and prints one JSON object per line: set, events, events_per_s,
 * counts (matches per pattern, in pattern order), compile_ms, memory_bytes.
 * events_per_s is flt_match: the full scan, validating every byte as it
 * matches, which is what an event entering the appliance costs (PutEvents
 * refuses malformed JSON). validated_events_per_s is flt_match_validated, for
 * an event validated before (it may stop early); strict_events_per_s is the
 * strict scan alone (flt_match without the block validator), the same answer
 * the slower way, timed in the same run. A first line, "(validation)", times
 * flt_validate over the corpus and the strict validator beside it. Rates are events per
 * second of the thread's CPU time (now_s); the ways compared in one line are timed in
 * turns over chunks of the corpus (CHUNK_EVENTS).
 * --verify N checks the counts over the first N events against the reference
 * interpreter of tests/filters (slow) and adds "verified" to the line.
 * --patterns takes one pattern per line (wildcard_gen.py's output).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flt.h"
#include "flt_int.h" /* the strict scan, timed beside the full one */
#include "ref.h"

#define PATTERNS_MAX 1024u

struct corpus {
	char *text;
	size_t *starts;
	size_t *lengths;
	size_t count;
};

/*
 * The thread's CPU time, not the wall clock: on a machine shared with other work (seven
 * engineers on two cores when these lines were written) a timed loop is descheduled for
 * longer than it runs, and only the time it ran says how fast it is. On an idle machine
 * the two agree.
 */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load_corpus(const char *path, struct corpus *c)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -errno;
	fseek(f, 0, SEEK_END);
	long bytes = ftell(f);
	fseek(f, 0, SEEK_SET);
	c->text = malloc((size_t)bytes + 1);
	if (c->text == NULL || fread(c->text, 1, (size_t)bytes, f) != (size_t)bytes) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	c->text[bytes] = '\n';
	size_t lines = 0;
	for (long i = 0; i <= bytes; i++)
		lines += c->text[i] == '\n';
	c->starts = malloc(lines * sizeof(size_t));
	c->lengths = malloc(lines * sizeof(size_t));
	size_t start = 0;
	for (long i = 0; i <= bytes; i++) {
		if (c->text[i] != '\n')
			continue;
		if ((size_t)i > start) {
			c->starts[c->count] = start;
			c->lengths[c->count++] = (size_t)i - start;
		}
		start = (size_t)i + 1;
	}
	return 0;
}

struct set {
	const char *name;
	uint32_t count;
	const char *patterns[PATTERNS_MAX];
};

/*
 * Asks for a later event's cache lines while this one is matched, as a burst
 * loop does with the packets of its burst (DPDK's rte_prefetch0): an event that
 * just arrived is in cache; one read back from a 200 MB corpus is not, and one
 * event ahead is too late to hide a memory access. Every line of the event: with
 * only the first four (until the fourth session), a set whose fields lie past
 * byte ~200 of an event that starts mid-line took a memory miss per event that
 * an event just received does not.
 */
#define PREFETCH_AHEAD 4

/* Always inlined: GCC 12 otherwise judges a function of nothing but prefetches free of
 * effects and drops the call. */
static inline __attribute__((always_inline)) void prefetch_event(const struct corpus *corpus,
                                                                 size_t e)
{
	if (e >= corpus->count)
		return;
	const char *event = corpus->text + corpus->starts[e];
	for (size_t at = 0; at < corpus->lengths[e]; at += 64)
		__builtin_prefetch(event + at);
	__builtin_prefetch(event + corpus->lengths[e] - 1);
}

/*
 * The three ways a set is timed run in turns over chunks of the corpus, the order turning
 * each chunk, so a slow spell of the shared machine falls on all three alike and their
 * ratios hold even when the absolute rates do not.
 */
#define CHUNK_EVENTS 4096u

enum mode { MODE_FULL, MODE_VALIDATED, MODE_STRICT, MODES };

static int match_mode(enum mode mode, const struct flt_matcher *m, struct flt_scratch *s,
                      const char *event, size_t bytes, uint32_t *ids)
{
	if (mode == MODE_FULL)
		return flt_match(m, s, event, bytes, ids, PATTERNS_MAX);
	if (mode == MODE_VALIDATED)
		return flt_match_validated(m, s, event, bytes, ids, PATTERNS_MAX);
	return flt_match_strict(m, s, event, bytes, ids, PATTERNS_MAX);
}

static void run_set(const struct set *set, const struct corpus *corpus, size_t verify)
{
	struct flt_limits limits;
	flt_limits_default(&limits);
	limits.rules_max = PATTERNS_MAX;
	limits.pattern_bytes_max = 4096;
	double t0 = now_s();
	struct flt_compiler *c = flt_compiler_new(&limits);
	char error[256];
	for (uint32_t i = 0; i < set->count; i++) {
		if (flt_add_rule(c, i, set->patterns[i], strlen(set->patterns[i]), error,
		                 sizeof(error)) != 0) {
			printf("{\"set\":\"%s\",\"error\":\"pattern %u: %s\"}\n", set->name, i,
			       error);
			flt_compiler_free(c);
			return;
		}
	}
	struct flt_matcher *m = flt_compile(c);
	double compile_ms = (now_s() - t0) * 1000;
	struct flt_scratch *s = flt_scratch_new(m);
	static uint64_t counts[PATTERNS_MAX];
	memset(counts, 0, sizeof(counts));
	uint32_t ids[PATTERNS_MAX];
	uint64_t errors = 0;
	double seconds[MODES] = {0};
	uint64_t matches[MODES] = {0}, total_matches = 0;
	for (size_t first = 0, chunk = 0; first < corpus->count; first += CHUNK_EVENTS, chunk++) {
		size_t last = first + CHUNK_EVENTS < corpus->count ? first + CHUNK_EVENTS
		                                                   : corpus->count;
		for (unsigned turn = 0; turn < MODES; turn++) {
			enum mode mode = (enum mode)((chunk + turn) % MODES);
			double t = now_s();
			for (size_t e = first; e < last; e++) {
				prefetch_event(corpus, e + PREFETCH_AHEAD);
				int n = match_mode(mode, m, s, corpus->text + corpus->starts[e],
				                   corpus->lengths[e], ids);
				matches[mode] += n > 0 ? (uint64_t)n : 0;
				if (mode != MODE_FULL)
					continue;
				errors += n < 0;
				for (int k = 0; k < n; k++)
					counts[ids[k]]++;
			}
			seconds[mode] += now_s() - t;
		}
	}
	for (uint32_t i = 0; i < set->count; i++)
		total_matches += counts[i];
	bool verified = true;
	size_t checked = verify < corpus->count ? verify : corpus->count;
	for (uint32_t i = 0; i < set->count && checked > 0; i++) {
		uint64_t mine = 0, theirs = 0;
		for (size_t e = 0; e < checked; e++) {
			const char *event = corpus->text + corpus->starts[e];
			int n = flt_match(m, s, event, corpus->lengths[e], ids, PATTERNS_MAX);
			for (int k = 0; k < n; k++)
				mine += ids[k] == i;
			theirs += ref_match(set->patterns[i], strlen(set->patterns[i]), event,
			                    corpus->lengths[e]) == 1;
		}
		verified = verified && mine == theirs;
	}
	printf("{\"set\":\"%s\",\"events\":%zu,\"events_per_s\":%.0f,\"counts\":[", set->name,
	       corpus->count, (double)corpus->count / seconds[MODE_FULL]);
	for (uint32_t i = 0; i < set->count; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)counts[i]);
	printf("],\"compile_ms\":%.3f,\"memory_bytes\":%zu,\"errors\":%llu", compile_ms,
	       flt_matcher_bytes(m), (unsigned long long)errors);
	printf(",\"validated_events_per_s\":%.0f,\"validated_agrees\":%s",
	       (double)corpus->count / seconds[MODE_VALIDATED],
	       matches[MODE_VALIDATED] == total_matches ? "true" : "false");
	printf(",\"strict_events_per_s\":%.0f,\"strict_agrees\":%s",
	       (double)corpus->count / seconds[MODE_STRICT],
	       matches[MODE_STRICT] == total_matches ? "true" : "false");
	if (checked > 0)
		printf(",\"verified_events\":%zu,\"verified\":%s", checked,
		       verified ? "true" : "false");
	printf("}\n");
	fflush(stdout);
	flt_scratch_free(s);
	flt_matcher_free(m);
	flt_compiler_free(c);
}

/* Events first to last validated, by flt_validate or by the strict validator: how many
 * are invalid. */
static uint64_t validate_chunk(const struct flt_matcher *m, struct flt_scratch *s,
                               const struct corpus *corpus, size_t first, size_t last,
                               bool strict)
{
	uint64_t invalid = 0;
	for (size_t e = first; e < last; e++) {
		prefetch_event(corpus, e + PREFETCH_AHEAD);
		const char *event = corpus->text + corpus->starts[e];
		if (strict)
			invalid += flt_validate_strict(m, s, event, corpus->lengths[e]) != 0;
		else
			invalid += flt_validate(m, s, event, corpus->lengths[e]) != 0;
	}
	return invalid;
}

/* Times flt_validate over the corpus (the once-per-event cost at ingestion), and the strict
 * validator alone beside it. */
static void validate_corpus(const struct corpus *corpus)
{
	struct flt_limits limits;
	flt_limits_default(&limits);
	struct flt_compiler *c = flt_compiler_new(&limits);
	struct flt_matcher *m = flt_compile(c);
	struct flt_scratch *s = flt_scratch_new(m);
	uint64_t invalid = 0, strict_invalid = 0, bytes = 0;
	double seconds = 0, strict_seconds = 0;
	for (size_t first = 0, chunk = 0; first < corpus->count; first += CHUNK_EVENTS, chunk++) {
		size_t last = first + CHUNK_EVENTS < corpus->count ? first + CHUNK_EVENTS
		                                                   : corpus->count;
		for (unsigned turn = 0; turn < 2; turn++) {
			bool strict = (chunk + turn) % 2 == 1;
			double t = now_s();
			*(strict ? &strict_invalid : &invalid) +=
			    validate_chunk(m, s, corpus, first, last, strict);
			*(strict ? &strict_seconds : &seconds) += now_s() - t;
		}
	}
	for (size_t e = 0; e < corpus->count; e++)
		bytes += corpus->lengths[e];
	printf("{\"set\":\"(validation)\",\"events\":%zu,\"events_per_s\":%.0f,"
	       "\"bytes_per_s\":%.0f,\"invalid\":%llu,\"strict_events_per_s\":%.0f,"
	       "\"strict_invalid\":%llu}\n",
	       corpus->count, (double)corpus->count / seconds, (double)bytes / seconds,
	       (unsigned long long)invalid, (double)corpus->count / strict_seconds,
	       (unsigned long long)strict_invalid);
	flt_scratch_free(s);
	flt_matcher_free(m);
	flt_compiler_free(c);
}

static const struct corpus *corpus_for(const char *layout, const struct corpus *main_corpus,
                                       const struct corpus *citylots)
{
	if (layout != NULL && strcmp(layout, "citylots") == 0)
		return citylots->count > 0 ? citylots : NULL;
	return main_corpus;
}

static void add_patterns(struct set *set, json_t *list)
{
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		if (set->count < PATTERNS_MAX)
			set->patterns[set->count++] = json_string_value(p);
	}
}

static int run_rulesets(const char *path, const struct corpus *corpus,
                        const struct corpus *citylots, size_t verify)
{
	json_error_t error;
	json_t *root = json_load_file(path, 0, &error);
	if (root == NULL) {
		fprintf(stderr, "busbar-bench: %s: %s\n", path, error.text);
		return 1;
	}
	json_t *sets = json_object_get(root, "sets"), *layouts = json_object_get(root, "layout");
	const char *name;
	json_t *list;
	static struct set set;
	json_object_foreach(sets, name, list)
	{
		const char *layout = json_string_value(json_object_get(layouts, name));
		const struct corpus *c = corpus_for(layout, corpus, citylots);
		if (c == NULL) {
			printf("{\"set\":\"%s\",\"skipped\":\"needs --corpus-citylots (%s "
			       "layout)\"}\n",
			       name, layout);
			continue;
		}
		set = (struct set){.name = name};
		add_patterns(&set, list);
		run_set(&set, c, verify);
	}
	json_object_foreach(json_object_get(root, "combos"), name, list)
	{
		set = (struct set){.name = name};
		size_t i;
		json_t *member;
		json_array_foreach(list, i, member)
		    add_patterns(&set, json_object_get(sets, json_string_value(member)));
		run_set(&set, corpus, verify);
	}
	json_decref(root);
	return 0;
}

static int run_pattern_file(const char *path, const struct corpus *corpus, size_t verify)
{
	static struct corpus lines;
	int rc = load_corpus(path, &lines);
	if (rc != 0)
		return 1;
	static struct set set;
	const char *slash = strrchr(path, '/');
	set = (struct set){.name = slash ? slash + 1 : path};
	for (size_t i = 0; i < lines.count && set.count < PATTERNS_MAX; i++) {
		lines.text[lines.starts[i] + lines.lengths[i]] = '\0';
		set.patterns[set.count++] = lines.text + lines.starts[i];
	}
	if (lines.count > PATTERNS_MAX)
		fprintf(stderr, "busbar-bench: only the first %u patterns\n", PATTERNS_MAX);
	run_set(&set, corpus, verify);
	return 0;
}

int bench_filters(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"corpus", required_argument, NULL, 'c'},
	    {"corpus-citylots", required_argument, NULL, 'C'},
	    {"rulesets", required_argument, NULL, 'r'},
	    {"patterns", required_argument, NULL, 'p'},
	    {"verify", required_argument, NULL, 'v'},
	    {"events", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	const char *corpus_path = NULL, *citylots_path = NULL, *rulesets = NULL, *patterns = NULL;
	size_t verify = 0, events_max = SIZE_MAX;
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 'c': corpus_path = optarg; break;
		case 'C': citylots_path = optarg; break;
		case 'r': rulesets = optarg; break;
		case 'p': patterns = optarg; break;
		case 'v': verify = (size_t)atol(optarg); break;
		case 'n': events_max = (size_t)atol(optarg); break;
		default: return 2;
		}
	}
	if (corpus_path == NULL || (rulesets == NULL) == (patterns == NULL)) {
		fprintf(stderr,
		        "usage: busbar-bench filters --corpus FILE (--rulesets FILE | "
		        "--patterns FILE) [--corpus-citylots FILE] [--verify N] [--events N]\n");
		return 2;
	}
	static struct corpus corpus, citylots;
	if (load_corpus(corpus_path, &corpus) != 0 ||
	    (citylots_path && load_corpus(citylots_path, &citylots) != 0)) {
		fprintf(stderr, "busbar-bench: cannot read the corpus\n");
		return 1;
	}
	if (corpus.count > events_max)
		corpus.count = events_max;
	validate_corpus(&corpus);
	if (citylots.count > events_max)
		citylots.count = events_max;
	return rulesets ? run_rulesets(rulesets, &corpus, &citylots, verify)
	                : run_pattern_file(patterns, &corpus, verify);
}
