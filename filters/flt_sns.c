/*
 * SNS subscription filter policies (see flt.h): SNS's rules checked over the
 * policy's JSON, then the policy compiles like an event pattern. Attributes
 * become a small JSON event so one matcher serves both scopes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "flt_int.h"

#define SNS_KEYS_MAX         5u
#define SNS_COMBINATIONS_MAX 150u
#define SNS_NUMBER_ABS_MAX   1e9
#define SNS_DECIMALS_SCALE   1e5 /* five digits after the point */
#define SNS_POLICY_BYTES_MAX (256u << 10)

struct sns_check {
	enum flt_sns_scope scope;
	uint32_t keys;
	char *error;
	size_t error_bytes;
};

static int refuse(struct sns_check *k, const char *path, const char *why)
{
	snprintf(k->error, k->error_bytes, "%s: %s", path[0] ? path : "(top)", why);
	return -EINVAL;
}

static bool sns_number(json_t *n)
{
	double v = json_number_value(n);
	double scaled = v * SNS_DECIMALS_SCALE;
	return fabs(v) <= SNS_NUMBER_ABS_MAX && fabs(scaled - round(scaled)) < 1e-6;
}

static int check_operator(struct sns_check *k, const char *path, json_t *item)
{
	const char *op = json_object_iter_key(json_object_iter(item));
	json_t *operand = json_object_iter_value(json_object_iter(item));
	if (op == NULL)
		return refuse(k, path, "empty operator object");
	if ((strcmp(op, "prefix") == 0 || strcmp(op, "suffix") == 0) && !json_is_string(operand))
		return refuse(k, path, "SNS prefix and suffix take a string");
	if (strcmp(op, "anything-but") == 0 && json_is_object(operand) &&
	    json_object_get(operand, "prefix") == NULL)
		return refuse(k, path, "SNS anything-but takes values or {\"prefix\": s}");
	if (strcmp(op, "numeric") == 0) {
		size_t i;
		json_t *v;
		json_array_foreach(operand, i, v)
		{
			if (json_is_number(v) && !sns_number(v))
				return refuse(k, path,
				              "SNS numbers are within +-1e9 with 5 decimals");
		}
	}
	static const char *const allowed[] = {
	    "prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr"};
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (strcmp(op, allowed[i]) == 0)
			return 0;
	}
	return refuse(k, path, "not an operator of SNS filter policies");
}

static int check_list(struct sns_check *k, const char *path, json_t *list)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		if (json_is_number(item) && !sns_number(item))
			return refuse(k, path, "SNS numbers are within +-1e9 with 5 decimals");
		if (json_is_object(item) && check_operator(k, path, item) != 0)
			return -EINVAL;
	}
	return 0;
}

/* Checks an object of the policy; *combinations is the product of its value counts. */
static int check_object(struct sns_check *k, json_t *object, const char *prefix, uint32_t depth,
                        double *combinations)
{
	const char *key;
	json_t *value;
	*combinations = 1;
	if (depth > 16)
		return refuse(k, prefix, "nested too deep");
	json_object_foreach(object, key, value)
	{
		char path[FLT_PATH_BYTES_MAX];
		snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", key);
		double inner = 1;
		if (strcmp(key, "$or") == 0 && json_is_array(value)) {
			double sum = 0;
			size_t i;
			json_t *branch;
			json_array_foreach(value, i, branch)
			{
				double c;
				if (!json_is_object(branch) ||
				    check_object(k, branch, prefix, depth + 1, &c))
					return k->error[0] ? -EINVAL
					                   : refuse(k, path, "$or takes objects");
				sum += c;
			}
			inner = sum;
		} else if (json_is_object(value)) {
			if (k->scope == FLT_SNS_MESSAGE_ATTRIBUTES)
				return refuse(
				    k, path,
				    "attribute policies are flat (use the MessageBody scope)");
			if (check_object(k, value, path, depth + 1, &inner) != 0)
				return -EINVAL;
		} else if (json_is_array(value)) {
			if (++k->keys > SNS_KEYS_MAX)
				return refuse(k, path, "more than 5 keys");
			if (check_list(k, path, value) != 0)
				return -EINVAL;
			inner = (double)json_array_size(value);
		}
		*combinations *= inner;
	}
	return 0;
}

/* SNS's "exists": true wants "a non-null and non-empty value" (its developer guide, key
 * matching), where an event pattern counts a null as present: the sub-rules from first on,
 * which the policy just added, ask for a leaf that is not null. */
static void exists_wants_a_value(struct flt_compiler *c, uint32_t first)
{
	for (uint32_t s = first; s < c->count; s++) {
		const struct flt_subrule *rule = &c->subrules[s];
		for (uint32_t f = 0; f < rule->field_count; f++) {
			for (uint32_t k = 0; k < rule->fields[f].cond_count; k++) {
				struct flt_cond *cond = &rule->fields[f].conds[k];
				if (cond->op == FLT_OP_EXISTS)
					cond->op = FLT_OP_EXISTS_VALUE;
			}
		}
	}
}

int flt_add_sns_policy(struct flt_compiler *c, uint32_t rule_id, const char *policy,
                       size_t policy_bytes, enum flt_sns_scope scope, char *error,
                       size_t error_bytes)
{
	struct sns_check k = {.scope = scope, .error = error, .error_bytes = error_bytes};
	error[0] = '\0';
	if (policy_bytes > SNS_POLICY_BYTES_MAX)
		return refuse(&k, "", "a policy is at most 256 KiB");
	json_t *root = json_loadb(policy, policy_bytes, 0, NULL);
	double combinations = 0;
	int rc = json_is_object(root) ? check_object(&k, root, "", 1, &combinations)
	                              : refuse(&k, "", "a policy is a JSON object");
	json_decref(root);
	if (rc == 0 && combinations > SNS_COMBINATIONS_MAX)
		rc = refuse(&k, "", "more than 150 value combinations");
	if (rc != 0)
		return rc;
	uint32_t first = c->count;
	rc = flt_add_rule_sized(c, rule_id, policy, policy_bytes, SNS_POLICY_BYTES_MAX, error,
	                        error_bytes);
	if (rc == 0)
		exists_wants_a_value(c, first);
	return rc;
}

/* The base type of an attribute's DataType ("Number.float" is a Number). */
static bool type_is(const char *type, const char *base)
{
	size_t n = strlen(base);
	return strncmp(type, base, n) == 0 && (type[n] == '\0' || type[n] == '.');
}

static json_t *attribute_value(const struct flt_sns_attribute *a)
{
	/* String.Array first: "String.Array" is also "String" with a suffix. */
	if (type_is(a->type, "String.Array")) {
		json_t *list = json_loadb(a->value, a->value_bytes, JSON_DECODE_ANY, NULL);
		if (json_is_array(list))
			return list;
		json_decref(list);
		return NULL;
	}
	if (type_is(a->type, "String"))
		return json_stringn(a->value, a->value_bytes);
	if (type_is(a->type, "Number")) {
		json_t *n = json_loadb(a->value, a->value_bytes, JSON_DECODE_ANY, NULL);
		if (json_is_number(n))
			return n;
		json_decref(n);
	}
	return NULL;
}

int flt_sns_attributes_event(const struct flt_sns_attribute *attributes, uint32_t count, char *out,
                             size_t capacity, size_t *length_out)
{
	/* SNS: "exists": false "only matches if at least one attribute is present"; no other
	 * policy can match an empty set either. No event says that, so the caller is told. */
	if (count == 0)
		return -ENODATA;
	json_t *event = json_object();
	int rc = 0;
	for (uint32_t i = 0; i < count && rc == 0; i++) {
		const struct flt_sns_attribute *a = &attributes[i];
		if (type_is(a->type, "Binary"))
			continue; /* SNS ignores Binary attributes in filter policies */
		json_t *value = attribute_value(a);
		rc = value == NULL ? -EINVAL : json_object_set_new(event, a->name, value);
	}
	size_t length = rc == 0 ? json_dumpb(event, out, capacity, JSON_COMPACT) : 0;
	json_decref(event);
	if (rc != 0)
		return -EINVAL;
	if (length > capacity)
		return -ENOBUFS;
	*length_out = length;
	return 0;
}
