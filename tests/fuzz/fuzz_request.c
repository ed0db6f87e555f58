/* Fuzz target: the dataplane's request parser (header, fields, ranges) and reply framing. */
#include <stddef.h>
#include <stdint.h>

#include "dp_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_request req;
	enum wire_status status = dp_request_parse(data, size, &req);
	if (status != WIRE_OK && dp_request_is_answerable(data, size)) {
		static uint8_t reply[4096];
		(void)dp_reply_error(reply, sizeof(reply), &req.header, status, req.error);
	}
	return 0;
}
