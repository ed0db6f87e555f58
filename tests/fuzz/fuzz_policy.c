/*
 * Fuzz target: key policies (common/bb_policy.h). The input is a policy
 * document; a compiled one is asked about a few actions and resources, and
 * compiling never reads past the input or leaves a refused policy allowing.
 */
#include <stddef.h>
#include <stdint.h>

#include "bb_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bb_policy policy;
	char error[128];
	int rc = bb_policy_compile((const char *)data, size, &policy, error, sizeof(error));
	bool allowed =
	    bb_policy_allows(&policy, "sqs:SendMessage", "arn:aws:sqs:local:000000000000:orders");
	(void)bb_policy_allows(&policy, "sqs:DeleteMessage", "arn:aws:sqs:x:y:a*b?c");
	if (rc != 0 && allowed)
		__builtin_trap(); /* a refused policy allows nothing */
	return 0;
}
