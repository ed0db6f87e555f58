/* Fuzz target: the event scanner, validating and trusting, against rules that use every operator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const rules[] = {
    "{\"a\":[\"x\",1,null,true]}",
    "{\"a\":{\"b\":[{\"prefix\":\"p\"},{\"suffix\":\"s\"}]}}",
    "{\"c\":[{\"numeric\":[\">\",0,\"<\",10]}],\"d\":[{\"exists\":false}]}",
    "{\"e\":[{\"cidr\":\"10.0.0.0/8\"},{\"wildcard\":\"*x*y\"}]}",
    "{\"$or\":[{\"f\":[{\"anything-but\":[\"q\"]}]},{\"g\":[{\"equals-ignore-case\":\"Z\"}]}]}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct flt_matcher *m;
	static struct flt_scratch *s;
	if (m == NULL) {
		struct flt_limits limits;
		flt_limits_default(&limits);
		struct flt_compiler *c = flt_compiler_new(&limits);
		char error[256];
		for (uint32_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			if (flt_add_rule(c, i, rules[i], strlen(rules[i]), error, sizeof(error)) !=
			    0)
				abort();
		}
		m = flt_compile(c);
		s = flt_scratch_new(m);
		flt_compiler_free(c);
	}
	uint32_t ids[8];
	int n = flt_match(m, s, (const char *)data, size, ids, 8);
	if (n > 5)
		abort(); /* each rule at most once */
	/* Trusting a broken event gives a meaningless answer, but never reads outside it. */
	n = flt_match_validated(m, s, (const char *)data, size, ids, 8);
	if (n > 5)
		abort();
	return 0;
}
