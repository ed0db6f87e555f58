/*
 * Key policies (see bb_policy.h). Compiling happens where allocation is
 * allowed (busbar-control, busbard's service thread); bb_policy_allows runs on
 * a worker per request, so it reads only the compiled form and allocates
 * nothing. Glob matching is the greedy two-pointer walk: linear in practice,
 * at most pattern x text steps, never recursive.
 */
#include "bb_policy.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#define POLICY_VERSION "2012-10-17"

static int fail(char *error, size_t error_bytes, int rc, const char *reason)
{
	snprintf(error, error_bytes, "policy: %s", reason);
	return rc;
}

static int add_pattern(struct bb_policy *p, const char *text, char *error, size_t error_bytes)
{
	size_t bytes = strlen(text) + 1;
	if (bytes == 1)
		return fail(error, error_bytes, -EINVAL, "an empty Action or Resource");
	if (p->pattern_count == BB_POLICY_PATTERNS_MAX)
		return fail(error, error_bytes, -E2BIG, "too many actions and resources");
	if (bytes > sizeof(p->text) - p->text_bytes)
		return fail(error, error_bytes, -E2BIG, "too long");
	memcpy(p->text + p->text_bytes, text, bytes);
	p->pattern_offset[p->pattern_count++] = (uint16_t)p->text_bytes;
	p->text_bytes += (uint32_t)bytes;
	return 0;
}

/* A string or a non-empty array of strings, appended as patterns. */
static int add_patterns(struct bb_policy *p, json_t *value, const char *member, uint16_t *count,
                        char *error, size_t error_bytes)
{
	char reason[96];
	snprintf(reason, sizeof(reason), "%s must be a string or a list of strings", member);
	if (json_is_string(value)) {
		*count = 1;
		return add_pattern(p, json_string_value(value), error, error_bytes);
	}
	if (!json_is_array(value) || json_array_size(value) == 0)
		return fail(error, error_bytes, -EINVAL, reason);
	size_t i;
	json_t *item;
	json_array_foreach(value, i, item)
	{
		if (!json_is_string(item))
			return fail(error, error_bytes, -EINVAL, reason);
		int rc = add_pattern(p, json_string_value(item), error, error_bytes);
		if (rc != 0)
			return rc;
	}
	*count = (uint16_t)json_array_size(value);
	return 0;
}

static int check_members(json_t *statement, char *error, size_t error_bytes)
{
	const char *key;
	json_t *value;
	json_object_foreach(statement, key, value)
	{
		bool known = strcmp(key, "Effect") == 0 || strcmp(key, "Action") == 0 ||
		             strcmp(key, "Resource") == 0 || strcmp(key, "Sid") == 0;
		if (!known) {
			char reason[128];
			snprintf(reason, sizeof(reason),
			         "statement member '%.40s' is not supported (Effect, Action, "
			         "Resource, Sid are)",
			         key);
			return fail(error, error_bytes, -EINVAL, reason);
		}
	}
	return 0;
}

static int add_statement(struct bb_policy *p, json_t *statement, char *error, size_t error_bytes)
{
	if (!json_is_object(statement))
		return fail(error, error_bytes, -EINVAL, "a statement must be an object");
	int rc = check_members(statement, error, error_bytes);
	if (rc != 0)
		return rc;
	if (p->statement_count == BB_POLICY_STATEMENTS_MAX)
		return fail(error, error_bytes, -E2BIG, "too many statements");
	const char *effect = json_string_value(json_object_get(statement, "Effect"));
	if (effect == NULL || (strcmp(effect, "Allow") != 0 && strcmp(effect, "Deny") != 0))
		return fail(error, error_bytes, -EINVAL, "Effect must be Allow or Deny");
	struct bb_policy_statement *s = &p->statements[p->statement_count];
	s->deny = strcmp(effect, "Deny") == 0;
	s->first_action = (uint16_t)p->pattern_count;
	rc = add_patterns(p, json_object_get(statement, "Action"), "Action", &s->action_count,
	                  error, error_bytes);
	if (rc != 0)
		return rc;
	s->first_resource = (uint16_t)p->pattern_count;
	rc = add_patterns(p, json_object_get(statement, "Resource"), "Resource", &s->resource_count,
	                  error, error_bytes);
	if (rc == 0)
		p->statement_count++;
	return rc;
}

static int compile_document(struct bb_policy *p, json_t *doc, char *error, size_t error_bytes)
{
	if (!json_is_object(doc))
		return fail(error, error_bytes, -EINVAL, "not a JSON object");
	const char *key;
	json_t *value;
	json_object_foreach(doc, key, value)
	{
		if (strcmp(key, "Version") != 0 && strcmp(key, "Statement") != 0 &&
		    strcmp(key, "Id") != 0)
			return fail(error, error_bytes, -EINVAL,
			            "only Version, Id and Statement may be at the top");
	}
	json_t *version = json_object_get(doc, "Version");
	if (version != NULL &&
	    (!json_is_string(version) || strcmp(json_string_value(version), POLICY_VERSION) != 0))
		return fail(error, error_bytes, -EINVAL, "Version must be \"" POLICY_VERSION "\"");
	json_t *statements = json_object_get(doc, "Statement");
	if (json_is_object(statements))
		return add_statement(p, statements, error, error_bytes);
	if (!json_is_array(statements))
		return fail(error, error_bytes, -EINVAL, "Statement must be an object or a list");
	size_t i;
	json_t *statement;
	json_array_foreach(statements, i, statement)
	{
		int rc = add_statement(p, statement, error, error_bytes);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int bb_policy_compile(const char *json, size_t json_bytes, struct bb_policy *out, char *error,
                      size_t error_bytes)
{
	assert(out != NULL);
	assert(json != NULL || json_bytes == 0);
	/* The pattern arrays need no clearing: only what the counts cover is read. */
	memset(out, 0, offsetof(struct bb_policy, pattern_offset));
	if (json_bytes > BB_POLICY_BYTES_MAX)
		return fail(error, error_bytes, -E2BIG, "longer than BB_POLICY_BYTES_MAX");
	json_error_t parse_error;
	json_t *doc = json_loadb(json, json_bytes, JSON_REJECT_DUPLICATES, &parse_error);
	if (doc == NULL)
		return fail(error, error_bytes, -EINVAL, "not valid JSON");
	int rc = compile_document(out, doc, error, error_bytes);
	json_decref(doc);
	if (rc != 0)
		out->statement_count = 0; /* a refused policy allows nothing */
	return rc;
}

static bool same_char(char a, char b, bool ignore_case)
{
	if (ignore_case)
		return tolower((unsigned char)a) == tolower((unsigned char)b);
	return a == b;
}

bool bb_policy_glob(const char *pattern, const char *text, bool ignore_case)
{
	assert(pattern != NULL && text != NULL);
	const char *star = NULL; /* the last * seen, and where its run started in text */
	const char *star_text = NULL;
	while (*text != '\0') { /* bounded: each pass moves text on or star_text on */
		if (*pattern == '*') {
			star = pattern++;
			star_text = text;
		} else if (*pattern != '\0' &&
		           (*pattern == '?' || same_char(*pattern, *text, ignore_case))) {
			pattern++;
			text++;
		} else if (star != NULL) {
			pattern = star + 1;
			text = ++star_text;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

static bool any_matches(const struct bb_policy *p, uint16_t first, uint16_t count, const char *text,
                        bool ignore_case)
{
	for (uint32_t i = first; i < (uint32_t)first + count; i++) {
		if (bb_policy_glob(p->text + p->pattern_offset[i], text, ignore_case))
			return true;
	}
	return false;
}

bool bb_policy_allows(const struct bb_policy *p, const char *action, const char *resource)
{
	assert(action != NULL && resource != NULL);
	if (p == NULL)
		return false;
	assert(p->statement_count <= BB_POLICY_STATEMENTS_MAX);
	bool allowed = false;
	for (uint32_t i = 0; i < p->statement_count; i++) {
		const struct bb_policy_statement *s = &p->statements[i];
		if (!any_matches(p, s->first_action, s->action_count, action, true))
			continue;
		if (!any_matches(p, s->first_resource, s->resource_count, resource, false))
			continue;
		if (s->deny)
			return false; /* an explicit Deny wins over every Allow */
		allowed = true;
	}
	return allowed;
}

bool bb_policy_queue_arn(const char *region, const char *account_id, const char *queue_name,
                         char *out, size_t out_bytes)
{
	int n = snprintf(out, out_bytes, "arn:aws:sqs:%s:%s:%s", region, account_id, queue_name);
	return n > 0 && (size_t)n < out_bytes;
}
