/*
 * The SQS body character rule: every range boundary on both sides, overlong encodings,
 * surrogates, truncated sequences and stray continuation bytes, and an exhaustive pass over
 * every code point compared with the rule written out plainly.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bb_utf8.h"

static size_t encode(uint32_t code_point, uint8_t *out)
{
	if (code_point < 0x80u) {
		out[0] = (uint8_t)code_point;
		return 1;
	}
	if (code_point < 0x800u) {
		out[0] = (uint8_t)(0xc0u | code_point >> 6);
		out[1] = (uint8_t)(0x80u | (code_point & 0x3fu));
		return 2;
	}
	if (code_point < 0x10000u) {
		out[0] = (uint8_t)(0xe0u | code_point >> 12);
		out[1] = (uint8_t)(0x80u | (code_point >> 6 & 0x3fu));
		out[2] = (uint8_t)(0x80u | (code_point & 0x3fu));
		return 3;
	}
	out[0] = (uint8_t)(0xf0u | code_point >> 18);
	out[1] = (uint8_t)(0x80u | (code_point >> 12 & 0x3fu));
	out[2] = (uint8_t)(0x80u | (code_point >> 6 & 0x3fu));
	out[3] = (uint8_t)(0x80u | (code_point & 0x3fu));
	return 4;
}

/* The rule of ../shared/reference/aws.md, as written there. */
static bool rule_allows(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

static bool code_point_ok(uint32_t code_point)
{
	uint8_t bytes[4];
	return bb_utf8_is_sqs_text(bytes, encode(code_point, bytes));
}

static bool bytes_ok(const char *bytes)
{
	return bb_utf8_is_sqs_text((const uint8_t *)bytes, strlen(bytes));
}

Test(utf8, every_range_boundary_on_both_sides)
{
	static const uint32_t allowed[] = {0x9,   0xa,    0xd,     0x20,    0x7f,    0x80,
	                                   0x7ff, 0x800,  0xd7ff,  0xe000,  0xfffd,  0x10000,
	                                   0xffff + 1, 0x10ffff};
	static const uint32_t refused[] = {0x0,    0x8,    0xb,    0xc,     0xe,
	                                   0x1f,   0xd800, 0xdbff, 0xdc00,  0xdfff,
	                                   0xfffe, 0xffff, 0x110000, 0x1fffff};
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		cr_assert(code_point_ok(allowed[i]), "U+%04X is allowed", allowed[i]);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		cr_assert_not(code_point_ok(refused[i]), "U+%04X is refused", refused[i]);
}

Test(utf8, overlong_forms_are_refused)
{
	cr_assert_not(bytes_ok("\xc0\x80"), "NUL in two bytes");
	cr_assert_not(bytes_ok("\xc1\xbf"), "U+7F in two bytes");
	cr_assert_not(bytes_ok("\xe0\x80\x80"));
	cr_assert_not(bytes_ok("\xe0\x9f\xbf"), "U+7FF in three bytes");
	cr_assert(bytes_ok("\xe0\xa0\x80"), "U+800, the first three-byte code point");
	cr_assert_not(bytes_ok("\xf0\x80\x80\x80"));
	cr_assert_not(bytes_ok("\xf0\x8f\xbf\xbf"), "U+FFFF in four bytes");
	cr_assert(bytes_ok("\xf0\x90\x80\x80"), "U+10000, the first four-byte code point");
}

Test(utf8, surrogates_and_code_points_past_the_last_are_refused)
{
	cr_assert(bytes_ok("\xed\x9f\xbf"), "U+D7FF");
	cr_assert_not(bytes_ok("\xed\xa0\x80"), "U+D800");
	cr_assert_not(bytes_ok("\xed\xbf\xbf"), "U+DFFF");
	cr_assert_not(bytes_ok("\xed\xa0\xbd\xed\xb8\x80"), "a CESU-8 surrogate pair");
	cr_assert(bytes_ok("\xf4\x8f\xbf\xbf"), "U+10FFFF");
	cr_assert_not(bytes_ok("\xf4\x90\x80\x80"), "U+110000");
	cr_assert_not(bytes_ok("\xf5\x80\x80\x80"));
	cr_assert_not(bytes_ok("\xf8\x88\x80\x80\x80"), "five-byte forms do not exist");
	cr_assert_not(bytes_ok("\xff"));
	cr_assert_not(bytes_ok("\xfe"));
}

Test(utf8, truncated_sequences_and_stray_continuations_are_refused)
{
	static const char *const cut[] = {"\xc2", "\xe0\xa0", "\xef\xbf", "\xf0\x90\x80",
	                                  "\xf4\x8f\xbf"};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		char text[16];
		cr_assert_not(bytes_ok(cut[i]), "cut at the end (%zu)", i);
		snprintf(text, sizeof(text), "%sA", cut[i]);
		cr_assert_not(bytes_ok(text), "cut before ASCII (%zu)", i);
	}
	cr_assert_not(bytes_ok("\x80"));
	cr_assert_not(bytes_ok("a\xbf"));
	cr_assert_not(bytes_ok("\xc2\x80\x80"), "one continuation too many");
}

Test(utf8, the_prefix_stops_at_the_first_bad_byte_and_reads_nothing_past_the_end)
{
	cr_assert_eq(bb_utf8_sqs_valid_prefix((const uint8_t *)"ok\xff" "ok", 5), 2);
	cr_assert_eq(bb_utf8_sqs_valid_prefix((const uint8_t *)"\xc3\xa9t\xc3\xa9", 5), 5);
	cr_assert_eq(bb_utf8_sqs_valid_prefix((const uint8_t *)"ab\0cd", 5), 2, "NUL is refused");
	cr_assert_eq(bb_utf8_sqs_valid_prefix((const uint8_t *)"\xe2\x82\xac", 2), 0,
	             "the length given is the end, whatever follows it");
	cr_assert(bb_utf8_is_sqs_text((const uint8_t *)"", 0), "empty text has no bad character");
	cr_assert(bytes_ok("tab\there\r\n"));
}

Test(utf8, every_code_point_agrees_with_the_rule)
{
	for (uint32_t c = 0; c <= 0x10ffff; c++) {
		if (code_point_ok(c) != rule_allows(c))
			cr_assert_fail("U+%04X: validator %d, rule %d", c, code_point_ok(c),
			               rule_allows(c));
	}
}
