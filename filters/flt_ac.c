/*
 * Aho-Corasick over the literal segments of a path's wildcard conditions: one
 * pass over a string value finds every segment it contains, so only the
 * wildcards whose segment occurs are matched in full. This is what keeps a
 * thousand `*XYZ*` rules from costing a thousand matches per event. The
 * automaton is a full DFA (256 transitions a node), built once at compile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flt_int.h"

struct build_node {
	uint32_t fail;
	uint32_t own_count;
	uint32_t *own; /* patterns ending here */
};

static int add_output(uint32_t **list, uint32_t *count, uint32_t pattern)
{
	uint32_t *grown = realloc(*list, (*count + 1) * sizeof(uint32_t));
	if (grown == NULL)
		return -ENOMEM;
	*list = grown;
	grown[(*count)++] = pattern;
	return 0;
}

static int insert(struct flt_ac *ac, struct build_node *nodes, const uint8_t *text, size_t n,
                  uint32_t pattern)
{
	uint32_t node = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t *next = &ac->next[node * 256 + text[i]];
		if (*next == 0)
			*next = ac->node_count++;
		node = *next;
	}
	return add_output(&nodes[node].own, &nodes[node].own_count, pattern);
}

/* Breadth first: fail links, completed transitions, and each node's outputs with its fail's. */
static int link(struct flt_ac *ac, struct build_node *nodes)
{
	uint32_t *queue = malloc(ac->node_count * sizeof(uint32_t));
	if (queue == NULL)
		return -ENOMEM;
	uint32_t head = 0, tail = 0;
	for (int c = 0; c < 256; c++) {
		if (ac->next[c] != 0)
			queue[tail++] = ac->next[c];
	}
	while (head < tail) {
		uint32_t node = queue[head++];
		uint32_t fail = nodes[node].fail;
		for (uint32_t k = 0; k < nodes[fail].own_count; k++) {
			if (add_output(&nodes[node].own, &nodes[node].own_count,
			               nodes[fail].own[k]) != 0) {
				free(queue);
				return -ENOMEM;
			}
		}
		for (int c = 0; c < 256; c++) {
			uint32_t *next = &ac->next[node * 256 + c];
			if (*next == 0) {
				*next = ac->next[fail * 256 + c];
				continue;
			}
			nodes[*next].fail = ac->next[fail * 256 + c];
			queue[tail++] = *next;
		}
	}
	free(queue);
	return 0;
}

static int flatten_outputs(struct flt_ac *ac, struct build_node *nodes)
{
	uint32_t total = 0;
	for (uint32_t i = 0; i < ac->node_count; i++)
		total += nodes[i].own_count;
	ac->outputs = malloc((total + 1) * sizeof(uint32_t));
	ac->out_first = malloc(ac->node_count * sizeof(uint32_t));
	ac->out_count = malloc(ac->node_count * sizeof(uint32_t));
	if (!ac->outputs || !ac->out_first || !ac->out_count)
		return -ENOMEM;
	uint32_t at = 0;
	for (uint32_t i = 0; i < ac->node_count; i++) {
		ac->out_first[i] = at;
		ac->out_count[i] = nodes[i].own_count;
		if (nodes[i].own_count > 0) /* own is NULL when there is none */
			memcpy(ac->outputs + at, nodes[i].own,
			       nodes[i].own_count * sizeof(uint32_t));
		at += nodes[i].own_count;
	}
	return 0;
}

int flt_ac_build(struct flt_ac *ac, const char *const *patterns, const size_t *lengths,
                 uint32_t count)
{
	memset(ac, 0, sizeof(*ac));
	size_t nodes_max = 1;
	for (uint32_t i = 0; i < count; i++)
		nodes_max += lengths[i];
	if (nodes_max > FLT_AC_NODES_MAX)
		return -E2BIG;
	ac->next = calloc(nodes_max * 256, sizeof(uint32_t));
	struct build_node *nodes = calloc(nodes_max, sizeof(*nodes));
	int rc = ac->next && nodes ? 0 : -ENOMEM;
	ac->node_count = 1;
	for (uint32_t i = 0; rc == 0 && i < count; i++)
		rc = insert(ac, nodes, (const uint8_t *)patterns[i], lengths[i], i);
	if (rc == 0)
		rc = link(ac, nodes);
	if (rc == 0)
		rc = flatten_outputs(ac, nodes);
	for (size_t i = 0; nodes != NULL && i < nodes_max; i++)
		free(nodes[i].own);
	free(nodes);
	if (rc != 0)
		flt_ac_free(ac);
	return rc;
}

void flt_ac_free(struct flt_ac *ac)
{
	free(ac->next);
	free(ac->outputs);
	free(ac->out_first);
	free(ac->out_count);
	memset(ac, 0, sizeof(*ac));
}

size_t flt_ac_bytes(const struct flt_ac *ac)
{
	return (size_t)ac->node_count * (256 + 2) * sizeof(uint32_t);
}
