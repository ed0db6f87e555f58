/* Fuzz target: flt_number's grammar and value, against strtod over the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double value;
	size_t n = flt_number((const char *)data, size, &value);
	if (n > size || (n == 0 && flt_number((const char *)data, size, NULL) != 0))
		abort();
	if (n == 0)
		return 0;
	char text[64];
	memcpy(text, data, n);
	text[n] = '\0';
	char *end;
	double expected = strtod(text, &end);
	if ((size_t)(end - text) != n || memcmp(&value, &expected, sizeof(value)) != 0)
		abort();
	return 0;
}
