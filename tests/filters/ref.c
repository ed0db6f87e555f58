/* Reference interpreter (see ref.h). Recursion and allocation are fine here: clarity is the point.
 */
#include "ref.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- event leaves: (path, value) pairs, arrays flattened ---- */

struct leaves {
	size_t count;
	char **paths;
	json_t **values;
};

static void add_leaf(struct leaves *l, const char *path, json_t *value)
{
	l->paths = realloc(l->paths, (l->count + 1) * sizeof(char *));
	l->values = realloc(l->values, (l->count + 1) * sizeof(json_t *));
	l->paths[l->count] = strdup(path);
	l->values[l->count] = value;
	l->count++;
}

/* The top level's path, told apart by address from an empty key's path "". */
static const char top_level[] = "";

/* "prefix.key", or "key" at the top; the caller frees it. */
static char *join_path(const char *prefix, const char *key)
{
	char *path = malloc(strlen(prefix) + strlen(key) + 2);
	strcpy(path, prefix);
	if (prefix != top_level)
		strcat(path, ".");
	strcat(path, key);
	return path;
}

static void flatten(struct leaves *l, const char *path, json_t *value)
{
	if (json_is_object(value)) {
		const char *key;
		json_t *child;
		json_object_foreach(value, key, child)
		{
			char *sub = join_path(path, key);
			flatten(l, sub, child);
			free(sub);
		}
	} else if (json_is_array(value)) {
		size_t i;
		json_t *child;
		json_array_foreach(value, i, child) flatten(l, path, child);
	} else {
		add_leaf(l, path, value);
	}
}

/* ---- single matchers ---- */

static bool glob(const char *p, const char *t)
{
	if (*p == '\0')
		return *t == '\0';
	if (*p == '*')
		return glob(p + 1, t) || (*t && glob(p, t + 1));
	char want = *p;
	if (*p == '\\' && p[1])
		want = *++p;
	return *t == want && glob(p + 1, t + 1);
}

static bool same_ci(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
	}
	return *a == *b;
}

static bool literal_equal(json_t *pattern, json_t *value)
{
	if (json_is_number(pattern) && json_is_number(value))
		return json_number_value(pattern) == json_number_value(value);
	if (json_is_string(pattern) && json_is_string(value))
		return json_string_length(pattern) == json_string_length(value) &&
		       memcmp(json_string_value(pattern), json_string_value(value),
		              json_string_length(value)) == 0;
	return json_typeof(pattern) == json_typeof(value) && !json_is_number(value) &&
	       !json_is_string(value) && !json_is_object(value) && !json_is_array(value);
}

static bool starts(const char *s, const char *p, bool ci)
{
	size_t n = strlen(p);
	if (strlen(s) < n)
		return false;
	char *head = strndup(s, n);
	bool r = ci ? same_ci(head, p) : strcmp(head, p) == 0;
	free(head);
	return r;
}

static bool ends(const char *s, const char *p, bool ci)
{
	size_t n = strlen(p), m = strlen(s);
	return m >= n && (ci ? same_ci(s + m - n, p) : strcmp(s + m - n, p) == 0);
}

static bool in_cidr(const char *text, const char *block)
{
	char address[64], network[64];
	const char *slash = strchr(block, '/');
	if (!slash || strlen(text) >= sizeof(address) || (size_t)(slash - block) >= sizeof(network))
		return false;
	strcpy(address, text);
	memcpy(network, block, (size_t)(slash - block));
	network[slash - block] = '\0';
	unsigned char a[16] = {0}, n[16] = {0};
	int bits = atoi(slash + 1);
	int family = strchr(network, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, address, a) != 1 || inet_pton(family, network, n) != 1)
		return false;
	for (int b = 0; b < bits; b++) {
		int mask = 0x80 >> (b % 8);
		if ((a[b / 8] & mask) != (n[b / 8] & mask))
			return false;
	}
	return true;
}

static bool any_string(json_t *operand, bool (*test)(const char *, const char *, bool), bool ci,
                       const char *s)
{
	if (json_is_string(operand))
		return test(s, json_string_value(operand), ci);
	size_t i;
	json_t *item;
	json_array_foreach(operand, i, item) if (test(s, json_string_value(item), ci)) return true;
	return false;
}

static bool equal_ci(const char *s, const char *p, bool ci)
{
	(void)ci;
	return same_ci(s, p);
}

static bool glob_test(const char *s, const char *p, bool ci)
{
	(void)ci;
	return glob(p, s);
}

static bool anything_but(json_t *operand, json_t *value)
{
	if (json_is_object(operand)) {
		/* AWS: these forms exclude strings only; null, true, false, numbers pass. */
		if (!json_is_string(value))
			return true;
		const char *s = json_string_value(value);
		json_t *o;
		if ((o = json_object_get(operand, "prefix")))
			return !any_string(o, starts, false, s);
		if ((o = json_object_get(operand, "suffix")))
			return !any_string(o, ends, false, s);
		if ((o = json_object_get(operand, "equals-ignore-case")))
			return !any_string(o, equal_ci, true, s);
		return !any_string(json_object_get(operand, "wildcard"), glob_test, false, s);
	}
	if (!json_is_array(operand))
		return !literal_equal(operand, value);
	size_t i;
	json_t *item;
	json_array_foreach(operand, i, item) if (literal_equal(item, value)) return false;
	return true;
}

static bool numeric(json_t *spec, json_t *value)
{
	if (!json_is_number(value))
		return false;
	double v = json_number_value(value);
	for (size_t i = 0; i + 1 < json_array_size(spec); i += 2) {
		const char *op = json_string_value(json_array_get(spec, i));
		double n = json_number_value(json_array_get(spec, i + 1));
		bool ok = strcmp(op, "=") == 0    ? v == n
		          : strcmp(op, "<") == 0  ? v < n
		          : strcmp(op, "<=") == 0 ? v <= n
		          : strcmp(op, ">") == 0  ? v > n
		                                  : v >= n;
		if (!ok)
			return false;
	}
	return true;
}

/* Does one item of a pattern list accept this leaf value? */
static bool item_accepts(json_t *item, json_t *value)
{
	if (!json_is_object(item))
		return literal_equal(item, value);
	const char *op = json_object_iter_key(json_object_iter(item));
	json_t *operand = json_object_iter_value(json_object_iter(item));
	const char *s = json_is_string(value) ? json_string_value(value) : NULL;
	json_t *ic =
	    json_is_object(operand) ? json_object_get(operand, "equals-ignore-case") : NULL;
	if (strcmp(op, "prefix") == 0)
		return s && starts(s, json_string_value(ic ? ic : operand), ic != NULL);
	if (strcmp(op, "suffix") == 0)
		return s && ends(s, json_string_value(ic ? ic : operand), ic != NULL);
	if (strcmp(op, "equals-ignore-case") == 0)
		return s && same_ci(s, json_string_value(operand));
	if (strcmp(op, "wildcard") == 0)
		return s && glob(json_string_value(operand), s);
	if (strcmp(op, "anything-but") == 0)
		return anything_but(operand, value);
	if (strcmp(op, "numeric") == 0)
		return numeric(operand, value);
	if (strcmp(op, "cidr") == 0)
		return s && in_cidr(s, json_string_value(operand));
	if (strcmp(op, "exists") == 0)
		return json_is_true(operand);
	return false;
}

/* ---- fields, objects, $or ---- */

static bool field_ok(const struct leaves *l, const char *path, json_t *list)
{
	bool absent = true;
	for (size_t i = 0; i < l->count; i++)
		absent = absent && strcmp(l->paths[i], path) != 0;
	size_t k;
	json_t *item;
	json_array_foreach(list, k, item)
	{
		json_t *exists = json_is_object(item) ? json_object_get(item, "exists") : NULL;
		if (exists && json_is_false(exists) && absent)
			return true;
		for (size_t i = 0; i < l->count; i++) {
			if (strcmp(l->paths[i], path) == 0 && item_accepts(item, l->values[i]))
				return true;
		}
	}
	return false;
}

static bool is_or(const char *key, json_t *value)
{
	if (strcmp(key, "$or") != 0 || !json_is_array(value) || json_array_size(value) < 2)
		return false;
	size_t i;
	json_t *item;
	json_array_foreach(value, i, item) if (!json_is_object(item)) return false;
	return true;
}

static bool object_ok(const struct leaves *l, const char *prefix, json_t *object)
{
	const char *key;
	json_t *value;
	json_object_foreach(object, key, value)
	{
		char *path = join_path(prefix, key);
		bool ok;
		if (is_or(key, value)) {
			ok = false;
			size_t i;
			json_t *branch;
			json_array_foreach(value, i, branch) ok =
			    ok || object_ok(l, prefix, branch);
		} else if (json_is_object(value)) {
			ok = object_ok(l, path, value);
		} else {
			ok = field_ok(l, path, value);
		}
		free(path);
		if (!ok)
			return false;
	}
	return true;
}

static bool has_nul(json_t *value)
{
	if (json_is_string(value))
		return strlen(json_string_value(value)) != json_string_length(value);
	const char *key;
	json_t *child;
	size_t i;
	if (json_is_object(value)) {
		json_object_foreach(value, key, child)
		{
			if (has_nul(child))
				return true;
		}
	}
	if (json_is_array(value)) {
		json_array_foreach(value, i, child) if (has_nul(child)) return true;
	}
	return false;
}

int ref_match(const char *pattern, size_t pattern_bytes, const char *event, size_t event_bytes)
{
	json_t *p = json_loadb(pattern, pattern_bytes, JSON_ALLOW_NUL, NULL);
	json_t *e = json_loadb(event, event_bytes, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	int result = -1;
	if (json_is_object(p) && json_is_object(e) && !has_nul(p) && !has_nul(e)) {
		struct leaves l = {0};
		flatten(&l, top_level, e);
		result = object_ok(&l, top_level, p);
		for (size_t i = 0; i < l.count; i++)
			free(l.paths[i]);
		free(l.paths);
		free(l.values);
	}
	json_decref(p);
	json_decref(e);
	return result;
}
