/*
 * Pattern parsing and validation (see flt.h). Patterns are small and parsed
 * on the service thread, so jansson reads them; `$or` is expanded here into
 * sub-rules (one AND of fields each), checked against the combination limit.
 * The walk over nested pattern objects recurses, bounded by depth_max: it is
 * the clearest shape for a tree a few levels deep, and never runs per event.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "flt_int.h"

void flt_limits_default(struct flt_limits *l)
{
	*l = (struct flt_limits){
	    .pattern_bytes_max = 2048,
	    .rules_max = 300,
	    .or_combinations_max = 1000,
	    .fields_per_rule_max = 64,
	    .depth_max = 100,
	    .wildcard_stars_max = 8,
	    .event_bytes_max = 256u << 10,
	};
}

struct flt_compiler *flt_compiler_new(const struct flt_limits *limits)
{
	struct flt_compiler *c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->limits = *limits;
	return c;
}

/* ---- freeing ---- */

static void free_cond(struct flt_cond *cond)
{
	for (uint32_t i = 0; i < cond->value_count; i++)
		free((char *)cond->values[i].text);
	free(cond->values);
}

static void free_field(struct flt_field *f)
{
	for (uint32_t i = 0; i < f->cond_count; i++)
		free_cond(&f->conds[i]);
	free(f->conds);
	free(f->path);
}

static void free_subrule(struct flt_subrule *r)
{
	for (uint32_t i = 0; i < r->field_count; i++)
		free_field(&r->fields[i]);
	free(r->fields);
}

void flt_compiler_free(struct flt_compiler *c)
{
	if (c == NULL)
		return;
	flt_compiler_clear(c);
	free(c);
}

/* ---- parsing state ---- */

/* The alternatives a pattern expands to so far: each a list of fields (an AND). */
struct alternatives {
	uint32_t count;
	struct flt_subrule *items;
};

struct parse {
	const struct flt_limits *limits;
	char *error;
	size_t error_bytes;
	bool failed;
};

static int fail(struct parse *p, const char *path, const char *format, ...)
{
	if (p->failed)
		return -EINVAL;
	char reason[256];
	va_list args;
	va_start(args, format);
	vsnprintf(reason, sizeof(reason), format, args);
	va_end(args);
	snprintf(p->error, p->error_bytes, "%s: %s", path[0] ? path : "(top)", reason);
	p->failed = true;
	return -EINVAL;
}

static char *copy_text(const char *text, size_t length)
{
	char *out = malloc(length + 1);
	if (out != NULL) {
		memcpy(out, text, length);
		out[length] = '\0';
	}
	return out;
}

static struct flt_leaf string_leaf(json_t *value)
{
	size_t n = json_string_length(value);
	return (struct flt_leaf){
	    .type = FLT_STRING, .text = copy_text(json_string_value(value), n), .length = n};
}

/* A literal of a pattern list (string, number, true, false, null), or false. */
static bool literal_leaf(json_t *value, struct flt_leaf *out)
{
	if (json_is_string(value))
		*out = string_leaf(value);
	else if (json_is_number(value))
		*out = (struct flt_leaf){.type = FLT_NUMBER, .number = json_number_value(value)};
	else if (json_is_true(value))
		*out = (struct flt_leaf){.type = FLT_TRUE};
	else if (json_is_false(value))
		*out = (struct flt_leaf){.type = FLT_FALSE};
	else if (json_is_null(value))
		*out = (struct flt_leaf){.type = FLT_NULL};
	else
		return false;
	return true;
}

static int add_value(struct flt_cond *cond, struct flt_leaf leaf)
{
	struct flt_leaf *grown = realloc(cond->values, (cond->value_count + 1) * sizeof(leaf));
	if (grown == NULL)
		return -ENOMEM;
	cond->values = grown;
	cond->values[cond->value_count++] = leaf;
	return 0;
}

/* ---- operators ---- */

static int wildcard_value(struct parse *p, const char *path, json_t *value, struct flt_cond *cond)
{
	if (!json_is_string(value))
		return fail(p, path, "wildcard takes a string");
	const char *text = json_string_value(value);
	size_t n = json_string_length(value);
	uint32_t stars = 0;
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\\') {
			if (i + 1 == n || (text[i + 1] != '*' && text[i + 1] != '\\'))
				return fail(p, path, "wildcard escapes are \\* and \\\\ only");
			i++;
		} else if (text[i] == '*') {
			if (i + 1 < n && text[i + 1] == '*')
				return fail(p, path, "wildcard has consecutive '*'");
			stars++;
		}
	}
	if (stars > p->limits->wildcard_stars_max)
		return fail(p, path, "wildcard has %u '*'; the limit is %u (complexity)", stars,
		            p->limits->wildcard_stars_max);
	return add_value(cond, string_leaf(value));
}

/* prefix/suffix: a string, or {"equals-ignore-case": string}. */
static int affix(struct parse *p, const char *path, json_t *value, uint8_t op, uint8_t op_ic,
                 struct flt_cond *cond)
{
	json_t *ic = json_is_object(value) && json_object_size(value) == 1
	                 ? json_object_get(value, "equals-ignore-case")
	                 : NULL;
	if (ic != NULL)
		value = ic;
	if (!json_is_string(value))
		return fail(p, path,
		            "prefix and suffix take a string or {\"equals-ignore-case\": s}");
	cond->op = ic != NULL ? op_ic : op;
	return add_value(cond, string_leaf(value));
}

/* A string, or a list of strings, each added (validated as wildcards when asked). */
static int strings(struct parse *p, const char *path, json_t *value, bool wildcard,
                   struct flt_cond *cond)
{
	json_t *single[1] = {value};
	size_t count = json_is_array(value) ? json_array_size(value) : 1;
	if (count == 0)
		return fail(p, path, "empty list");
	for (size_t i = 0; i < count; i++) {
		json_t *item = json_is_array(value) ? json_array_get(value, i) : single[0];
		if (wildcard) {
			if (wildcard_value(p, path, item, cond) != 0)
				return -EINVAL;
		} else if (!json_is_string(item) || add_value(cond, string_leaf(item)) != 0) {
			return fail(p, path, "expected a string or a list of strings");
		}
	}
	return 0;
}

static int anything_but_object(struct parse *p, const char *path, json_t *value,
                               struct flt_cond *cond)
{
	const char *key = json_object_iter_key(json_object_iter(value));
	json_t *operand = json_object_iter_value(json_object_iter(value));
	if (json_object_size(value) != 1)
		return fail(p, path, "anything-but takes one operator");
	if (strcmp(key, "prefix") == 0 || strcmp(key, "suffix") == 0) {
		cond->op = key[0] == 'p' ? FLT_OP_ANYTHING_BUT_PREFIX : FLT_OP_ANYTHING_BUT_SUFFIX;
		return strings(p, path, operand, false, cond);
	}
	if (strcmp(key, "equals-ignore-case") == 0) {
		cond->op = FLT_OP_ANYTHING_BUT_IGNORE_CASE;
		return strings(p, path, operand, false, cond);
	}
	if (strcmp(key, "wildcard") == 0) {
		cond->op = FLT_OP_ANYTHING_BUT_WILDCARD;
		return strings(p, path, operand, true, cond);
	}
	return fail(p, path, "anything-but does not take \"%s\"", key);
}

static int anything_but(struct parse *p, const char *path, json_t *value, struct flt_cond *cond)
{
	cond->op = FLT_OP_ANYTHING_BUT;
	if (json_is_object(value))
		return anything_but_object(p, path, value, cond);
	if (json_is_string(value) || json_is_number(value)) {
		struct flt_leaf leaf;
		literal_leaf(value, &leaf);
		return add_value(cond, leaf);
	}
	if (!json_is_array(value) || json_array_size(value) == 0)
		return fail(p, path, "anything-but takes a value, a list or an operator");
	size_t i;
	json_t *item;
	bool numbers = json_is_number(json_array_get(value, 0));
	json_array_foreach(value, i, item)
	{
		struct flt_leaf leaf;
		bool same_kind = numbers ? json_is_number(item) : json_is_string(item);
		if (!same_kind || !literal_leaf(item, &leaf))
			return fail(p, path, "anything-but lists are all strings or all numbers");
		if (add_value(cond, leaf) != 0)
			return -ENOMEM;
	}
	return 0;
}

static bool numeric_op(json_t *value, const char *op)
{
	return json_is_string(value) && strcmp(json_string_value(value), op) == 0;
}

static int bound(struct parse *p, const char *path, json_t *op, json_t *n, struct flt_cond *cond)
{
	if (!json_is_number(n) || !isfinite(json_number_value(n)))
		return fail(p, path, "numeric bounds are finite numbers");
	double v = json_number_value(n);
	if (numeric_op(op, ">") || numeric_op(op, ">=")) {
		cond->low = v;
		cond->low_inclusive = numeric_op(op, ">=");
	} else if (numeric_op(op, "<") || numeric_op(op, "<=")) {
		cond->high = v;
		cond->high_inclusive = numeric_op(op, "<=");
	} else {
		return fail(p, path, "numeric operators are =, <, <=, >, >=");
	}
	return 0;
}

static int numeric(struct parse *p, const char *path, json_t *value, struct flt_cond *cond)
{
	size_t n = json_is_array(value) ? json_array_size(value) : 0;
	cond->op = FLT_OP_NUMERIC;
	cond->low = -INFINITY;
	cond->high = INFINITY;
	if (n == 2 && numeric_op(json_array_get(value, 0), "=")) {
		json_t *v = json_array_get(value, 1);
		if (!json_is_number(v))
			return fail(p, path, "numeric = takes a number");
		cond->low = cond->high = json_number_value(v);
		cond->low_inclusive = cond->high_inclusive = true;
		return 0;
	}
	if (n != 2 && n != 4)
		return fail(p, path, "numeric takes [op, n] or [lower op, n, upper op, n]");
	for (size_t i = 0; i < n; i += 2) {
		if (bound(p, path, json_array_get(value, i), json_array_get(value, i + 1), cond) !=
		    0)
			return -EINVAL;
	}
	bool two_sided = n == 4 && isfinite(cond->low) && isfinite(cond->high);
	if (n == 4 && !two_sided)
		return fail(p, path, "a numeric range has one lower and one upper bound");
	if (cond->low > cond->high)
		return fail(p, path, "numeric range is empty");
	return 0;
}

static int cidr(struct parse *p, const char *path, json_t *value, struct flt_cond *cond)
{
	const char *text = json_string_value(value);
	const char *slash = text ? strchr(text, '/') : NULL;
	char *end;
	if (slash == NULL)
		return fail(p, path, "cidr takes \"address/prefix\"");
	long bits = strtol(slash + 1, &end, 10);
	if (!flt_parse_ip(text, (size_t)(slash - text), cond->network, &cond->family_bytes) ||
	    *end != '\0' || end == slash + 1 || bits < 0 || bits > cond->family_bytes * 8)
		return fail(p, path, "not a valid IPv4 or IPv6 CIDR block");
	cond->op = FLT_OP_CIDR;
	cond->prefix_bits = (uint8_t)bits;
	for (uint32_t bit = (uint32_t)bits; bit < cond->family_bytes * 8u; bit++)
		cond->network[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

/* One operator object of a pattern list: {"prefix": ...} and the rest. */
static int operator(struct parse *p, const char *path, json_t *object, struct flt_cond *cond)
{
	if (json_object_size(object) != 1)
		return fail(p, path, "an operator object has exactly one key");
	const char *key = json_object_iter_key(json_object_iter(object));
	json_t *value = json_object_iter_value(json_object_iter(object));
	if (strcmp(key, "prefix") == 0)
		return affix(p, path, value, FLT_OP_PREFIX, FLT_OP_PREFIX_IGNORE_CASE, cond);
	if (strcmp(key, "suffix") == 0)
		return affix(p, path, value, FLT_OP_SUFFIX, FLT_OP_SUFFIX_IGNORE_CASE, cond);
	if (strcmp(key, "equals-ignore-case") == 0) {
		cond->op = FLT_OP_EQUALS_IGNORE_CASE;
		if (!json_is_string(value))
			return fail(p, path, "equals-ignore-case takes a string");
		return add_value(cond, string_leaf(value));
	}
	if (strcmp(key, "wildcard") == 0) {
		cond->op = FLT_OP_WILDCARD;
		return wildcard_value(p, path, value, cond);
	}
	if (strcmp(key, "anything-but") == 0)
		return anything_but(p, path, value, cond);
	if (strcmp(key, "numeric") == 0)
		return numeric(p, path, value, cond);
	if (strcmp(key, "cidr") == 0)
		return cidr(p, path, value, cond);
	if (strcmp(key, "exists") == 0) {
		if (!json_is_boolean(value))
			return fail(p, path, "exists takes true or false");
		cond->op = json_is_true(value) ? FLT_OP_EXISTS : FLT_OP_ABSENT;
		return 0;
	}
	return fail(p, path, "unknown operator \"%s\"", key);
}

/* ---- fields and $or ---- */

static int field_from_list(struct parse *p, const char *path, json_t *list, struct flt_field *f)
{
	if (json_array_size(list) == 0)
		return fail(p, path, "empty list never matches");
	f->path = copy_text(path, strlen(path));
	f->conds = calloc(json_array_size(list), sizeof(*f->conds));
	if (f->path == NULL || f->conds == NULL)
		return -ENOMEM;
	struct flt_cond *exact = NULL; /* all literals of the list in one condition */
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		struct flt_leaf leaf;
		if (literal_leaf(item, &leaf)) {
			if (exact == NULL) {
				exact = &f->conds[f->cond_count++];
				exact->op = FLT_OP_EXACT;
			}
			if (add_value(exact, leaf) != 0)
				return -ENOMEM;
		} else if (json_is_object(item)) {
			if (operator(p, path, item, &f->conds[f->cond_count++]) != 0)
				return -EINVAL;
		} else {
			return fail(p, path, "list items are values or operator objects");
		}
	}
	return 0;
}

static int append_field(struct alternatives *alts, const struct flt_field *f, uint32_t max)
{
	for (uint32_t a = 0; a < alts->count; a++) {
		struct flt_subrule *r = &alts->items[a];
		if (r->field_count == max)
			return -E2BIG;
		struct flt_field *grown = realloc(r->fields, (r->field_count + 1) * sizeof(*f));
		if (grown == NULL)
			return -ENOMEM;
		r->fields = grown;
		struct flt_field *copy = &r->fields[r->field_count++];
		*copy = (struct flt_field){.path = copy_text(f->path, strlen(f->path)),
		                           .cond_count = f->cond_count};
		copy->conds = calloc(f->cond_count, sizeof(*copy->conds));
		for (uint32_t c = 0; c < f->cond_count; c++) {
			copy->conds[c] = f->conds[c];
			copy->conds[c].values =
			    calloc(f->conds[c].value_count + 1, sizeof(struct flt_leaf));
			for (uint32_t v = 0; v < f->conds[c].value_count; v++) {
				const struct flt_leaf *leaf = &f->conds[c].values[v];
				copy->conds[c].values[v] = *leaf;
				if (leaf->text != NULL)
					copy->conds[c].values[v].text =
					    copy_text(leaf->text, leaf->length);
			}
		}
	}
	return 0;
}

static void free_alternatives(struct alternatives *alts)
{
	for (uint32_t a = 0; a < alts->count; a++)
		free_subrule(&alts->items[a]);
	free(alts->items);
	alts->items = NULL;
	alts->count = 0;
}

static int copy_alternatives(const struct alternatives *from, struct alternatives *to)
{
	to->count = 0;
	to->items = calloc(from->count ? from->count : 1, sizeof(*to->items));
	if (to->items == NULL)
		return -ENOMEM;
	for (uint32_t a = 0; a < from->count; a++) {
		to->items[to->count++] = (struct flt_subrule){0};
		struct alternatives one = {.count = 1, .items = &to->items[a]};
		for (uint32_t f = 0; f < from->items[a].field_count; f++) {
			if (append_field(&one, &from->items[a].fields[f], UINT32_MAX) != 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int walk(struct parse *p, json_t *object, const char *prefix, uint32_t depth,
                struct alternatives *alts);

/*
 * The top level's prefix, told apart by address: a member of an empty key one
 * level down has the path ".a", a member of the top level the path "a".
 */
static const char top_level[] = "";

/* "$or": [ {...}, {...} ]: each branch continues every alternative so far. */
static int expand_or(struct parse *p, json_t *branches, const char *prefix, uint32_t depth,
                     struct alternatives *alts)
{
	struct alternatives all = {0};
	size_t i;
	json_t *branch;
	json_array_foreach(branches, i, branch)
	{
		struct alternatives one;
		int rc = copy_alternatives(alts, &one);
		if (rc == 0)
			rc = walk(p, branch, prefix, depth + 1, &one);
		uint64_t total = (uint64_t)all.count + one.count;
		if (rc == 0 && total > p->limits->or_combinations_max)
			rc = fail(p, prefix, "$or makes more than %u combinations",
			          p->limits->or_combinations_max);
		struct flt_subrule *grown =
		    rc == 0 ? realloc(all.items, total * sizeof(*grown)) : NULL;
		if (grown == NULL) {
			free_alternatives(&one);
			free_alternatives(&all);
			return rc != 0 ? rc : -ENOMEM;
		}
		all.items = grown;
		memcpy(all.items + all.count, one.items, one.count * sizeof(*one.items));
		all.count = (uint32_t)total;
		free(one.items);
	}
	free_alternatives(alts);
	*alts = all;
	return 0;
}

static bool is_or(const char *key, json_t *value)
{
	if (strcmp(key, "$or") != 0 || !json_is_array(value) || json_array_size(value) < 2)
		return false;
	size_t i;
	json_t *item;
	json_array_foreach(value, i, item)
	{
		if (!json_is_object(item))
			return false;
	}
	return true;
}

static int walk(struct parse *p, json_t *object, const char *prefix, uint32_t depth,
                struct alternatives *alts)
{
	if (depth > p->limits->depth_max)
		return fail(p, prefix, "nested deeper than %u", p->limits->depth_max);
	const char *key;
	json_t *value;
	json_object_foreach(object, key, value)
	{
		char path[FLT_PATH_BYTES_MAX];
		int n = snprintf(path, sizeof(path), "%s%s%s", prefix,
		                 prefix == top_level ? "" : ".", key);
		if (n < 0 || (size_t)n >= sizeof(path))
			return fail(p, prefix, "path too long");
		int rc;
		if (is_or(key, value)) {
			rc = expand_or(p, value, prefix, depth, alts);
		} else if (strcmp(key, "$or") == 0) {
			rc = fail(p, path, "$or takes a list of at least two objects");
		} else if (json_is_object(value)) {
			rc = walk(p, value, path, depth + 1, alts);
		} else if (json_is_array(value)) {
			struct flt_field f = {0};
			rc = field_from_list(p, path, value, &f);
			if (rc == 0)
				rc = append_field(alts, &f, p->limits->fields_per_rule_max);
			if (rc == -E2BIG)
				rc = fail(p, path, "more than %u fields in a rule",
				          p->limits->fields_per_rule_max);
			free_field(&f);
		} else {
			rc = fail(p, path, "a pattern value is an object or a list");
		}
		if (rc != 0)
			return p->failed ? -EINVAL : rc;
	}
	return 0;
}

static bool has_rule(const struct flt_compiler *c, uint32_t rule_id)
{
	for (uint32_t i = 0; i < c->count; i++) {
		if (c->subrules[i].rule_id == rule_id)
			return true;
	}
	return false;
}

int flt_add_rule(struct flt_compiler *c, uint32_t rule_id, const char *pattern,
                 size_t pattern_bytes, char *error, size_t error_bytes)
{
	return flt_add_rule_sized(c, rule_id, pattern, pattern_bytes, c->limits.pattern_bytes_max,
	                          error, error_bytes);
}

int flt_add_rule_sized(struct flt_compiler *c, uint32_t rule_id, const char *pattern,
                       size_t pattern_bytes, size_t bytes_max, char *error, size_t error_bytes)
{
	struct parse p = {.limits = &c->limits, .error = error, .error_bytes = error_bytes};
	if (pattern_bytes > bytes_max)
		return fail(&p, "", "pattern is %zu bytes; the limit is %zu", pattern_bytes,
		            bytes_max);
	bool new_rule = !has_rule(c, rule_id);
	if (new_rule && c->rule_count >= c->limits.rules_max)
		return fail(&p, "", "already %u rules; the limit", c->limits.rules_max);
	json_error_t json_error;
	json_t *root = json_loadb(pattern, pattern_bytes, 0, &json_error);
	if (root == NULL)
		return fail(&p, "", "not JSON: %s", json_error.text);
	struct alternatives alts = {.count = 1, .items = calloc(1, sizeof(struct flt_subrule))};
	int rc = !json_is_object(root) ? fail(&p, "", "a pattern is a JSON object")
	         : alts.items == NULL  ? -ENOMEM
	                               : walk(&p, root, top_level, 1, &alts);
	json_decref(root);
	uint32_t total = c->count + alts.count;
	struct flt_subrule *grown = rc == 0 ? realloc(c->subrules, total * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		free_alternatives(&alts);
		return rc != 0 ? rc : -ENOMEM;
	}
	for (uint32_t a = 0; a < alts.count; a++)
		alts.items[a].rule_id = rule_id;
	c->subrules = grown;
	memcpy(c->subrules + c->count, alts.items, alts.count * sizeof(*alts.items));
	c->count = total;
	c->rule_count += new_rule;
	free(alts.items);
	return 0;
}

int flt_remove_rule(struct flt_compiler *c, uint32_t rule_id)
{
	uint32_t kept = 0;
	for (uint32_t i = 0; i < c->count; i++) {
		if (c->subrules[i].rule_id == rule_id)
			free_subrule(&c->subrules[i]);
		else
			c->subrules[kept++] = c->subrules[i];
	}
	bool removed = kept != c->count;
	c->count = kept;
	c->rule_count -= removed;
	return removed ? 0 : -ENOENT;
}

int flt_compiler_copy(const struct flt_compiler *from, struct flt_compiler *to)
{
	*to = (struct flt_compiler){.limits = from->limits, .rule_count = from->rule_count};
	to->subrules = calloc(from->count + 1, sizeof(*to->subrules));
	if (to->subrules == NULL)
		return -ENOMEM;
	for (uint32_t s = 0; s < from->count; s++) {
		to->subrules[s].rule_id = from->subrules[s].rule_id;
		to->count++;
		struct alternatives one = {.count = 1, .items = &to->subrules[s]};
		for (uint32_t f = 0; f < from->subrules[s].field_count; f++) {
			if (append_field(&one, &from->subrules[s].fields[f], UINT32_MAX) != 0)
				return -ENOMEM;
		}
	}
	return 0;
}

void flt_compiler_clear(struct flt_compiler *c)
{
	for (uint32_t i = 0; i < c->count; i++)
		free_subrule(&c->subrules[i]);
	free(c->subrules);
	c->subrules = NULL;
	c->count = 0;
}
