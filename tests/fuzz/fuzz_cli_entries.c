/*
 * Fuzz target: the busbar command's entries files (client/cli_routing.h). The input is
 * a file's bytes, read once as publish-batch entries and once as put-events entries;
 * a parse gives at most WIRE_BATCH_ENTRIES_MAX entries whose texts can be read to their
 * ends, or a refusal with a reason, and releases everything either way (ASan says so).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cli_routing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every text an entry points to, so a dangling one shows under ASan. */
static size_t touch(const struct cli_entries *e)
{
	size_t bytes = 0;
	for (uint32_t i = 0; i < e->count; i++) {
		const struct bb_publish_entry *p = &e->publish[i];
		const struct bb_event *v = &e->events[i];
		bytes += p->id != NULL ? strlen(p->id) : 0;
		bytes += p->message_bytes + (v->detail != NULL ? strlen(v->detail) : 0);
		for (uint32_t j = 0; j < p->options.attribute_count; j++)
			bytes += strlen(p->options.attributes[j].name) +
			         p->options.attributes[j].binary_bytes;
		for (uint32_t j = 0; j < v->resource_count; j++)
			bytes += strlen(v->resources[j]);
	}
	return bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cli_entries entries;
	static const enum cli_entries_kind kinds[] = {CLI_ENTRIES_PUBLISH, CLI_ENTRIES_PUT_EVENTS};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char why[256] = "";
		int rc = cli_entries_parse((const char *)data, size, kinds[k], &entries, why,
		                           sizeof(why));
		if (entries.count > WIRE_BATCH_ENTRIES_MAX || (rc == 0 && entries.count == 0))
			__builtin_trap();
		if (rc != 0 && why[0] == '\0' && rc != -ENOMEM)
			__builtin_trap(); /* a refusal always says why */
		(void)touch(&entries);
		cli_entries_free(&entries);
	}
	return 0;
}
