/* Fuzz target: libbusbar's parser of the Deliver frames busbard pushes to a subscriber. */
#include <stddef.h>
#include <stdint.h>

#include "busbar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bb_delivery d;
	if (bb_delivery_parse(data, size, &d) != 0)
		return 0;
	/* What it points at lies inside the frame: read it all. */
	volatile uint8_t sum = 0;
	const uint8_t *texts[] = {(const uint8_t *)d.source_arn, (const uint8_t *)d.subscription,
	                          (const uint8_t *)d.message_id, d.body};
	uint32_t lengths[] = {d.source_arn_bytes, d.subscription_bytes, d.message_id_bytes,
	                      d.body_bytes};
	for (size_t i = 0; i < 4; i++)
		for (uint32_t j = 0; j < lengths[i]; j++)
			sum ^= texts[i][j];
	(void)sum;
	return 0;
}
