/*
 * The compiled matcher (see flt.h). Every field path of every rule, and
 * every prefix of one, sits in one hash table, so the scanner descends only
 * into what some rule names. Per leaf path, values in hash tables: literal
 * values, equals-ignore-case values by their case-folded bytes, prefixes and
 * suffixes (and their ignore-case forms) probed once per distinct length (cost
 * independent of how many rules name values there); the other conditions in a
 * list. A sub-rule is a candidate the moment its last
 * leaf-matched field is marked; fields that absence can satisfy (exists:
 * false) are settled after the scan. Immutable once built; matching writes
 * only the caller's scratch, stamped so nothing is cleared per event.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flt_int.h"

#define NIL UINT32_MAX

struct ref {
	uint32_t subrule;
	uint32_t field;
};

struct literal {
	struct flt_leaf key;
	uint32_t ref_first, ref_count; /* into matcher->refs */
};

struct other {
	const struct flt_cond *cond;
	struct ref ref;
};

/* The conditions whose values a path keeps in a table, one table per kind. */
enum table_kind {
	TABLE_EXACT,       /* literal values of any type */
	TABLE_IGNORE_CASE, /* equals-ignore-case: the whole string, ASCII-folded */
	TABLE_PREFIX,
	TABLE_PREFIX_IGNORE_CASE,
	TABLE_SUFFIX,
	TABLE_SUFFIX_IGNORE_CASE,
	TABLE_KINDS,
	TABLE_NONE = TABLE_KINDS, /* tried one by one */
};

/*
 * A path's numeric conditions, when many: their bounds cut the number line into
 * regions (each bound alone, and the open stretch between two), every
 * condition covers a run of regions, and the runs sit in a segment tree over
 * the regions. A number finds its region by binary search and marks the
 * conditions stored on the way from that leaf to the root: time logarithmic in
 * the bounds plus the conditions that hold, not one test per condition.
 */
#define NUMERIC_TREE_MIN 8u /* below this the list is as fast */

struct numeric_tree {
	uint32_t size; /* leaves, a power of two above the regions; 0: no tree */
	uint32_t bound_count;
	double *bounds;       /* ascending, distinct */
	uint32_t *node_first; /* node i's conditions: refs[node_first[i], node_first[i + 1]) */
	struct ref *refs;
};

struct table {
	uint32_t slots;          /* power of two; 0 when empty */
	struct literal *entries; /* open addressing */
	uint32_t length_count;   /* prefixes and suffixes: their distinct lengths, ascending */
	uint32_t *lengths;
};

/*
 * A path's direct children when they are few, as most are: a key is looked up
 * among them by its bytes, without hashing it (the scanner asks for every key
 * of an object a rule names, and for every element of an array of objects).
 */
#define FEW_CHILDREN 4u

struct children {
	uint32_t count; /* above FEW_CHILDREN: look up in the path table */
	uint32_t index[FEW_CHILDREN];
};

struct path {
	char *text; /* the whole path, "a.b.c" */
	size_t length;
	uint32_t parent;     /* the path before the last '.', or FLT_PATH_ROOT */
	const char *segment; /* after the last '.', within text */
	size_t segment_length;
	uint64_t hash;
	uint64_t below_signatures; /* its key filter: signatures of the paths below */
	bool leaf;                 /* some rule names it (else: only a prefix of one) */
	struct children children;
	struct table tables[TABLE_KINDS];
	uint8_t table_kinds; /* bit k: tables[k] is not empty */
	uint32_t other_count;
	uint32_t listed_count; /* others[0, listed_count) are tried on every leaf; the rest,
	                        * wildcards, only when the automaton finds their segment */
	struct other *others;
	struct numeric_tree numeric;
	struct flt_ac ac;   /* over the wildcards' literal segments; node_count 0: none */
	uint32_t *ac_other; /* automaton pattern -> index in others */
};

struct sub {
	uint32_t rule;      /* dense rule index */
	uint64_t need_mask; /* fields only a matching leaf satisfies */
	uint32_t field_count;
	uint64_t absent_ok_mask; /* fields an absent path satisfies */
	uint32_t field_path[64];
};

struct flt_matcher {
	struct flt_limits limits;
	struct flt_compiler rules; /* a private deep copy of the sub-rules */
	uint32_t path_slots;
	uint32_t *path_table; /* path index + 1; 0 is empty */
	uint32_t path_count;
	struct path *paths;
	struct sub *subs;
	uint32_t sub_count;
	uint32_t *late; /* sub-rules settled after the scan */
	uint32_t late_count;
	uint32_t rule_count;
	uint32_t *rule_ids;
	uint32_t top_count; /* top-level keys some rule path starts with */
	struct children top_children;
	uint32_t leaf_path_count; /* paths some rule names a value at */
	uint64_t top_signatures;  /* the top-level key filter: of every path */
	uint32_t others_max;      /* the most non-literal conditions on one path */
	struct ref *refs;
	uint32_t ref_count;
	size_t bytes;
};

struct flt_scratch {
	const struct flt_matcher *matcher;
	uint32_t stamp;
	uint32_t *sub_stamp;
	uint64_t *sub_mask;
	uint32_t *path_seen;
	uint32_t *rule_stamp;
	uint32_t *candidates;
	uint32_t candidate_count;
	uint32_t top_done;    /* wanted top-level members read in full */
	uint32_t leaves_done; /* leaf paths read outside arrays */
	uint32_t leaf_stamp;  /* per leaf: which prefiltered wildcards were tried */
	uint32_t *other_stamp;
	struct flt_scan_buffers buffers;
};

/* ---- hashing ---- */

static uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/*
 * Paths are hashed segment by segment, hash("a.b") = mix(mix(SEED, segment("a")),
 * segment("b")), so the scanner extends a container's hash with one key's bytes,
 * a word at a time: this runs for every key of every object a rule names.
 */
static uint64_t mix(uint64_t h, uint64_t word)
{
	h = (h ^ word) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

static bool word_has_dot(uint64_t word)
{
	uint64_t x = word ^ 0x2e2e2e2e2e2e2e2eull;
	return ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) != 0;
}

/* One segment's hash; *dot tells whether the bytes held a '.' after all. */
static uint64_t segment_hash(const char *p, size_t n, bool *dot)
{
	uint64_t h = n;
	size_t i = 0;
	bool found = false;
	for (; i + 8 <= n; i += 8) {
		uint64_t word;
		memcpy(&word, p + i, 8);
		found |= word_has_dot(word);
		h = mix(h, word);
	}
	uint64_t tail = 0; /* assembled in a register: no store to forward from */
	for (size_t j = i; j < n; j++)
		tail |= (uint64_t)(uint8_t)p[j] << (8 * (j - i));
	*dot = found || word_has_dot(tail); /* zero padding is not a dot */
	return mix(h, tail);
}

static uint64_t hash_leaf(const struct flt_leaf *leaf)
{
	uint64_t h = hash_bytes(1469598103934665603ull, &leaf->type, 1);
	if (leaf->type == FLT_STRING)
		return hash_bytes(h, leaf->text, leaf->length);
	if (leaf->type == FLT_NUMBER) {
		double v = leaf->number == 0 ? 0 : leaf->number; /* -0 == 0 */
		return hash_bytes(h, &v, sizeof(v));
	}
	return h;
}

static bool ignores_case(enum table_kind kind)
{
	return kind == TABLE_IGNORE_CASE || kind == TABLE_PREFIX_IGNORE_CASE ||
	       kind == TABLE_SUFFIX_IGNORE_CASE;
}

static bool is_suffix(enum table_kind kind)
{
	return kind == TABLE_SUFFIX || kind == TABLE_SUFFIX_IGNORE_CASE;
}

#define STRING_HASH_SEED 1469598103934665603ull

/* One more byte into a string table's hash: ASCII-folded for the ignore-case kinds. */
static uint64_t extend_hash(uint64_t h, char c, bool fold)
{
	return (h ^ (uint8_t)(fold ? flt_fold(c) : c)) * 1099511628211ull;
}

/* A string table's hash of a value: its bytes from the last one for suffixes, so that
 * the matcher extends one hash byte by byte over a leaf's suffixes of growing length. */
static uint64_t string_hash(const char *text, size_t n, enum table_kind kind)
{
	uint64_t h = STRING_HASH_SEED;
	for (size_t i = 0; i < n; i++)
		h = extend_hash(h, is_suffix(kind) ? text[n - 1 - i] : text[i], ignores_case(kind));
	return h;
}

static bool same_leaf(const struct flt_leaf *a, const struct flt_leaf *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == FLT_STRING)
		return a->length == b->length && memcmp(a->text, b->text, a->length) == 0;
	return a->type != FLT_NUMBER || a->number == b->number;
}

static uint32_t power_of_two_above(uint32_t n)
{
	uint32_t size = 8;
	while (size < 2 * n)
		size *= 2;
	return size;
}

/* ---- building ---- */

/* The first and the last `width` bytes of two n-byte keys (width <= n, at most 8) equal. */
static inline bool same_ends(const char *a, const char *b, size_t n, size_t width)
{
	uint64_t a0 = 0, b0 = 0, a1 = 0, b1 = 0;
	memcpy(&a0, a, width);
	memcpy(&b0, b, width);
	memcpy(&a1, a + n - width, width);
	memcpy(&b1, b + n - width, width);
	return a0 == b0 && a1 == b1;
}

/*
 * Keys are short: from 4 to 16 bytes they are compared as two words that overlap
 * (the first and the last 4 or 8 bytes; nothing outside either key is read),
 * which beats both a byte loop and a call to memcmp.
 */
static bool same_bytes(const char *a, const char *b, size_t n)
{
	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8)
		return same_ends(a, b, n, 8);
	if (n >= 4)
		return same_ends(a, b, n, 4);
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/* A path by its parent and last segment (matching: no path text is built). */
static uint32_t find_segment(const struct flt_matcher *m, uint32_t parent, const char *key,
                             size_t n, uint64_t hash)
{
	uint32_t mask = m->path_slots - 1;
	for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
		uint32_t slot = m->path_table[i];
		if (slot == 0)
			return NIL;
		const struct path *p = &m->paths[slot - 1];
		if (p->hash == hash && p->parent == parent && p->segment_length == n &&
		    same_bytes(p->segment, key, n))
			return slot - 1;
	}
}

/* A key holding dots names the path its parts would: one lookup per part. */
static uint32_t find_dotted(const struct flt_matcher *m, uint32_t parent, uint64_t hash,
                            const char *key, size_t n, uint64_t *key_hash)
{
	bool dot;
	for (const char *part = key, *end = key + n;;) {
		const char *d = memchr(part, '.', (size_t)(end - part));
		const char *stop = d != NULL ? d : end;
		size_t length = (size_t)(stop - part);
		hash = mix(hash, segment_hash(part, length, &dot));
		parent = find_segment(m, parent, part, length, hash);
		if (parent == NIL || d == NULL) {
			*key_hash = hash;
			return parent;
		}
		part = d + 1;
	}
}

/*
 * Each path's key filter (flt_int.h): the signatures of every path below it,
 * taken relative to it ("b.c" below "a"), so that relative whole paths cover
 * keys holding dots.
 */
static void note_signatures_below(struct flt_matcher *m)
{
	for (uint32_t i = 0; i < m->path_count; i++) {
		const struct path *p = &m->paths[i];
		m->top_signatures |= flt_key_signature(p->text, p->length);
		for (uint32_t a = p->parent; a != FLT_PATH_ROOT; a = m->paths[a].parent) {
			size_t skip = m->paths[a].length + 1;
			m->paths[a].below_signatures |=
			    flt_key_signature(p->text + skip, p->length - skip);
		}
	}
}

/* Adds a path (or marks it a leaf) and every prefix of it, shortest first. */
static int add_path(struct flt_matcher *m, const char *text, bool leaf)
{
	size_t n = strlen(text);
	uint32_t parent = FLT_PATH_ROOT;
	uint64_t parent_hash = FLT_PATH_ROOT_HASH;
	size_t segment_start = 0;
	for (size_t cut = 0; cut <= n; cut++) {
		if (cut < n && text[cut] != '.')
			continue;
		const char *segment = text + segment_start;
		size_t segment_length = cut - segment_start;
		bool dot;
		uint64_t hash = mix(parent_hash, segment_hash(segment, segment_length, &dot));
		uint32_t index = find_segment(m, parent, segment, segment_length, hash);
		if (index == NIL) {
			m->top_count += parent == FLT_PATH_ROOT;
			index = m->path_count++;
			struct path *p = &m->paths[index];
			*p = (struct path){.text = strndup(text, cut),
			                   .length = cut,
			                   .parent = parent,
			                   .segment_length = segment_length,
			                   .hash = hash};
			if (p->text == NULL)
				return -ENOMEM;
			p->segment = p->text + segment_start;
			uint32_t mask = m->path_slots - 1;
			uint32_t i = (uint32_t)hash & mask;
			while (m->path_table[i] != 0)
				i = (i + 1) & mask;
			m->path_table[i] = index + 1;
		}
		if (cut == n && leaf && !m->paths[index].leaf) {
			m->paths[index].leaf = true;
			m->leaf_path_count++;
		}
		parent = index;
		parent_hash = hash;
		segment_start = cut + 1;
	}
	return 0;
}

static void note_children(struct flt_matcher *m)
{
	for (uint32_t i = 0; i < m->path_count; i++) {
		uint32_t parent = m->paths[i].parent;
		struct children *c =
		    parent == FLT_PATH_ROOT ? &m->top_children : &m->paths[parent].children;
		if (c->count < FEW_CHILDREN)
			c->index[c->count] = i;
		c->count++;
	}
}

static uint32_t count_path_prefixes(const struct flt_compiler *c)
{
	uint32_t count = 0;
	for (uint32_t s = 0; s < c->count; s++) {
		for (uint32_t f = 0; f < c->subrules[s].field_count; f++) {
			const char *p = c->subrules[s].fields[f].path;
			count += 1;
			for (; *p; p++)
				count += *p == '.';
		}
	}
	return count;
}

struct tuple {
	uint32_t path;
	uint8_t kind; /* enum table_kind */
	const struct flt_leaf *key;
	struct ref ref;
};

/* A total order on literals: type, then value. */
static int compare_leaves(const struct flt_leaf *a, const struct flt_leaf *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->type == FLT_NUMBER)
		return a->number < b->number ? -1 : a->number > b->number;
	if (a->type != FLT_STRING)
		return 0;
	size_t n = a->length < b->length ? a->length : b->length;
	int c = memcmp(a->text, b->text, n);
	return c != 0 ? c : (a->length < b->length ? -1 : a->length > b->length);
}

/* Case-folded bytes, then length: equal for values equals-ignore-case does not tell apart. */
static int compare_folded(const struct flt_leaf *a, const struct flt_leaf *b)
{
	for (size_t i = 0; i < a->length && i < b->length; i++) {
		char x = flt_fold(a->text[i]), y = flt_fold(b->text[i]);
		if (x != y)
			return (uint8_t)x < (uint8_t)y ? -1 : 1;
	}
	return a->length < b->length ? -1 : a->length > b->length;
}

static int compare_keys(const struct tuple *x, const struct tuple *y)
{
	return ignores_case(x->kind) ? compare_folded(x->key, y->key)
	                             : compare_leaves(x->key, y->key);
}

/* By path, kind, then key: each table's entries in one run. */
static int compare_tuples(const void *a, const void *b)
{
	const struct tuple *x = a, *y = b;
	if (x->path != y->path)
		return x->path < y->path ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return compare_keys(x, y);
}

static bool same_table(const struct tuple *x, const struct tuple *y)
{
	return x->path == y->path && x->kind == y->kind;
}

/* Sorts n elements and keeps the first of each run that compare equal; how many are left. */
static uint32_t sort_distinct(void *base, uint32_t n, size_t size,
                              int (*compare)(const void *, const void *))
{
	char *at = base;
	qsort(base, n, size, compare);
	uint32_t distinct = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (distinct == 0 || compare(at + i * size, at + (distinct - 1) * size) != 0)
			memmove(at + distinct++ * size, at + i * size, size);
	}
	return distinct;
}

static int compare_lengths(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* A prefix or suffix table's distinct value lengths, ascending: the lengths to probe. */
static int note_lengths(struct table *t)
{
	t->lengths = malloc(t->slots * sizeof(*t->lengths));
	if (t->lengths == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->slots; i++) {
		if (t->entries[i].key.type != 0)
			t->lengths[t->length_count++] = (uint32_t)t->entries[i].key.length;
	}
	t->length_count =
	    sort_distinct(t->lengths, t->length_count, sizeof(*t->lengths), compare_lengths);
	return 0;
}

/* One table from the run of tuples at *i: an entry per distinct key, its refs in a row. */
static int build_table(struct flt_matcher *m, const struct tuple *tuples, uint32_t count,
                       uint32_t *i)
{
	const struct tuple *run = &tuples[*i];
	uint32_t distinct = 0;
	for (uint32_t j = *i; j < count && same_table(&tuples[j], run); j++)
		distinct += j == *i || compare_keys(&tuples[j], &tuples[j - 1]) != 0;
	struct path *p = &m->paths[run->path];
	struct table *t = &p->tables[run->kind];
	uint32_t slots = power_of_two_above(distinct);
	struct literal *table = calloc(slots, sizeof(*table));
	if (table == NULL)
		return -ENOMEM;
	t->slots = slots;
	t->entries = table;
	p->table_kinds |= (uint8_t)(1u << run->kind);
	m->bytes += slots * sizeof(*table);
	while (*i < count && same_table(&tuples[*i], run)) {
		uint32_t first = m->ref_count;
		const struct tuple *key = &tuples[*i];
		for (; *i < count && same_table(&tuples[*i], run) &&
		       compare_keys(&tuples[*i], key) == 0;
		     (*i)++)
			m->refs[m->ref_count++] = tuples[*i].ref;
		uint32_t mask = slots - 1;
		uint64_t hash = run->kind == TABLE_EXACT
		                    ? hash_leaf(key->key)
		                    : string_hash(key->key->text, key->key->length, run->kind);
		uint32_t slot = (uint32_t)hash & mask;
		while (table[slot].key.type != 0)
			slot = (slot + 1) & mask;
		table[slot] = (struct literal){
		    .key = *key->key, .ref_first = first, .ref_count = m->ref_count - first};
	}
	if (run->kind == TABLE_EXACT || run->kind == TABLE_IGNORE_CASE)
		return 0;
	m->bytes += slots * sizeof(uint32_t);
	return note_lengths(t);
}

/* Values kept in tables: sorted into runs, a table per path and kind. */
static int build_literals(struct flt_matcher *m, struct tuple *tuples, uint32_t count)
{
	qsort(tuples, count, sizeof(*tuples), compare_tuples);
	m->refs = malloc((count ? count : 1) * sizeof(*m->refs));
	if (m->refs == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < count;) {
		int rc = build_table(m, tuples, count, &i);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int add_other(struct flt_matcher *m, uint32_t path_index, const struct flt_cond *cond,
                     struct ref ref)
{
	struct path *p = &m->paths[path_index];
	struct other *grown = realloc(p->others, (p->other_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	p->others = grown;
	p->others[p->other_count++] = (struct other){.cond = cond, .ref = ref};
	p->listed_count = p->other_count;
	m->bytes += sizeof(*grown);
	return 0;
}

static uint32_t dense_rule(struct flt_matcher *m, uint32_t rule_id)
{
	for (uint32_t r = 0; r < m->rule_count; r++) {
		if (m->rule_ids[r] == rule_id)
			return r;
	}
	m->rule_ids[m->rule_count] = rule_id;
	return m->rule_count++;
}

/* The table a condition's values go in, or TABLE_NONE: tried one by one. */
static enum table_kind table_of(const struct flt_cond *cond)
{
	switch (cond->op) {
	case FLT_OP_EXACT: return TABLE_EXACT;
	case FLT_OP_EQUALS_IGNORE_CASE: return TABLE_IGNORE_CASE;
	case FLT_OP_PREFIX: return TABLE_PREFIX;
	case FLT_OP_PREFIX_IGNORE_CASE: return TABLE_PREFIX_IGNORE_CASE;
	case FLT_OP_SUFFIX: return TABLE_SUFFIX;
	case FLT_OP_SUFFIX_IGNORE_CASE: return TABLE_SUFFIX_IGNORE_CASE;
	default: return TABLE_NONE;
	}
}

/* One field of one sub-rule into the tables; its masks into the sub-rule. */
static int index_field(struct flt_matcher *m, uint32_t s, uint32_t f, struct tuple *tuples,
                       uint32_t *tuple_count)
{
	const struct flt_field *field = &m->rules.subrules[s].fields[f];
	struct sub *sub = &m->subs[s];
	size_t path_bytes = strlen(field->path);
	uint64_t path_hash;
	uint32_t path_index =
	    find_dotted(m, FLT_PATH_ROOT, FLT_PATH_ROOT_HASH, field->path, path_bytes, &path_hash);
	struct ref ref = {.subrule = s, .field = f};
	bool absent_ok = false, by_leaf = false;
	sub->field_path[f] = path_index;
	for (uint32_t c = 0; c < field->cond_count; c++) {
		const struct flt_cond *cond = &field->conds[c];
		if (cond->op == FLT_OP_ABSENT) {
			absent_ok = true;
			continue;
		}
		by_leaf = true;
		enum table_kind kind = table_of(cond);
		if (kind == TABLE_NONE) {
			if (add_other(m, path_index, cond, ref) != 0)
				return -ENOMEM;
			continue;
		}
		for (uint32_t v = 0; v < cond->value_count; v++)
			tuples[(*tuple_count)++] = (struct tuple){
			    .path = path_index,
			    .kind = (uint8_t)kind,
			    .key = &cond->values[v],
			    .ref = ref,
			};
	}
	if (absent_ok)
		sub->absent_ok_mask |= 1ull << f;
	else if (by_leaf)
		sub->need_mask |= 1ull << f;
	return 0;
}

static uint32_t count_literals(const struct flt_compiler *c)
{
	uint32_t count = 0;
	for (uint32_t s = 0; s < c->count; s++) {
		for (uint32_t f = 0; f < c->subrules[s].field_count; f++) {
			const struct flt_field *field = &c->subrules[s].fields[f];
			for (uint32_t k = 0; k < field->cond_count; k++)
				count += table_of(&field->conds[k]) != TABLE_NONE
				             ? field->conds[k].value_count
				             : 0;
		}
	}
	return count;
}

#define AUTOMATON_WILDCARDS_MIN 4u /* below this a list is as fast */

/* Moves the automaton's n wildcards (ac_other) after the conditions every leaf tries. */
static int list_automaton_wildcards_last(struct path *p, uint32_t n)
{
	bool *in_automaton = calloc(p->other_count, sizeof(bool));
	uint32_t *moved_to = calloc(p->other_count, sizeof(uint32_t));
	struct other *ordered = calloc(p->other_count, sizeof(struct other));
	int rc = in_automaton && moved_to && ordered ? 0 : -ENOMEM;
	for (uint32_t k = 0; rc == 0 && k < n; k++)
		in_automaton[p->ac_other[k]] = true;
	uint32_t next = 0;
	for (int automaton = 0; rc == 0 && automaton < 2; automaton++) {
		for (uint32_t i = 0; i < p->other_count; i++) {
			if (in_automaton[i] != (automaton == 1))
				continue;
			moved_to[i] = next;
			ordered[next++] = p->others[i];
		}
		if (automaton == 0)
			p->listed_count = next;
	}
	for (uint32_t k = 0; rc == 0 && k < n; k++)
		p->ac_other[k] = moved_to[p->ac_other[k]];
	if (rc == 0) {
		free(p->others);
		p->others = ordered;
		ordered = NULL;
	}
	free(in_automaton);
	free(moved_to);
	free(ordered);
	return rc;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The region of the number line v falls in: 2i+1 when it is bound i, else 2i with i the
 * number of bounds below it. */
static uint32_t region_of(const struct numeric_tree *t, double v)
{
	uint32_t low = 0, high = t->bound_count;
	while (low < high) {
		uint32_t mid = (low + high) / 2;
		if (t->bounds[mid] < v)
			low = mid + 1;
		else
			high = mid;
	}
	return low < t->bound_count && t->bounds[low] == v ? 2 * low + 1 : 2 * low;
}

/* The regions a range covers, first and last (first > last: none), as flt_in_range
 * decides: above the low bound's region, or on it when inclusive; likewise below. */
static void regions_of(const struct numeric_tree *t, const struct flt_cond *c, uint32_t *first,
                       uint32_t *last)
{
	uint32_t low = region_of(t, c->low), high = region_of(t, c->high);
	*first = c->low_inclusive ? low : low + 1;
	*last = c->high_inclusive ? high : high - 1;
}

typedef void (*visit_fn)(struct numeric_tree *t, uint32_t node, struct ref ref);

/* Calls visit for each of the segment tree's nodes that together cover regions
 * [first, last] (the leaves are size and up). */
static void cover(struct numeric_tree *t, uint32_t first, uint32_t last, visit_fn visit,
                  struct ref ref)
{
	for (uint32_t l = first + t->size, r = last + t->size + 1; l < r; l /= 2, r /= 2) {
		if (l & 1)
			visit(t, l++, ref);
		if (r & 1)
			visit(t, --r, ref);
	}
}

/* Every numeric condition of the path, over the nodes that cover its regions. */
static void cover_conditions(const struct path *p, struct numeric_tree *t, visit_fn visit)
{
	for (uint32_t i = 0; i < p->other_count; i++) {
		const struct flt_cond *c = p->others[i].cond;
		uint32_t first, last;
		if (c->op != FLT_OP_NUMERIC)
			continue;
		regions_of(t, c, &first, &last);
		if (first <= last)
			cover(t, first, last, visit, p->others[i].ref);
	}
}

static void count_node(struct numeric_tree *t, uint32_t node, struct ref ref)
{
	t->node_first[node + 1]++;
}

static void fill_node(struct numeric_tree *t, uint32_t node, struct ref ref)
{
	t->refs[t->node_first[node]++] = ref;
}

/* The distinct bounds of the path's n numeric conditions, ascending. */
static int collect_bounds(const struct path *p, struct numeric_tree *t, uint32_t n)
{
	t->bounds = malloc(2 * n * sizeof(double));
	if (t->bounds == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->other_count; i++) {
		const struct flt_cond *c = p->others[i].cond;
		if (c->op == FLT_OP_NUMERIC) {
			t->bounds[t->bound_count++] = c->low;
			t->bounds[t->bound_count++] = c->high;
		}
	}
	t->bound_count = sort_distinct(t->bounds, t->bound_count, sizeof(double), compare_doubles);
	return 0;
}

/* The path's numeric conditions, when there are many, into a tree and out of the list. */
static int build_numeric_tree(struct flt_matcher *m, struct path *p)
{
	struct numeric_tree *t = &p->numeric;
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->other_count; i++)
		n += p->others[i].cond->op == FLT_OP_NUMERIC;
	if (n < NUMERIC_TREE_MIN)
		return 0;
	if (collect_bounds(p, t, n) != 0)
		return -ENOMEM;
	t->size = 1;
	while (t->size < 2 * t->bound_count + 1)
		t->size *= 2;
	t->node_first = calloc(2 * t->size + 1, sizeof(uint32_t));
	if (t->node_first == NULL)
		return -ENOMEM;
	/* Count each node's conditions, lay the nodes out one after another, place them. */
	cover_conditions(p, t, count_node);
	for (uint32_t node = 0; node < 2 * t->size; node++)
		t->node_first[node + 1] += t->node_first[node];
	t->refs = malloc((t->node_first[2 * t->size] + 1) * sizeof(struct ref));
	if (t->refs == NULL)
		return -ENOMEM;
	cover_conditions(p, t, fill_node);
	/* Placing moved each node's start to the next one's: back by one node. */
	memmove(t->node_first + 1, t->node_first, 2 * t->size * sizeof(uint32_t));
	t->node_first[0] = 0;
	m->bytes += t->bound_count * sizeof(double) + (2 * t->size + 1) * sizeof(uint32_t) +
	            t->node_first[2 * t->size] * sizeof(struct ref);
	uint32_t kept = 0;
	for (uint32_t i = 0; i < p->other_count; i++) {
		if (p->others[i].cond->op != FLT_OP_NUMERIC)
			p->others[kept++] = p->others[i];
	}
	p->other_count = p->listed_count = kept;
	return 0;
}

/* Puts a path's wildcards with a literal segment behind an Aho-Corasick prefilter. */
static int build_wildcard_automaton(struct flt_matcher *m, struct path *p)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < p->other_count; i++)
		count += p->others[i].cond->op == FLT_OP_WILDCARD;
	if (count < AUTOMATON_WILDCARDS_MIN)
		return 0;
	char **segments = calloc(count, sizeof(char *));
	size_t *lengths = calloc(count, sizeof(size_t));
	p->ac_other = calloc(count, sizeof(uint32_t));
	uint32_t n = 0;
	int rc = segments && lengths && p->ac_other ? 0 : -ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < p->other_count; i++) {
		const struct flt_cond *cond = p->others[i].cond;
		if (cond->op != FLT_OP_WILDCARD)
			continue;
		char *segment = malloc(cond->values[0].length + 1);
		size_t length = segment ? flt_wildcard_longest_literal(
		                              cond->values[0].text, cond->values[0].length, segment)
		                        : 0;
		if (length == 0) {
			free(segment); /* no literal to look for: it stays in the list */
			continue;
		}
		segments[n] = segment;
		lengths[n] = length;
		p->ac_other[n++] = i;
	}
	if (rc == 0 && n > 0)
		rc = flt_ac_build(&p->ac, (const char *const *)segments, lengths, n);
	if (rc == -E2BIG)
		rc = 0; /* too large an automaton: the list is still correct */
	if (rc == 0 && p->ac.node_count > 0)
		rc = list_automaton_wildcards_last(p, n);
	m->bytes += flt_ac_bytes(&p->ac);
	for (uint32_t k = 0; k < n; k++)
		free(segments[k]);
	free(segments);
	free(lengths);
	return rc;
}

static int build(struct flt_matcher *m)
{
	const struct flt_compiler *c = &m->rules;
	uint32_t paths_max = count_path_prefixes(c) + 1;
	m->path_slots = power_of_two_above(paths_max);
	m->path_table = calloc(m->path_slots, sizeof(*m->path_table));
	m->paths = calloc(paths_max, sizeof(*m->paths));
	m->sub_count = c->count;
	m->subs = calloc(c->count + 1, sizeof(*m->subs));
	m->late = calloc(c->count + 1, sizeof(*m->late));
	m->rule_ids = calloc(c->count + 1, sizeof(*m->rule_ids));
	uint32_t literal_count = count_literals(c);
	struct tuple *tuples = calloc(literal_count + 1, sizeof(*tuples));
	int rc =
	    m->path_table && m->paths && m->subs && m->late && m->rule_ids && tuples ? 0 : -ENOMEM;
	for (uint32_t s = 0; rc == 0 && s < c->count; s++) {
		for (uint32_t f = 0; rc == 0 && f < c->subrules[s].field_count; f++)
			rc = add_path(m, c->subrules[s].fields[f].path, true);
	}
	uint32_t tuple_count = 0;
	for (uint32_t s = 0; rc == 0 && s < c->count; s++) {
		m->subs[s].rule = dense_rule(m, c->subrules[s].rule_id);
		m->subs[s].field_count = c->subrules[s].field_count;
		for (uint32_t f = 0; rc == 0 && f < c->subrules[s].field_count; f++)
			rc = index_field(m, s, f, tuples, &tuple_count);
		if (m->subs[s].absent_ok_mask != 0 || m->subs[s].need_mask == 0)
			m->late[m->late_count++] = s;
	}
	if (rc == 0)
		rc = build_literals(m, tuples, tuple_count);
	note_signatures_below(m);
	note_children(m);
	for (uint32_t i = 0; rc == 0 && i < m->path_count; i++) {
		rc = build_numeric_tree(m, &m->paths[i]);
		if (rc == 0)
			rc = build_wildcard_automaton(m, &m->paths[i]);
		if (m->paths[i].other_count > m->others_max)
			m->others_max = m->paths[i].other_count;
	}
	free(tuples);
	m->bytes += sizeof(*m) + m->path_slots * sizeof(uint32_t) +
	            paths_max * sizeof(struct path) +
	            c->count * (sizeof(struct sub) + 2 * sizeof(uint32_t)) +
	            m->ref_count * sizeof(struct ref);
	return rc;
}

void flt_matcher_free(struct flt_matcher *m)
{
	if (m == NULL)
		return;
	for (uint32_t i = 0; m->paths != NULL && i < m->path_count; i++) {
		free(m->paths[i].text);
		for (int k = 0; k < TABLE_KINDS; k++) {
			free(m->paths[i].tables[k].entries);
			free(m->paths[i].tables[k].lengths);
		}
		free(m->paths[i].others);
		free(m->paths[i].ac_other);
		flt_ac_free(&m->paths[i].ac);
		free(m->paths[i].numeric.bounds);
		free(m->paths[i].numeric.node_first);
		free(m->paths[i].numeric.refs);
	}
	free(m->paths);
	free(m->path_table);
	free(m->subs);
	free(m->late);
	free(m->rule_ids);
	free(m->refs);
	flt_compiler_clear(&m->rules);
	free(m);
}

struct flt_matcher *flt_compile(const struct flt_compiler *c)
{
	struct flt_matcher *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->limits = c->limits;
	if (flt_compiler_copy(c, &m->rules) != 0 || build(m) != 0) {
		flt_matcher_free(m);
		return NULL;
	}
	return m;
}

size_t flt_matcher_bytes(const struct flt_matcher *m)
{
	return m->bytes;
}

struct flt_scratch *flt_scratch_new(const struct flt_matcher *m)
{
	struct flt_scratch *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->matcher = m;
	uint32_t subs = m->sub_count + 1;
	s->sub_stamp = calloc(subs, sizeof(*s->sub_stamp));
	s->sub_mask = calloc(subs, sizeof(*s->sub_mask));
	s->candidates = calloc(subs, sizeof(*s->candidates));
	s->path_seen = calloc(m->path_count + 1, sizeof(*s->path_seen));
	s->rule_stamp = calloc(m->rule_count + 1, sizeof(*s->rule_stamp));
	s->buffers.strings = malloc(FLT_STRING_BYTES_MAX);
	s->other_stamp = calloc(m->others_max + 1, sizeof(*s->other_stamp));
	if (!s->other_stamp || !s->sub_stamp || !s->sub_mask || !s->candidates || !s->path_seen ||
	    !s->rule_stamp || !s->buffers.strings) {
		flt_scratch_free(s);
		return NULL;
	}
	return s;
}

void flt_scratch_free(struct flt_scratch *s)
{
	if (s == NULL)
		return;
	free(s->sub_stamp);
	free(s->sub_mask);
	free(s->candidates);
	free(s->path_seen);
	free(s->rule_stamp);
	free(s->buffers.strings);
	free(s->other_stamp);
	free(s);
}

/* ---- matching ---- */

static int want(void *ctx, uint32_t parent, uint64_t parent_hash, const char *key, size_t n,
                uint32_t *index, uint64_t *hash, uint64_t *key_filter)
{
	const struct flt_matcher *m = ((struct flt_scratch *)ctx)->matcher;
	const struct children *c =
	    parent == FLT_PATH_ROOT ? &m->top_children : &m->paths[parent].children;
	uint32_t i = NIL;
	if (c->count <= FEW_CHILDREN) {
		for (uint32_t k = 0; k < c->count && i == NIL; k++) {
			const struct path *child = &m->paths[c->index[k]];
			if (child->segment_length == n && same_bytes(child->segment, key, n))
				i = c->index[k];
		}
		if (i == NIL && memchr(key, '.', n) == NULL)
			return 0; /* not a child, and names no path deeper down */
		if (i != NIL)
			*hash = m->paths[i].hash;
	}
	if (i == NIL) {
		bool dot;
		*hash = mix(parent_hash, segment_hash(key, n, &dot));
		i = dot ? find_dotted(m, parent, parent_hash, key, n, hash)
		        : find_segment(m, parent, key, n, *hash);
	}
	if (i == NIL)
		return 0;
	*index = i;
	*key_filter = m->paths[i].below_signatures;
	return m->paths[i].leaf ? 2 : 1;
}

static void mark(struct flt_scratch *s, struct ref ref)
{
	const struct sub *sub = &s->matcher->subs[ref.subrule];
	if (s->sub_stamp[ref.subrule] != s->stamp) {
		s->sub_stamp[ref.subrule] = s->stamp;
		s->sub_mask[ref.subrule] = 0;
	}
	uint64_t before = s->sub_mask[ref.subrule];
	uint64_t after = before | 1ull << ref.field;
	s->sub_mask[ref.subrule] = after;
	bool late = sub->absent_ok_mask != 0 || sub->need_mask == 0;
	/* Exactly once: when the last field a leaf must satisfy is satisfied. */
	if (!late && (before & sub->need_mask) != sub->need_mask &&
	    (after & sub->need_mask) == sub->need_mask)
		s->candidates[s->candidate_count++] = ref.subrule;
}

/* Every sub-rule field a table entry stands for. */
static void mark_all(struct flt_scratch *s, const struct literal *l)
{
	for (uint32_t r = 0; r < l->ref_count; r++)
		mark(s, s->matcher->refs[l->ref_first + r]);
}

/* The exact value's table entry, if any. */
static void mark_literal(struct flt_scratch *s, const struct table *t, const struct flt_leaf *leaf)
{
	uint32_t mask = t->slots - 1;
	for (uint32_t i = (uint32_t)hash_leaf(leaf) & mask; t->entries[i].key.type != 0;
	     i = (i + 1) & mask) {
		if (same_leaf(&t->entries[i].key, leaf)) {
			mark_all(s, &t->entries[i]);
			return;
		}
	}
}

/* The entry of a string table for the n bytes at text, whose hash is h, if any. */
static void mark_string(struct flt_scratch *s, const struct table *t, bool fold, uint64_t h,
                        const char *text, size_t n)
{
	uint32_t mask = t->slots - 1;
	for (uint32_t i = (uint32_t)h & mask; t->entries[i].key.type != 0; i = (i + 1) & mask) {
		const struct flt_leaf *key = &t->entries[i].key;
		if (key->length == n && (fold ? flt_equals_ignore_case(key->text, n, text, n)
		                              : same_bytes(key->text, text, n))) {
			mark_all(s, &t->entries[i]);
			return;
		}
	}
}

/* A prefix or suffix table: one probe per distinct length, the hash extended between. */
static void mark_affixes(struct flt_scratch *s, const struct table *t, enum table_kind kind,
                         const struct flt_leaf *leaf)
{
	bool fold = ignores_case(kind), suffix = is_suffix(kind);
	uint64_t h = STRING_HASH_SEED;
	size_t hashed = 0;
	for (uint32_t k = 0; k < t->length_count && t->lengths[k] <= leaf->length; k++) {
		size_t n = t->lengths[k];
		for (; hashed < n; hashed++)
			h = extend_hash(
			    h, suffix ? leaf->text[leaf->length - 1 - hashed] : leaf->text[hashed],
			    fold);
		mark_string(s, t, fold, h, suffix ? leaf->text + leaf->length - n : leaf->text, n);
	}
}

/* The numeric conditions that hold for v: those on the way from its region to the root. */
static void mark_numeric(struct flt_scratch *s, const struct numeric_tree *t, double v)
{
	for (uint32_t node = region_of(t, v) + t->size; node != 0; node /= 2) {
		for (uint32_t r = t->node_first[node]; r < t->node_first[node + 1]; r++)
			mark(s, t->refs[r]);
	}
}

/* Every table of the path the leaf finds an entry in. */
static void mark_tables(struct flt_scratch *s, const struct path *p, const struct flt_leaf *leaf)
{
	if (p->table_kinds & 1u << TABLE_EXACT)
		mark_literal(s, &p->tables[TABLE_EXACT], leaf);
	if (leaf->type != FLT_STRING)
		return;
	if (p->table_kinds & 1u << TABLE_IGNORE_CASE)
		mark_string(s, &p->tables[TABLE_IGNORE_CASE], true,
		            string_hash(leaf->text, leaf->length, TABLE_IGNORE_CASE), leaf->text,
		            leaf->length);
	uint32_t affixes = p->table_kinds & ~(1u << TABLE_EXACT | 1u << TABLE_IGNORE_CASE);
	for (; affixes != 0; affixes &= affixes - 1) {
		enum table_kind k = (enum table_kind)__builtin_ctz(affixes);
		mark_affixes(s, &p->tables[k], k, leaf);
	}
}

/* One automaton pass over the value; only wildcards whose segment occurs are tried. */
static void prefiltered_wildcards(struct flt_scratch *s, const struct path *p,
                                  const struct flt_leaf *leaf)
{
	if (++s->leaf_stamp == 0) {
		memset(s->other_stamp, 0, (s->matcher->others_max + 1) * sizeof(uint32_t));
		s->leaf_stamp = 1;
	}
	const struct flt_ac *ac = &p->ac;
	uint32_t node = 0;
	for (size_t i = 0; i < leaf->length; i++) {
		node = ac->next[node * 256 + (uint8_t)leaf->text[i]];
		for (uint32_t k = 0; k < ac->out_count[node]; k++) {
			uint32_t other = p->ac_other[ac->outputs[ac->out_first[node] + k]];
			if (s->other_stamp[other] == s->leaf_stamp)
				continue;
			s->other_stamp[other] = s->leaf_stamp;
			if (flt_cond_matches(p->others[other].cond, leaf))
				mark(s, p->others[other].ref);
		}
	}
}

static bool on_leaf(void *ctx, uint32_t path_index, const struct flt_leaf *leaf,
                    bool outside_arrays)
{
	struct flt_scratch *s = ctx;
	const struct path *p = &s->matcher->paths[path_index];
	bool first = s->path_seen[path_index] != s->stamp;
	s->path_seen[path_index] = s->stamp;
	if (p->table_kinds != 0)
		mark_tables(s, p, leaf);
	if (p->numeric.size != 0 && leaf->type == FLT_NUMBER)
		mark_numeric(s, &p->numeric, leaf->number);
	if (p->ac.node_count > 0 && leaf->type == FLT_STRING)
		prefiltered_wildcards(s, p, leaf);
	for (uint32_t i = 0; i < p->listed_count; i++) {
		const struct flt_cond *cond = p->others[i].cond;
		bool matches = cond->op == FLT_OP_NUMERIC
		                   ? leaf->type == FLT_NUMBER && flt_in_range(cond, leaf->number)
		                   : flt_cond_matches(cond, leaf);
		if (matches)
			mark(s, p->others[i].ref);
	}
	/* A leaf path read outside any array is read for good: once all are, nothing left
	 * in the event can change the answer (a duplicate key aside: docs/patterns.md). */
	return outside_arrays && first && ++s->leaves_done == s->matcher->leaf_path_count;
}

/* A late sub-rule: every field satisfied by a leaf, or by absence where that counts. */
static bool late_matches(const struct flt_scratch *s, uint32_t index)
{
	const struct sub *sub = &s->matcher->subs[index];
	uint64_t mask = s->sub_stamp[index] == s->stamp ? s->sub_mask[index] : 0;
	if ((mask & sub->need_mask) != sub->need_mask)
		return false;
	for (uint32_t f = 0; f < sub->field_count; f++) {
		bool absent = s->path_seen[sub->field_path[f]] != s->stamp;
		if ((sub->absent_ok_mask >> f & 1) && !(mask >> f & 1) && !absent)
			return false;
	}
	return true;
}

static uint32_t emit(struct flt_scratch *s, uint32_t sub, uint32_t count, uint32_t *ids,
                     uint32_t capacity)
{
	uint32_t rule = s->matcher->subs[sub].rule;
	if (s->rule_stamp[rule] == s->stamp)
		return count;
	s->rule_stamp[rule] = s->stamp;
	if (count < capacity)
		ids[count] = s->matcher->rule_ids[rule];
	return count + 1;
}

static bool member_done(void *ctx)
{
	struct flt_scratch *s = ctx;
	return ++s->top_done >= s->matcher->top_count;
}

/* The scan that only validates: strict, or with the block validator for containers. */
static int validate_scan(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                         size_t event_bytes, bool strict)
{
	if (event_bytes > m->limits.event_bytes_max)
		return -EINVAL;
	/* A top-level key filter of 0: no member is wanted, so no hook is called. */
	struct flt_scan_hooks hooks = {.ctx = s, .top_key_filter = 0, .strict = strict};
	return flt_scan(event, event_bytes, m->limits.depth_max, &hooks, &s->buffers);
}

/*
 * Validation: the block validator vouches for most events whole (flt_valid.c); what it
 * cannot tell the scanner decides, itself handing the top-level members' containers to
 * the block validator again (one with an escape leaves the others fast). The answer is
 * the strict scanner's either way.
 */
int flt_validate(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                 size_t event_bytes)
{
	if (event_bytes > m->limits.event_bytes_max)
		return -EINVAL;
	if (flt_valid_blocks(event, event_bytes, m->limits.depth_max))
		return 0;
	return validate_scan(m, s, event, event_bytes, false);
}

int flt_validate_strict(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                        size_t event_bytes)
{
	return validate_scan(m, s, event, event_bytes, true);
}

enum scan_kind {
	SCAN_FULL,      /* validate while matching; what no rule reads by blocks if it can */
	SCAN_STRICT,    /* validate every byte by the strict scanner */
	SCAN_VALIDATED, /* flt_match_validated: step over, and stop early */
};

static int match(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                 size_t event_bytes, uint32_t *rule_ids, uint32_t capacity,
                 enum scan_kind kind);

/*
 * The full scan, in one pass: the scanner reads and validates what rules name, and the
 * containers no rule reads go to the block validator (the strict scanner takes those it
 * cannot vouch for). Same answers as the strict scan.
 */
int flt_match(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
              size_t event_bytes, uint32_t *rule_ids, uint32_t capacity)
{
	return match(m, s, event, event_bytes, rule_ids, capacity, SCAN_FULL);
}

int flt_match_strict(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                     size_t event_bytes, uint32_t *rule_ids, uint32_t capacity)
{
	return match(m, s, event, event_bytes, rule_ids, capacity, SCAN_STRICT);
}

int flt_match_validated(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                        size_t event_bytes, uint32_t *rule_ids, uint32_t capacity)
{
	return match(m, s, event, event_bytes, rule_ids, capacity, SCAN_VALIDATED);
}

static int match(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                 size_t event_bytes, uint32_t *rule_ids, uint32_t capacity,
                 enum scan_kind kind)
{
	if (event_bytes > m->limits.event_bytes_max)
		return -EINVAL;
	if (++s->stamp == 0) { /* wrapped: old stamps could collide */
		memset(s->sub_stamp, 0, (m->sub_count + 1) * sizeof(uint32_t));
		memset(s->path_seen, 0, (m->path_count + 1) * sizeof(uint32_t));
		memset(s->rule_stamp, 0, (m->rule_count + 1) * sizeof(uint32_t));
		s->stamp = 1;
	}
	s->candidate_count = 0;
	s->top_done = 0;
	s->leaves_done = 0;
	struct flt_scan_hooks hooks = {.want = want,
	                               .on_leaf = on_leaf,
	                               .ctx = s,
	                               .member_done = kind == SCAN_VALIDATED ? member_done : NULL,
	                               .top_key_filter = m->top_signatures,
	                               .validated = kind == SCAN_VALIDATED,
	                               .strict = kind == SCAN_STRICT};
	if (flt_scan(event, event_bytes, m->limits.depth_max, &hooks, &s->buffers) != 0)
		return -EINVAL;
	uint32_t count = 0;
	for (uint32_t i = 0; i < s->candidate_count; i++)
		count = emit(s, s->candidates[i], count, rule_ids, capacity);
	for (uint32_t i = 0; i < m->late_count; i++) {
		if (late_matches(s, m->late[i]))
			count = emit(s, m->late[i], count, rule_ids, capacity);
	}
	return (int)count;
}
