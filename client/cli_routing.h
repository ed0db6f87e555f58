/*
 * The busbar command's arguments for the routing data calls (publish, publish-batch,
 * put-events, and --attribute on send; docs/cli-routing.md),
 * apart from main so tests and a fuzz target can feed them anything. Everything parsed
 * points into the command line or into what a struct here owns until its _free.
 */
#ifndef BB_CLI_ROUTING_H
#define BB_CLI_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "busbar.h"

/* getopt values of the routing options: above cli_events.h's 0x101, so no letter is taken. */
enum cli_routing_opt {
	CLI_OPT_SUBJECT = 0x110,
	CLI_OPT_ATTRIBUTE,
	CLI_OPT_STRUCTURE,
	CLI_OPT_ENTRIES,
	CLI_OPT_SOURCE,
	CLI_OPT_DETAIL_TYPE,
	CLI_OPT_DETAIL,
	CLI_OPT_RESOURCE,
	CLI_OPT_TIME,
	CLI_OPT_BUS,
};

/* Entries of the long options table (getopt.h's struct option) for the options above. */
#define CLI_ROUTING_LONG_OPTIONS                                                              \
	{"subject", required_argument, NULL, CLI_OPT_SUBJECT},                                \
	    {"attribute", required_argument, NULL, CLI_OPT_ATTRIBUTE},                        \
	    {"structure", required_argument, NULL, CLI_OPT_STRUCTURE},                        \
	    {"entries", required_argument, NULL, CLI_OPT_ENTRIES},                            \
	    {"source", required_argument, NULL, CLI_OPT_SOURCE},                              \
	    {"detail-type", required_argument, NULL, CLI_OPT_DETAIL_TYPE},                    \
	    {"detail", required_argument, NULL, CLI_OPT_DETAIL},                              \
	    {"resource", required_argument, NULL, CLI_OPT_RESOURCE},                          \
	    {"time", required_argument, NULL, CLI_OPT_TIME},                                  \
	    {"bus", required_argument, NULL, CLI_OPT_BUS}

/* An entries file (FILE, or - for standard input): room for a PublishBatch's 256 KiB of
 * messages written as JSON with every byte escaped, and for a PutEvents' 256 KiB. */
#define CLI_ENTRIES_FILE_BYTES_MAX (2u << 20)
/* What one entries file may own: each attribute's decoded Binary value, each Detail
 * written from an object. */
#define CLI_ENTRIES_OWNED_MAX (WIRE_BATCH_ENTRIES_MAX * (WIRE_ATTRIBUTES_MAX + 1))

/* The routing options of one command line; zeroed before the first option. */
struct cli_routing_args {
	const char *subject;
	const char *structure; /* "json" or NULL */
	const char *entries_path;
	const char *bus; /* put-events --bus NAME|ARN; NULL: the default bus */
	const char *source;
	const char *detail_type;
	const char *detail;
	uint64_t time_ms; /* 0: busbard's time */
	const char *resources[WIRE_EVENT_RESOURCES_MAX];
	uint32_t resource_count;
	struct bb_attribute attributes[WIRE_ATTRIBUTES_MAX];
	uint32_t attribute_count;
	void *owned[WIRE_ATTRIBUTES_MAX]; /* decoded Binary values */
	uint32_t owned_count;
};

/* The option is one of the routing options. */
bool cli_routing_is_option(int opt);
/* Takes one routing option: 0, or -EINVAL with why filled in (a repeated option over its
 * limit, a bad attribute, time or structure). */
__attribute__((warn_unused_result)) int cli_routing_option(struct cli_routing_args *args,
                                                           int opt, const char *value,
                                                           char *why, size_t why_bytes);
void cli_routing_args_free(struct cli_routing_args *args);

/* NAME=TYPE:VALUE, TYPE String, Number or Binary with an optional .suffix; a Binary VALUE
 * is base64, decoded into *owned (the caller frees it). 0 or -EINVAL with why. */
__attribute__((warn_unused_result)) int cli_parse_attribute(const char *text,
                                                            struct bb_attribute *out,
                                                            void **owned, char *why,
                                                            size_t why_bytes);
/* An RFC 3339 date and time (2024-05-01T12:00:00Z, fractions and +hh:mm offsets too) in
 * milliseconds since the epoch: 0 or -EINVAL. */
__attribute__((warn_unused_result)) int cli_parse_time(const char *text, uint64_t *ms_out);

enum cli_entries_kind {
	CLI_ENTRIES_PUBLISH,    /* PublishBatchRequestEntry */
	CLI_ENTRIES_PUT_EVENTS, /* PutEventsRequestEntry */
};

/* An entries file read: one JSON object a line (blank lines skipped), 1 to
 * WIRE_BATCH_ENTRIES_MAX of them, with AWS's member names. */
struct cli_entries {
	enum cli_entries_kind kind;
	uint32_t count;
	json_t *lines[WIRE_BATCH_ENTRIES_MAX];
	struct bb_publish_entry publish[WIRE_BATCH_ENTRIES_MAX];
	struct bb_event events[WIRE_BATCH_ENTRIES_MAX];
	struct bb_attribute attributes[WIRE_BATCH_ENTRIES_MAX][WIRE_ATTRIBUTES_MAX];
	const char *resources[WIRE_BATCH_ENTRIES_MAX][WIRE_EVENT_RESOURCES_MAX];
	const char *bus; /* put-events: the entries' EventBusName, one for all; else NULL */
	void *owned[CLI_ENTRIES_OWNED_MAX];
	uint32_t owned_count;
};

/* Parses `length` bytes of entries into *out (which it zeroes first): 0, or -EINVAL with
 * why naming the line, -ENOMEM. cli_entries_free releases it either way. */
__attribute__((warn_unused_result)) int cli_entries_parse(const char *text, size_t length,
                                                          enum cli_entries_kind kind,
                                                          struct cli_entries *out, char *why,
                                                          size_t why_bytes);
/* Reads the file at path ("-": standard input, up to CLI_ENTRIES_FILE_BYTES_MAX) and parses
 * it: 0, -EINVAL, -EFBIG or the -errno of opening or reading, with why. */
__attribute__((warn_unused_result)) int cli_entries_read(const char *path,
                                                         enum cli_entries_kind kind,
                                                         struct cli_entries *out, char *why,
                                                         size_t why_bytes);
void cli_entries_free(struct cli_entries *entries);

/* A bus's name from its name or its ARN (arn:...:event-bus/NAME), as busbard takes it. */
const char *cli_bus_name(const char *name_or_arn);
/* The usage lines of publish, publish-batch, put-events and send --attribute. */
void cli_routing_usage(FILE *out);

#endif
