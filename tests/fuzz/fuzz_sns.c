/* Fuzz target: SNS filter policies (first byte picks the scope) and the attributes event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct flt_limits limits;
	flt_limits_default(&limits);
	struct flt_compiler *c = flt_compiler_new(&limits);
	char error[256];
	enum flt_sns_scope scope = data[0] & 1 ? FLT_SNS_MESSAGE_BODY : FLT_SNS_MESSAGE_ATTRIBUTES;
	if (flt_add_sns_policy(c, 1, (const char *)data + 1, size - 1, scope, error,
	                       sizeof(error)) == 0) {
		struct flt_matcher *m = flt_compile(c);
		if (m == NULL)
			abort();
		flt_matcher_free(m);
	} else if (error[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	/* The same bytes as an attribute value of each type. */
	static const char *const types[] = {"String", "Number", "String.Array", "Binary"};
	char event[4096];
	size_t length;
	struct flt_sns_attribute a = {"a", types[data[0] % 4], (const char *)data + 1, size - 1};
	(void)flt_sns_attributes_event(&a, 1, event, sizeof(event), &length);
	flt_compiler_free(c);
	return 0;
}
