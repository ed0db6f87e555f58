/*
 * The pattern language, operator by operator, with AWS's documentation
 * examples and the edge cases (null vs missing vs empty, arrays of objects,
 * numbers written differently, unicode escapes, nesting limits). Every case
 * runs through the compiled matcher AND the reference interpreter, and both
 * must give the expected answer.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flt.h"
#include "ref.h"

struct example {
	const char *pattern;
	const char *event;
	bool match;
};

/* One rule compiled alone, and a scratch to match with. */
struct one_rule {
	struct flt_compiler *compiler;
	struct flt_matcher *matcher;
	struct flt_scratch *scratch;
};

static struct one_rule compile_one(uint32_t id, const char *pattern)
{
	struct flt_limits limits;
	flt_limits_default(&limits);
	struct one_rule r = {.compiler = flt_compiler_new(&limits)};
	char error[256];
	cr_assert_eq(flt_add_rule(r.compiler, id, pattern, strlen(pattern), error, sizeof(error)),
	             0, "%s: %s", pattern, error);
	r.matcher = flt_compile(r.compiler);
	r.scratch = flt_scratch_new(r.matcher);
	return r;
}

static void free_one(struct one_rule *r)
{
	flt_scratch_free(r->scratch);
	flt_matcher_free(r->matcher);
	flt_compiler_free(r->compiler);
}

static void check(const struct example *e)
{
	struct one_rule rule = compile_one(7, e->pattern);
	struct flt_matcher *m = rule.matcher;
	struct flt_scratch *s = rule.scratch;
	uint32_t ids[4];
	int got = flt_match(m, s, e->event, strlen(e->event), ids, 4);
	cr_assert_eq(got, e->match ? 1 : 0, "matcher: %s on %s gave %d", e->pattern, e->event, got);
	if (got == 1)
		cr_assert_eq(ids[0], 7);
	/* Validated once, then matched with early stop: the same answer. */
	cr_assert_eq(flt_validate(m, s, e->event, strlen(e->event)), 0);
	cr_assert_eq(flt_match_validated(m, s, e->event, strlen(e->event), ids, 4), got,
	             "early stop: %s on %s", e->pattern, e->event);
	int ref = ref_match(e->pattern, strlen(e->pattern), e->event, strlen(e->event));
	cr_assert_eq(ref, e->match ? 1 : 0, "reference: %s on %s gave %d", e->pattern, e->event,
	             ref);
	free_one(&rule);
}

static void check_all(const struct example *examples, size_t count)
{
	for (size_t i = 0; i < count; i++)
		check(&examples[i]);
}

#define CHECK_ALL(table) check_all(table, sizeof(table) / sizeof(table[0]))

Test(patterns, exact_values_and_and_or)
{
	static const struct example t[] = {
	    {"{\"source\":[\"aws.ec2\"]}", "{\"source\":\"aws.ec2\"}", true},
	    {"{\"source\":[\"aws.ec2\"]}", "{\"source\":\"aws.s3\"}", false},
	    {"{\"source\":[\"aws.ec2\"]}", "{\"source\":\"AWS.EC2\"}", false},
	    {"{\"detail\":{\"state\":[\"running\",\"stopped\"]}}",
	     "{\"detail\":{\"state\":\"stopped\"}}", true},
	    {"{\"source\":[\"aws.ec2\"],\"detail-type\":[\"EC2 Instance State-change "
	     "Notification\"]}",
	     "{\"source\":\"aws.ec2\",\"detail-type\":\"EC2 Instance State-change Notification\"}",
	     true},
	    {"{\"source\":[\"aws.ec2\"],\"detail-type\":[\"x\"]}", "{\"source\":\"aws.ec2\"}",
	     false},
	    {"{\"a\":[true]}", "{\"a\":true}", true},
	    {"{\"a\":[true]}", "{\"a\":\"true\"}", false},
	    {"{\"a\":[5]}", "{\"a\":5}", true},
	    {"{\"a\":[5]}", "{\"a\":5.0}", true}, /* numbers compare by value: docs/patterns.md */
	    {"{\"a\":[5]}", "{\"a\":5e0}", true},
	    {"{\"a\":[5]}", "{\"a\":\"5\"}", false},
	    {"{\"a\":[\"5\"]}", "{\"a\":5}", false},
	};
	CHECK_ALL(t);
}

Test(patterns, null_empty_and_missing_are_different)
{
	static const struct example t[] = {
	    {"{\"a\":[null]}", "{\"a\":null}", true},  {"{\"a\":[null]}", "{\"a\":\"\"}", false},
	    {"{\"a\":[null]}", "{}", false},           {"{\"a\":[\"\"]}", "{\"a\":\"\"}", true},
	    {"{\"a\":[\"\"]}", "{\"a\":null}", false}, {"{\"a\":[\"\"]}", "{\"b\":\"\"}", false},
	};
	CHECK_ALL(t);
}

Test(patterns, prefix_suffix_and_ignore_case)
{
	static const struct example t[] = {
	    {"{\"time\":[{\"prefix\":\"2017-10-02\"}]}", "{\"time\":\"2017-10-02T18:43:48Z\"}",
	     true},
	    {"{\"time\":[{\"prefix\":\"2017-10-02\"}]}", "{\"time\":\"2017-10-03T18:43:48Z\"}",
	     false},
	    {"{\"a\":[{\"prefix\":\"1\"}]}", "{\"a\":123}", false},
	    {"{\"a\":[{\"prefix\":{\"equals-ignore-case\":\"EventB\"}}]}",
	     "{\"a\":\"eventbridge\"}", true},
	    {"{\"FileName\":[{\"suffix\":\".png\"}]}", "{\"FileName\":\"image.png\"}", true},
	    {"{\"FileName\":[{\"suffix\":\".png\"}]}", "{\"FileName\":\"image.PNG\"}", false},
	    {"{\"FileName\":[{\"suffix\":{\"equals-ignore-case\":\".png\"}}]}",
	     "{\"FileName\":\"image.PNG\"}", true},
	    {"{\"name\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"name\":\"ALICE\"}", true},
	    {"{\"name\":[{\"equals-ignore-case\":\"alice\"}]}", "{\"name\":\"Alicia\"}", false},
	    {"{\"a\":[{\"prefix\":\"\"}]}", "{\"a\":\"anything\"}", true},
	};
	CHECK_ALL(t);
}

Test(patterns, wildcards)
{
	static const struct example t[] = {
	    {"{\"f\":[{\"wildcard\":\"dir/*.png\"}]}", "{\"f\":\"dir/a.png\"}", true},
	    {"{\"f\":[{\"wildcard\":\"dir/*.png\"}]}", "{\"f\":\"dir/a/b.png\"}", true},
	    {"{\"f\":[{\"wildcard\":\"dir/*.png\"}]}", "{\"f\":\"dir/a.jpg\"}", false},
	    {"{\"f\":[{\"wildcard\":\"*XYZ*\"}]}", "{\"f\":\"abXYZcd\"}", true},
	    {"{\"f\":[{\"wildcard\":\"*XYZ*\"}]}", "{\"f\":\"XY\"}", false},
	    {"{\"f\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"f\":\"a*b\"}", true},
	    {"{\"f\":[{\"wildcard\":\"a\\\\*b\"}]}", "{\"f\":\"axb\"}", false},
	    {"{\"f\":[{\"wildcard\":\"a*b*c\"}]}", "{\"f\":\"aXbYbZc\"}", true},
	    {"{\"f\":[{\"wildcard\":\"*\"}]}", "{\"f\":\"\"}", true},
	};
	CHECK_ALL(t);
}

Test(patterns, anything_but_forms)
{
	static const struct example t[] = {
	    {"{\"state\":[{\"anything-but\":\"initializing\"}]}", "{\"state\":\"running\"}", true},
	    {"{\"state\":[{\"anything-but\":\"initializing\"}]}", "{\"state\":\"initializing\"}",
	     false},
	    {"{\"state\":[{\"anything-but\":\"initializing\"}]}", "{}", false},
	    {"{\"state\":[{\"anything-but\":[\"stopped\",\"overloaded\"]}]}",
	     "{\"state\":\"stopped\"}", false},
	    {"{\"x\":[{\"anything-but\":[100,200]}]}", "{\"x\":300}", true},
	    {"{\"x\":[{\"anything-but\":[100,200]}]}", "{\"x\":100}", false},
	    {"{\"s\":[{\"anything-but\":{\"prefix\":\"init\"}}]}", "{\"s\":\"running\"}", true},
	    {"{\"s\":[{\"anything-but\":{\"prefix\":\"init\"}}]}", "{\"s\":\"initializing\"}",
	     false},
	    {"{\"s\":[{\"anything-but\":{\"suffix\":\".txt\"}}]}", "{\"s\":\"a.txt\"}", false},
	    {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"Stopped\"]}}]}",
	     "{\"s\":\"STOPPED\"}", false},
	    {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"Stopped\"]}}]}",
	     "{\"s\":\"running\"}", true},
	    {"{\"s\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"s\":\"/usr/lib/x\"}",
	     false},
	    {"{\"s\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"s\":\"/usr/bin/x\"}",
	     true},
	    /* An array matches when any element does. */
	    {"{\"s\":[{\"anything-but\":\"a\"}]}", "{\"s\":[\"a\",\"b\"]}", true},
	};
	CHECK_ALL(t);
}

/*
 * AWS matches every anything-but form against a null: null is "anything but X".
 * Event-ruler (EventBridge's engine) compares values as JSON text, where only a
 * string has quotes, and its prefix, suffix, ignore-case and wildcard operands
 * all begin or end with one: no null, true, false or number can be excluded by
 * them. A missing field matches no form, nor does one holding an object or [].
 */
Test(patterns, anything_but_every_form_matches_null_as_aws_does)
{
	static const struct example t[] = {
	    /* The case, as a new user would try it. */
	    {"{\"detail\":{\"state\":[{\"anything-but\":{\"prefix\":\"o\"}}]}}",
	     "{\"detail\":{\"state\":null}}", true},
	    {"{\"detail\":{\"state\":[{\"anything-but\":{\"prefix\":\"o\"}}]}}",
	     "{\"detail\":{\"state\":\"ok\"}}", false},
	    {"{\"detail\":{\"state\":[{\"anything-but\":{\"prefix\":\"o\"}}]}}", "{\"detail\":{}}",
	     false},
	    {"{\"s\":[{\"anything-but\":{\"suffix\":\".txt\"}}]}", "{\"s\":null}", true},
	    {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":[\"Stopped\"]}}]}", "{\"s\":null}",
	     true},
	    {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":\"null\"}}]}", "{\"s\":null}", true},
	    {"{\"s\":[{\"anything-but\":{\"wildcard\":\"*/lib/*\"}}]}", "{\"s\":null}", true},
	    {"{\"s\":[{\"anything-but\":{\"wildcard\":\"*\"}}]}", "{\"s\":null}", true},
	    {"{\"s\":[{\"anything-but\":{\"wildcard\":\"*\"}}]}", "{\"s\":\"\"}", false},
	    /* The value forms already did. */
	    {"{\"s\":[{\"anything-but\":[\"ok\"]}]}", "{\"s\":null}", true},
	    {"{\"s\":[{\"anything-but\":\"ok\"}]}", "{\"s\":null}", true},
	    {"{\"s\":[{\"anything-but\":[100,200]}]}", "{\"s\":null}", true},
	    /* Missing, an object, an empty array: no leaf, no match, for every form. */
	    {"{\"s\":[{\"anything-but\":{\"suffix\":\".txt\"}}]}", "{}", false},
	    {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":\"x\"}}]}", "{\"s\":{}}", false},
	    {"{\"s\":[{\"anything-but\":{\"wildcard\":\"x*\"}}]}", "{\"s\":[]}", false},
	    /* In an array, the null element is the one not excluded. */
	    {"{\"s\":[{\"anything-but\":{\"prefix\":\"o\"}}]}", "{\"s\":[\"ok\",null]}", true},
	    {"{\"s\":[{\"anything-but\":{\"prefix\":\"o\"}}]}", "{\"s\":[\"ok\",\"on\"]}", false},
	    /* The other non-strings, for the same reason. */
	    {"{\"s\":[{\"anything-but\":{\"prefix\":\"t\"}}]}", "{\"s\":true}", true},
	    {"{\"s\":[{\"anything-but\":{\"suffix\":\"e\"}}]}", "{\"s\":false}", true},
	    {"{\"s\":[{\"anything-but\":{\"prefix\":\"1\"}}]}", "{\"s\":12}", true},
	    {"{\"s\":[{\"anything-but\":{\"wildcard\":\"1*\"}}]}", "{\"s\":1.5}", true},
	    {"{\"s\":[{\"anything-but\":{\"equals-ignore-case\":\"TRUE\"}}]}", "{\"s\":true}",
	     true},
	};
	CHECK_ALL(t);
}

/* Null against every other operator (AWS: null matches [null] and exists:true only). */
Test(patterns, null_against_every_other_operator)
{
	static const struct example t[] = {
	    {"{\"a\":[null]}", "{\"a\":null}", true},
	    {"{\"a\":[\"null\"]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"prefix\":\"n\"}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"prefix\":\"\"}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"prefix\":{\"equals-ignore-case\":\"N\"}}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"suffix\":\"l\"}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"suffix\":{\"equals-ignore-case\":\"L\"}}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"equals-ignore-case\":\"NULL\"}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"wildcard\":\"*\"}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"numeric\":[\">=\",0]}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"cidr\":\"0.0.0.0/0\"}]}", "{\"a\":null}", false},
	    {"{\"a\":[{\"exists\":true}]}", "{\"a\":null}", true},
	    {"{\"a\":[{\"exists\":false}]}", "{\"a\":null}", false},
	};
	CHECK_ALL(t);
}

Test(patterns, numeric_ranges)
{
	static const struct example t[] = {
	    {"{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":5}", true},
	    {"{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":0}", false},
	    {"{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":5.000001}", false},
	    {"{\"c\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", "{\"c\":\"3\"}", false},
	    {"{\"c\":[{\"numeric\":[\"=\",3.0e2]}]}", "{\"c\":300}", true},
	    {"{\"c\":[{\"numeric\":[\"<\",10]}]}", "{\"c\":-1e9}", true},
	    {"{\"c\":[{\"numeric\":[\">=\",1.5]}]}", "{\"c\":[0,1,2]}", true},
	};
	CHECK_ALL(t);
}

Test(patterns, exists_on_leaves_only)
{
	static const struct example t[] = {
	    {"{\"a\":[{\"exists\":true}]}", "{\"a\":1}", true},
	    {"{\"a\":[{\"exists\":true}]}", "{\"a\":null}", true},
	    {"{\"a\":[{\"exists\":true}]}", "{}", false},
	    {"{\"a\":[{\"exists\":true}]}", "{\"a\":{\"b\":1}}", false},
	    {"{\"a\":[{\"exists\":true}]}", "{\"a\":[]}", false},
	    {"{\"a\":[{\"exists\":false}]}", "{}", true},
	    {"{\"a\":[{\"exists\":false}]}", "{\"a\":1}", false},
	    {"{\"a\":[{\"exists\":false}]}", "{\"a\":{\"b\":1}}", true},
	    {"{\"a\":[{\"exists\":false}]}", "{\"a\":[]}", true},
	    {"{\"a\":[\"x\",{\"exists\":false}]}", "{\"a\":\"x\"}", true},
	    {"{\"a\":[\"x\",{\"exists\":false}]}", "{}", true},
	    {"{\"a\":[\"x\",{\"exists\":false}]}", "{\"a\":\"y\"}", false},
	};
	CHECK_ALL(t);
}

Test(patterns, cidr_v4_and_v6)
{
	static const struct example t[] = {
	    {"{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"10.0.0.255\"}", true},
	    {"{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"10.0.1.1\"}", false},
	    {"{\"ip\":[{\"cidr\":\"10.0.0.0/24\"}]}", "{\"ip\":\"not an address\"}", false},
	    {"{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"ip\":\"2001:db8::1\"}", true},
	    {"{\"ip\":[{\"cidr\":\"2001:db8::/32\"}]}", "{\"ip\":\"2001:db9::1\"}", false},
	};
	CHECK_ALL(t);
}

Test(patterns, or_and_nesting_and_arrays)
{
	static const struct example t[] = {
	    {"{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"a\":1}", true},
	    {"{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"b\":2}", true},
	    {"{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"a\":2}", false},
	    {"{\"c\":[\"x\"],\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"c\":\"x\",\"b\":2}", true},
	    {"{\"c\":[\"x\"],\"$or\":[{\"a\":[1]},{\"b\":[2]}]}", "{\"b\":2}", false},
	    {"{\"d\":{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}}", "{\"d\":{\"b\":2}}", true},
	    {"{\"detail\":{\"ids\":[3]}}", "{\"detail\":{\"ids\":[1,2,3]}}", true},
	    {"{\"a\":{\"b\":[2]}}", "{\"a\":[{\"b\":1},{\"b\":2}]}", true},
	    {"{\"a\":{\"b\":[3]}}", "{\"a\":[{\"b\":1},{\"b\":2}]}", false},
	    {"{\"a.b\":[1]}", "{\"a\":{\"b\":1}}", true}, /* dots join paths, as in event-ruler */
	    {"{\"a\":[1]}", "{\"a\":[[1]]}", true},
	};
	CHECK_ALL(t);
}

Test(patterns, dotted_and_empty_keys_on_either_side)
{
	static const struct example t[] = {
	    {"{\"a\":{\"b\":[1]}}", "{\"a.b\":1}", true},
	    {"{\"a.b\":{\"c\":[1]}}", "{\"a\":{\"b.c\":1}}", true},
	    {"{\"a\":{\"b\":{\"c\":[1]}}}", "{\"a.b.c\":1}", true},
	    {"{\"a\":[1]}", "{\"a.b\":1}", false},
	    {"{\"a.b\":[1]}", "{\"a\":{\"c\":{\"b\":1}}}", false},
	    {"{\"\":{\"a\":[1]}}", "{\"\":{\"a\":1}}", true},
	    {"{\"\":{\"a\":[1]}}", "{\"a\":1}", false}, /* the path is \".a\" */
	    {"{\"a\":[1]}", "{\"\":{\"a\":1}}", false},
	    {"{\"a\":{\"\":[1]}}", "{\"a\":{\"\":1}}", true},
	    {"{\"\":[1]}", "{\"\":1}", true},
	    {"{\"\":[1]}", "{\"a\":1}", false},
	    {"{\"a\":{\"b\":[\"x\"]}}", "{\"a\":{\"\\u0062\":\"x\"}}", true},
	};
	CHECK_ALL(t);
}

Test(patterns, long_keys_in_a_named_object)
{
	/* A rule path is at most 1,023 bytes; an event's keys may be as long as the event. */
	static char key[900], other[3000], pattern[1000], event[4000];
	memset(key, 'k', sizeof(key) - 1);
	memset(other, 'x', sizeof(other) - 1);
	snprintf(pattern, sizeof(pattern), "{\"o\":{\"%s\":[1]}}", key);
	snprintf(event, sizeof(event), "{\"o\":{\"%s\":2,\"%s\":1}}", other, key);
	struct one_rule rule = compile_one(1, pattern);
	struct flt_matcher *m = rule.matcher;
	struct flt_scratch *s = rule.scratch;
	uint32_t ids[2];
	cr_assert_eq(flt_match(m, s, event, strlen(event), ids, 2), 1);
	cr_assert_eq(flt_validate(m, s, event, strlen(event)), 0);
	cr_assert_eq(flt_match_validated(m, s, event, strlen(event), ids, 2), 1);
	event[strlen(event) - 6] = 'j'; /* the named key's last byte */
	cr_assert_eq(flt_match(m, s, event, strlen(event), ids, 2), 0);
	free_one(&rule);
}

/* Appends `"key":value` to a JSON member list, with a comma unless it is the first. */
static void append_member(char *list, size_t size, const char *key, const char *value)
{
	size_t at = strlen(list);
	snprintf(list + at, size - at, "%s\"%s\":%s", at > 0 ? "," : "", key, value);
}

/*
 * An object's wanted members are found among few named siblings by their bytes
 * and among many through the path table; keys of every short length that differ
 * from a named one only in their second or next-to-last byte (the same length,
 * first and last byte: they pass the key filter) must not be taken for it, at
 * the top level or below, and a dotted key still names a deeper path.
 */
Test(patterns, named_members_among_few_and_many_siblings)
{
	static const char padding[] = "mmmmmmmmmmmmmm";
	for (int pad = 0; pad <= 14; pad += 2) {
		for (int named = 1; named <= 7; named++) {
			for (int nested = 0; nested < 2; nested++) {
				char fields[512] = "", members[512] = "", early[512] = "";
				char late[512] = "", key[32];
				for (int k = 0; k < named; k++) {
					snprintf(key, sizeof(key), "k%d%.*s%dz", k, pad, padding,
					         k);
					append_member(fields, sizeof(fields), key, "[\"v\"]");
					append_member(members, sizeof(members), key, "\"v\"");
					/* The last named key becomes a look-alike. */
					if (k + 1 == named)
						snprintf(key, sizeof(key), "kX%.*s%dz", pad,
						         padding, k);
					append_member(early, sizeof(early), key, "\"v\"");
					if (k + 1 == named)
						snprintf(key, sizeof(key), "k%d%.*sXz", k, pad,
						         padding);
					append_member(late, sizeof(late), key, "\"v\"");
				}
				snprintf(key, sizeof(key), "k%d%.*s%dz.q", named - 1, pad, padding,
				         named - 1);
				append_member(early, sizeof(early), key, "\"v\"");
				const char *open = nested ? "{\"p\":{" : "{";
				const char *close = nested ? "}}" : "}";
				char pattern[640], event[640], decoy[640], other_decoy[640];
				snprintf(pattern, sizeof(pattern), "%s%s%s", open, fields, close);
				snprintf(event, sizeof(event), "%s\"kYz\":\"v\",%s%s", open,
				         members, close);
				snprintf(decoy, sizeof(decoy), "%s%s%s", open, early, close);
				snprintf(other_decoy, sizeof(other_decoy), "%s%s%s", open, late,
				         close);
				check(&(struct example){pattern, event, true});
				check(&(struct example){pattern, decoy, false});
				check(&(struct example){pattern, other_decoy, false});
			}
		}
	}
}

/*
 * The patterns compiled into one matcher (those it refuses left out: a mask of the
 * accepted comes back), and each event matched: every accepted pattern's id is in
 * the result exactly when the reference interpreter matches it alone.
 */
static uint64_t agree_with_the_reference(const char *const *patterns, uint32_t count,
                                         const char *const *events, uint32_t event_count)
{
	cr_assert_leq(count, 64);
	struct flt_limits limits;
	flt_limits_default(&limits);
	struct flt_compiler *c = flt_compiler_new(&limits);
	char error[256];
	uint64_t added = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (flt_add_rule(c, i, patterns[i], strlen(patterns[i]), error, sizeof(error)) == 0)
			added |= 1ull << i;
	}
	struct flt_matcher *m = flt_compile(c);
	struct flt_scratch *s = flt_scratch_new(m);
	for (uint32_t e = 0; e < event_count; e++) {
		uint32_t ids[64], validated_ids[64];
		int n = flt_match(m, s, events[e], strlen(events[e]), ids, 64);
		cr_assert_geq(n, 0, "%s", events[e]);
		/* Validated once, then matched with early stop: the same rules. */
		cr_assert_eq(flt_validate(m, s, events[e], strlen(events[e])), 0);
		cr_assert_eq(
		    flt_match_validated(m, s, events[e], strlen(events[e]), validated_ids, 64), n,
		    "early stop: %s", events[e]);
		for (int k = 0; k < n; k++)
			cr_assert_eq(validated_ids[k], ids[k], "early stop: %s", events[e]);
		for (uint32_t i = 0; i < count; i++) {
			if (!(added >> i & 1))
				continue;
			bool mine = false;
			for (int k = 0; k < n; k++)
				mine = mine || ids[k] == i;
			int ref = ref_match(patterns[i], strlen(patterns[i]), events[e],
			                    strlen(events[e]));
			cr_assert_eq(mine, ref == 1, "%s on %s: matcher %d, reference %d",
			             patterns[i], events[e], mine, ref);
		}
	}
	flt_scratch_free(s);
	flt_matcher_free(m);
	flt_compiler_free(c);
	return added;
}

/* Writes a test's generated pattern i into out. */
typedef void (*pattern_fn)(uint32_t i, char *out, size_t size);

/*
 * The fixed patterns and `generated` more made by make, every one accepted, all in
 * one matcher: each agrees with the reference on every event.
 */
static void all_agree_with_the_reference(const char *const *fixed, uint32_t fixed_count,
                                         pattern_fn make, uint32_t generated,
                                         const char *const *events, uint32_t event_count)
{
	static char made[64][128];
	const char *patterns[64];
	uint32_t count = fixed_count + generated;
	cr_assert_leq(count, 64);
	for (uint32_t i = 0; i < fixed_count; i++)
		patterns[i] = fixed[i];
	for (uint32_t i = 0; i < generated; i++) {
		make(i, made[i], sizeof(made[i]));
		patterns[fixed_count + i] = made[i];
	}
	uint64_t added = agree_with_the_reference(patterns, count, events, event_count);
	cr_assert_eq(added, count == 64 ? ~0ull : (1ull << count) - 1);
}

#define COUNT(table) (uint32_t)(sizeof(table) / sizeof(table[0]))

/* Many wildcards on one path go through the Aho-Corasick prefilter: same answers. */
Test(patterns, many_wildcards_on_one_path_agree_with_the_reference)
{
	static const char *const wildcards[] = {
	    "*XYZ*", "*AB*",   "dir/*.png", "a\\\\*b", "*",           "x*y*z",
	    "*end",  "start*", "*A*B*C*",   "**",      "m\\\\\\\\n*", "*é*",
	};
	static const char *const values[] = {
	    "xxXYZxx", "AB",         "dir/q.png", "a*b",      "",     "xayaz",
	    "the end", "start here", "zAzBzCz",   "m\\\\nop", "café", "nothing",
	};
	enum { WILDCARDS = sizeof(wildcards) / sizeof(wildcards[0]) };
	enum { VALUES = sizeof(values) / sizeof(values[0]) };
	static char patterns[WILDCARDS][128], events[VALUES][128];
	const char *pattern_list[WILDCARDS], *event_list[VALUES];
	for (uint32_t i = 0; i < WILDCARDS; i++) {
		snprintf(patterns[i], sizeof(patterns[i]), "{\"f\":[{\"wildcard\":\"%s\"}]}",
		         wildcards[i]);
		pattern_list[i] = patterns[i];
	}
	for (uint32_t v = 0; v < VALUES; v++) {
		snprintf(events[v], sizeof(events[v]), "{\"f\":\"%s\"}", values[v]);
		event_list[v] = events[v];
	}
	uint64_t added = agree_with_the_reference(pattern_list, WILDCARDS, event_list, VALUES);
	cr_assert_eq(added & (1u << 9), 0, "consecutive stars are refused");
	cr_assert_eq(added, ((1u << WILDCARDS) - 1) & ~(1u << 9));
}

/*
 * Equals-ignore-case values are looked up by their case-folded bytes in one table
 * per path: values that fold alike in different rules, beside exact values and
 * other operators on the same path, in arrays, non-ASCII (folded as ASCII only),
 * and enough of them that the table's probes collide.
 */
static void equals_ignore_case_value(uint32_t i, char *out, size_t size)
{
	snprintf(out, size, "{\"f\":[{\"equals-ignore-case\":\"%s%u\"}]}",
	         i % 2 ? "VaLuE" : "value-", i);
}

Test(patterns, equals_ignore_case_values_in_one_table_agree_with_the_reference)
{
	static const char *const fixed[] = {
	    "{\"f\":[{\"equals-ignore-case\":\"Beach\"}]}",
	    "{\"f\":[{\"equals-ignore-case\":\"bEaCh\"}]}",
	    "{\"f\":[\"beach\"]}",
	    "{\"f\":[{\"equals-ignore-case\":\"beach\"},\"BEACH\"]}",
	    "{\"f\":[{\"equals-ignore-case\":\"Beaches\"}]}",
	    "{\"f\":[{\"equals-ignore-case\":\"\"}]}",
	    "{\"f\":[{\"equals-ignore-case\":\"ÉTÉ\"}]}",
	    "{\"f\":[{\"anything-but\":{\"equals-ignore-case\":\"beach\"}}]}",
	    "{\"f\":[{\"equals-ignore-case\":\"beach\"}],\"g\":[{\"equals-ignore-case\":\"X\"}]}",
	    "{\"f\":[{\"prefix\":{\"equals-ignore-case\":\"BEA\"}}]}",
	};
	static const char *const events[] = {
	    "{\"f\":\"BEACH\"}",
	    "{\"f\":\"beach\"}",
	    "{\"f\":\"Beach \"}",
	    "{\"f\":\"\"}",
	    "{\"f\":\"été\"}",
	    "{\"f\":\"ÉTÉ\"}",
	    "{\"f\":1}",
	    "{\"f\":[\"x\",\"bEACH\"]}",
	    "{\"f\":\"beach\",\"g\":\"x\"}",
	    "{\"f\":\"VALUE7\"}",
	    "{\"f\":\"value\"}",
	    "{\"g\":\"x\"}",
	    "{\"f\":\"b\\u0045ach\"}",
	    "{\"f\":\"Value-31\"}",
	    "{\"f\":null}",
	};
	all_agree_with_the_reference(fixed, COUNT(fixed), equals_ignore_case_value, 40, events,
	                             COUNT(events));
}

/*
 * Prefixes and suffixes, and their ignore-case forms, are looked up in a table per
 * path and kind, probed once per distinct length: values of several lengths,
 * the same value in several rules, values that differ only in case, the empty
 * value, leaves shorter than a value, non-string leaves, arrays, and the
 * conditions still tried one by one (anything-but forms) beside them.
 */
static void ignore_case_affix(uint32_t i, char *out, size_t size)
{
	snprintf(out, size,
	         i % 2 ? "{\"f\":[{\"prefix\":{\"equals-ignore-case\":\"Pre%02u\"}}]}"
	               : "{\"f\":[{\"suffix\":{\"equals-ignore-case\":\"%02usuF\"}}]}",
	         i / 2 + 1);
}

Test(patterns, prefixes_and_suffixes_in_tables_agree_with_the_reference)
{
	static const char *const patterns[] = {
	    "{\"f\":[{\"prefix\":\"a\"}]}",
	    "{\"f\":[{\"prefix\":\"ab\"}]}",
	    "{\"f\":[{\"prefix\":\"abc\"},{\"prefix\":\"x\"}]}",
	    "{\"f\":[{\"prefix\":\"abc\"}]}",
	    "{\"f\":[{\"prefix\":\"\"}]}",
	    "{\"f\":[{\"prefix\":\"ABC\"}]}",
	    "{\"f\":[{\"prefix\":{\"equals-ignore-case\":\"aB\"}}]}",
	    "{\"f\":[{\"prefix\":{\"equals-ignore-case\":\"Ab\"}}]}",
	    "{\"f\":[{\"prefix\":{\"equals-ignore-case\":\"ABCDEFGHIJKLMNOPQ\"}}]}",
	    "{\"f\":[{\"suffix\":\"z\"}]}",
	    "{\"f\":[{\"suffix\":\"yz\"}]}",
	    "{\"f\":[{\"suffix\":\"xyz\"},\"abc\"]}",
	    "{\"f\":[{\"suffix\":\"\"}]}",
	    "{\"f\":[{\"suffix\":{\"equals-ignore-case\":\"YZ\"}}]}",
	    "{\"f\":[{\"suffix\":{\"equals-ignore-case\":\"é\"}}]}",
	    "{\"f\":[{\"suffix\":\"é\"}]}",
	    "{\"f\":[{\"anything-but\":{\"prefix\":\"ab\"}}]}",
	    "{\"f\":[{\"prefix\":\"ab\"}],\"g\":[{\"suffix\":\"yz\"}]}",
	    "{\"g\":[{\"prefix\":\"ab\"}]}",
	};
	static const char *const events[] = {
	    "{\"f\":\"abc\"}",
	    "{\"f\":\"ABC\"}",
	    "{\"f\":\"aBcdefghijklmnopqrstu\"}",
	    "{\"f\":\"a\"}",
	    "{\"f\":\"\"}",
	    "{\"f\":\"xyz\"}",
	    "{\"f\":\"XYZ\"}",
	    "{\"f\":\"z\"}",
	    "{\"f\":\"café\"}",
	    "{\"f\":\"CAFÉ\"}",
	    "{\"f\":1}",
	    "{\"f\":null}",
	    "{\"f\":[\"q\",\"ab\"],\"g\":\"xyz\"}",
	    "{\"f\":\"abyz\",\"g\":\"abyz\"}",
	    "{\"f\":\"\\u0061b\"}",
	    "{\"g\":\"abc\"}",
	    "{\"f\":\"PRE07xyz\"}",
	    "{\"f\":\"abc13SUF\"}",
	    "{\"f\":\"pRe13-14sUf\"}",
	};
	/* Enough ignore-case values that a probe must find its own slot, not stumble on it. */
	all_agree_with_the_reference(patterns, COUNT(patterns), ignore_case_affix, 30, events,
	                             COUNT(events));
}

/*
 * Eight or more numeric conditions on a path go in a segment tree over the
 * regions their bounds cut the number line into: every operator, inclusive and
 * exclusive bounds, points, bounds shared by several conditions, two ranges in
 * one field, numbers at, between and beyond every bound (infinities from
 * overflowing numbers, -0, a subnormal), in arrays, and leaves that are not numbers.
 */
static void numeric_range(uint32_t i, char *out, size_t size)
{
	double at = (double)i / 4 - 2;
	if (i % 3 == 0)
		snprintf(out, size, "{\"n\":[{\"numeric\":[\"=\",%g]}]}", at);
	else
		snprintf(out, size, "{\"n\":[{\"numeric\":[\"%s\",%g,\"%s\",%g]}]}",
		         i % 2 ? ">" : ">=", at, i % 2 ? "<=" : "<", at + (double)i / 3);
}

Test(patterns, numeric_ranges_in_a_tree_agree_with_the_reference)
{
	static const char *const fixed[] = {
	    "{\"n\":[{\"numeric\":[\"<\",0]}]}",
	    "{\"n\":[{\"numeric\":[\"<=\",0]}]}",
	    "{\"n\":[{\"numeric\":[\">\",0]}]}",
	    "{\"n\":[{\"numeric\":[\">=\",0]}]}",
	    "{\"n\":[{\"numeric\":[\"=\",0]}]}",
	    "{\"n\":[{\"numeric\":[\"=\",5]}]}",
	    "{\"n\":[{\"numeric\":[\">\",0,\"<\",10]}]}",
	    "{\"n\":[{\"numeric\":[\">=\",0,\"<=\",10]}]}",
	    "{\"n\":[{\"numeric\":[\">\",-5,\"<=\",5]}]}",
	    "{\"n\":[{\"numeric\":[\"<\",1e9]}]}",
	    "{\"n\":[{\"numeric\":[\">\",-1e9]}]}",
	    "{\"n\":[{\"numeric\":[\">=\",1.5,\"<\",2]}]}",
	    "{\"n\":[{\"numeric\":[\"<\",-100]},{\"numeric\":[\">\",100]}]}",
	    "{\"n\":[{\"numeric\":[\">\",3]},\"x\"]}",
	    "{\"n\":[{\"numeric\":[\">\",3]}],\"m\":[1]}",
	    "{\"n\":[{\"exists\":false}]}",
	};
	static const char *const events[] = {
	    "{\"n\":-1e400}",
	    "{\"n\":-1e9}",
	    "{\"n\":-100}",
	    "{\"n\":-5}",
	    "{\"n\":-0}",
	    "{\"n\":0}",
	    "{\"n\":0.0}",
	    "{\"n\":1e-320}",
	    "{\"n\":1.5}",
	    "{\"n\":2}",
	    "{\"n\":5}",
	    "{\"n\":5.0000000001}",
	    "{\"n\":10}",
	    "{\"n\":100}",
	    "{\"n\":1e400}",
	    "{\"n\":[1,20]}",
	    "{\"n\":\"5\"}",
	    "{\"n\":null}",
	    "{\"n\":\"x\"}",
	    "{\"n\":4,\"m\":1}",
	    "{\"m\":1}",
	    "{\"n\":[[-7]]}",
	    "{\"n\":[\"x\",-200]}",
	    "{\"n\":7.25}",
	};
	all_agree_with_the_reference(fixed, COUNT(fixed), numeric_range, 24, events, COUNT(events));
}

/*
 * Inside arrays the scanner keeps what was wanted under each key for the rest of
 * the event: the same short key under other paths (sibling arrays, nested
 * arrays, the top level), keys that share its slot and longer keys must each
 * get their own answer.
 */
Test(patterns, keys_repeated_in_arrays_of_objects_agree_with_the_reference)
{
	static const char *const patterns[] = {
	    "{\"a\":{\"x\":[3]}}",
	    "{\"b\":{\"x\":[1]}}",
	    "{\"a\":{\"|\":[1]}}",
	    "{\"a\":{\"b\":{\"x\":[{\"numeric\":[\">\",4]}]}}}",
	    "{\"x\":[7]}",
	    "{\"a\":{\"longer_key\":[\"v\"]},\"b\":{\"longer_ke\":[\"v\"]}}",
	    "{\"a\":{\"x\":[{\"exists\":false}]},\"b\":{\"x\":[1]}}",
	    "{\"c\":{\"x\":[1]}}",
	    "{\"d\":{\"x\":[2]}}",
	    "{\"e\":{\"x\":[3]}}",
	};
	static const char *const events[] = {
	    "{\"a\":[{\"x\":1},{\"x\":2}],\"b\":[{\"x\":3}]}",
	    "{\"a\":[{\"x\":1},{\"x\":3}],\"b\":[{\"y\":1},{\"x\":1}]}",
	    "{\"a\":[{\"|\":3,\"x\":1},{\"x\":1,\"|\":1}],\"x\":7}",
	    "{\"a\":[{\"b\":[{\"x\":3},{\"x\":5}],\"x\":2}],\"b\":[[{\"x\":2}]]}",
	    "{\"a\":[{\"b\":{\"x\":1}},{\"b\":[{\"x\":9}]}],\"x\":[1,[7]]}",
	    "{\"a\":[{\"longer_key\":\"v\"}],\"b\":[{\"longer_ke\":\"v\"},{\"longer_key\":\"w\"}]}",
	    "{\"b\":[{\"x\":2},{\"x\":1}],\"a\":[{\"y\":1},{\"z\":2}]}",
	    "{\"a\":[{\"y\":1},{\"x\":null}],\"b\":[{\"x\":1}]}",
	    "{\"a\":[{\"x\":3}],\"b\":[{\"x\":3}],\"c\":[{\"x\":3}],\"d\":[{\"x\":3}],"
	    "\"e\":[{\"x\":3}]}",
	    "{\"e\":[{\"x\":1}],\"d\":[{\"x\":1}],\"c\":[{\"x\":2}],\"b\":[{\"x\":2}],"
	    "\"a\":[{\"x\":1}]}",
	};
	all_agree_with_the_reference(patterns, COUNT(patterns), NULL, 0, events, COUNT(events));
}

/*
 * Skipped containers of every length and alignment, holding what the 64-byte block
 * walk must not take for structure: brackets inside strings, escaped quotes and
 * backslashes, strings that cross a block's edge. Matching after validation (the
 * block walk) must give the same answer as matching that reads everything. The test
 * suite runs this file twice, once with BB_FLT_BASELINE=1, so both builds of the walk
 * (SSE2 and AVX2) are covered on a machine that has AVX2.
 */
Test(patterns, skipped_containers_of_every_shape)
{
	static const char *const pieces[] = {
	    "[1,2,{\"x\":[3]}]",
	    "\"]}\"",
	    "\"\\\"]\"",
	    "\"\\\\\"",
	    "{\"k\":\"[{\"}",
	    "[[[]]]",
	    "{}",
	    "\"a longer string with } and ] inside it, crossing a block edge\"",
	    "-12.5e3",
	    "null",
	};
	struct one_rule rule = compile_one(1, "{\"after\":[1]}");
	struct flt_matcher *m = rule.matcher;
	struct flt_scratch *s = rule.scratch;
	static char event[8192];
	uint32_t ids[2];
	char padding[64];
	memset(padding, 'p', sizeof(padding)); /* shifts the skipped array across block edges */
	for (int pad = 0; pad < 64; pad++) {
		for (int count = 1; count < 40; count += 3) {
			size_t n = (size_t)snprintf(event, sizeof(event),
			                            "{\"pad\":\"%.*s\",\"skip\":[", pad, padding);
			for (int i = 0; i < count; i++)
				n += (size_t)snprintf(event + n, sizeof(event) - n, "%s%s",
				                      i ? "," : "", pieces[(i * 7 + pad) % 10]);
			n += (size_t)snprintf(event + n, sizeof(event) - n, "],\"after\":1}");
			int full = flt_match(m, s, event, n, ids, 2);
			cr_assert_eq(full, 1, "%s", event);
			cr_assert_eq(flt_validate(m, s, event, n), 0, "%s", event);
			cr_assert_eq(flt_match_validated(m, s, event, n, ids, 2), 1,
			             "block walk: %s", event);
		}
	}
	free_one(&rule);
}
