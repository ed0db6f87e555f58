/* Fuzz target: the pattern compiler; accepted patterns must compile and match. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flt_limits limits;
	flt_limits_default(&limits);
	struct flt_compiler *c = flt_compiler_new(&limits);
	char error[256];
	if (flt_add_rule(c, 1, (const char *)data, size, error, sizeof(error)) == 0) {
		struct flt_matcher *m = flt_compile(c);
		if (m == NULL)
			abort();
		struct flt_scratch *s = flt_scratch_new(m);
		uint32_t ids[2];
		const char *event = "{\"a\":{\"b\":[1,\"x\",null]},\"c\":\"10.1.2.3\"}";
		if (flt_match(m, s, event, strlen(event), ids, 2) < 0)
			abort(); /* a valid event is never an error */
		flt_scratch_free(s);
		flt_matcher_free(m);
		if (flt_remove_rule(c, 1) != 0)
			abort();
	} else if (error[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	flt_compiler_free(c);
	return 0;
}
