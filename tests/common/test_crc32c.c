/* CRC32C: the standard check value, and continuation across calls. */
#include <criterion/criterion.h>
#include <string.h>

#include "bb_crc32c.h"

Test(crc32c, check_value)
{
	cr_assert_eq(bb_crc32c(0, "123456789", 9), 0xe3069283u);
	cr_assert_eq(bb_crc32c(0, "", 0), 0);
}

Test(crc32c, continues_across_calls)
{
	const char *text = "the quick brown fox jumps over the lazy dog";
	size_t n = strlen(text);
	for (size_t cut = 0; cut <= n; cut++)
		cr_assert_eq(bb_crc32c(bb_crc32c(0, text, cut), text + cut, n - cut), bb_crc32c(0, text, n));
}
