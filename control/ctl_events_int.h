/*
 * Between ctl_events.c (the API: validation, ARNs, AWS's errors) and
 * ctl_events_store.c (the tables). Every change runs in one transaction that
 * also bumps the store's version; reads return rows as JSON objects in the API's
 * member names, so the API adds only what depends on the configuration (ARNs).
 */
#ifndef BB_CTL_EVENTS_INT_H
#define BB_CTL_EVENTS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_events.h"

struct ev_bus {
	int64_t id;
	char name[BB_BUS_NAME_BYTES_MAX + 1];
	char description[CTL_EVENTS_DESCRIPTION_BYTES_MAX + 1];
	bool memory;
	int64_t created_s;
	int64_t modified_s;
};

/* A rule as PutRule gives it; text fields NULL when absent. */
struct ev_rule {
	const char *name;
	bool enabled;
	const char *pattern;
	const char *schedule;
	const char *description;
	const char *role_arn;
};

/* A target as the snapshot carries it, and spec: its PutTargets entry (JSON text). */
struct ev_target {
	const char *id;
	const char *arn; /* as given, for ListRuleNamesByTarget */
	uint32_t kind;   /* enum bb_target_kind */
	const char *resource;
	uint32_t input_kind; /* enum bb_target_input */
	const char *input;
	const char *input_paths_map;
	const char *message_group_id;
	uint32_t retry_attempts_max;
	uint32_t event_age_s_max;
	const char *dead_letter_queue;
	const char *spec;
};

enum ev_tagged { EV_TAGGED_BUS = 1, EV_TAGGED_RULE = 2 };

/* 0, -ENOENT, -EIO. */
int ev_bus_get(struct ctl_store *store, const char *name, struct ev_bus *out);
/* 0 with *out; -EEXIST; -ENOSPC past BB_BUS_COUNT_MAX. */
int ev_bus_create(struct ctl_store *store, const char *name, const char *description, bool memory,
                  struct ev_bus *out);
/* Deletes the bus, its rules, their targets and the tags of all. 0 or -ENOENT. */
int ev_bus_delete(struct ctl_store *store, int64_t bus_id);
/* {"Name", "Description"?, "CreationTime", "LastModifiedTime"} for Describe/List. */
int ev_bus_list(struct ctl_store *store, const char *prefix, const char *after, size_t limit,
                json_t **out);

/* Creates or replaces; *rule_id is the rule's id. -ENOSPC past a limit. */
int ev_rule_put(struct ctl_store *store, int64_t bus_id, const struct ev_rule *rule,
                int64_t *rule_id);
/* {"Name", "EventPattern"?, "ScheduleExpression"?, "State", "Description"?, "RoleArn"?}
 * with the rule's id; 0 or -ENOENT. */
int ev_rule_get(struct ctl_store *store, int64_t bus_id, const char *name, json_t **out,
                int64_t *rule_id);
/* 0, -ENOENT, -ENOTEMPTY (it has targets). */
int ev_rule_delete(struct ctl_store *store, int64_t bus_id, const char *name);
/* 0 (and *changed when the state moved) or -ENOENT. */
int ev_rule_set_state(struct ctl_store *store, int64_t bus_id, const char *name, bool enabled,
                      bool *changed);
int ev_rule_list(struct ctl_store *store, int64_t bus_id, const char *prefix, const char *after,
                 size_t limit, json_t **out);
/* Names of the bus's rules with a target of this ARN, by name. */
int ev_rule_names_by_target(struct ctl_store *store, int64_t bus_id, const char *arn,
                            const char *after, size_t limit, json_t **out);

/* Adds or replaces targets by Id; -ENOSPC when the rule would have more than
 * BB_TARGETS_PER_RULE_MAX or the store more than BB_TARGET_COUNT_MAX. */
int ev_targets_put(struct ctl_store *store, int64_t rule_id, const struct ev_target *targets,
                   size_t count);
/* Removes the targets of these Ids (an array of strings); absent ones are no change. */
int ev_targets_remove(struct ctl_store *store, int64_t rule_id, json_t *ids, bool *changed);
/* The PutTargets entries, by Id. */
int ev_targets_list(struct ctl_store *store, int64_t rule_id, const char *after, size_t limit,
                    json_t **out);

/* Tags: a {"Key","Value"} array; -ENOSPC past CTL_EVENTS_TAGS_PER_RESOURCE_MAX. */
int ev_tags_set(struct ctl_store *store, enum ev_tagged kind, int64_t id, json_t *tags);
int ev_tags_remove(struct ctl_store *store, enum ev_tagged kind, int64_t id, json_t *keys);
int ev_tags_list(struct ctl_store *store, enum ev_tagged kind, int64_t id, json_t **out);
/* The value of one tag, or -ENOENT; *value malloc'd. */
int ev_tag_get(struct ctl_store *store, enum ev_tagged kind, int64_t id, const char *key,
               char **value);

/* An archive (CreateArchive, UpdateArchive): text NULL when absent; retention_days < 0
 * (UpdateArchive only) leaves it as it is. */
struct ev_archive {
	const char *name;
	int64_t bus_id;
	const char *description;
	const char *pattern;
	int64_t retention_days;
};

/* 0, -EEXIST, -ENOSPC past CTL_EVENTS_ARCHIVES_MAX. */
int ev_archive_create(struct ctl_store *store, const struct ev_archive *archive);
/* {"ArchiveName", "EventBusName", "Description"?, "EventPattern"?, "RetentionDays",
 * "CreationTime"}; 0 or -ENOENT. */
int ev_archive_get(struct ctl_store *store, const char *name, json_t **out);
/* Changes what the archive gives (bus_id unused); 0 or -ENOENT. */
int ev_archive_update(struct ctl_store *store, const struct ev_archive *archive);
int ev_archive_delete(struct ctl_store *store, const char *name);
/* By name, of one bus (bus_id < 0: all). */
int ev_archive_list(struct ctl_store *store, const char *prefix, int64_t bus_id,
                    const char *after, size_t limit, json_t **out);

/* ---- the archive calls (ctl_events_archive.c), dispatched by ctl_events_handle ---- */

void ev_create_archive(const struct ctl_events_context *c, json_t *request,
                       struct ctl_sqs_result *out);
void ev_describe_archive(const struct ctl_events_context *c, json_t *request,
                         struct ctl_sqs_result *out);
void ev_list_archives(const struct ctl_events_context *c, json_t *request,
                      struct ctl_sqs_result *out);
void ev_update_archive(const struct ctl_events_context *c, json_t *request,
                       struct ctl_sqs_result *out);
void ev_delete_archive(const struct ctl_events_context *c, json_t *request,
                       struct ctl_sqs_result *out);

/* ---- ctl_events.c's helpers the archive calls share ---- */

/* A string member (ctl_events.c's get_string): false when out has AWS's error. */
bool ev_get_string(json_t *request, const char *key, bool required, size_t bytes_max,
                   const char **value, struct ctl_sqs_result *out);
/* The pattern compiles with busbard's limits, else InvalidEventPatternException in out. */
bool ev_check_pattern(const char *pattern, struct ctl_sqs_result *out);
/* A bus of the store by its name or ARN (EventSourceArn); ResourceNotFoundException. */
bool ev_find_bus(const struct ctl_events_context *c, json_t *request, const char *key,
                 struct ev_bus *bus, struct ctl_sqs_result *out);

/* ---- checks (ctl_events_check.c): true, or false with AWS's reason in why ---- */

/* A bus: 1-BB_BUS_NAME_BYTES_MAX of alphanumerics and . - _ (custom: no '/', not "aws."). */
bool ev_bus_name_ok(const char *name);
/* A rule name, a target Id: 1-64 of alphanumerics and . - _ */
bool ev_rule_name_ok(const char *name);
bool ev_target_id_ok(const char *id);
/* An archive name: 1-48 of alphanumerics and . - _ */
bool ev_archive_name_ok(const char *name);
/* "a.b.c.d:port" from "udp://a.b.c.d:port" (busbar's UDP target), into out. */
bool ev_udp_arn(const char *arn, char *out, size_t out_bytes);

#endif
