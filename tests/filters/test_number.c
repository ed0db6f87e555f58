/* flt_number: JSON's number grammar, and values bit-identical to strtod's. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flt_int.h"

static void assert_same_as_strtod(const char *text)
{
	double got = -1;
	size_t n = flt_number(text, strlen(text), &got);
	cr_assert_eq(n, strlen(text), "%s: length %zu", text, n);
	double expected = strtod(text, NULL);
	cr_assert(memcmp(&got, &expected, sizeof(got)) == 0, "%s: %.17g, strtod %.17g", text, got,
	          expected);
}

Test(number, grammar)
{
	static const char *const bad[] = {"",     "-",  "+1",  ".5", "1.",
	                                  "1.e5", "1e", "1e+", "-a", "x"};
	double v;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(flt_number(bad[i], strlen(bad[i]), &v), 0, "%s", bad[i]);
	/* A leading zero ends the number; the scanner then rejects what follows. */
	cr_assert_eq(flt_number("01", 2, &v), 1);
	cr_assert_eq(flt_number("1.5,", 4, &v), 3);
	cr_assert_eq(flt_number("-2E-3]", 6, NULL), 5);
	char longest[80];
	memset(longest, '1', sizeof(longest));
	cr_assert_eq(flt_number(longest, 63, &v), 63);
	cr_assert_eq(flt_number(longest, 64, &v), 0, "64 bytes is over the limit");
}

Test(number, signs_and_zeros)
{
	double v;
	cr_assert_eq(flt_number("-0", 2, &v), 2);
	cr_assert(v == 0 && signbit(v), "-0 keeps its sign as strtod does");
	assert_same_as_strtod("0.000");
	assert_same_as_strtod("-0.0e10");
	assert_same_as_strtod("0.000000000000000000000000000001");
}

Test(number, halfway_cases_round_to_even)
{
	/* Exactly halfway between two doubles (ties round to even), the extremes, and the
	 * subnormal range the fast path leaves to strtod. */
	assert_same_as_strtod("9007199254740993");       /* 2^53 + 1 */
	assert_same_as_strtod("9007199254740995");       /* 2^53 + 3 */
	assert_same_as_strtod("18014398509481986");      /* 2^54 + 2 */
	assert_same_as_strtod("9223372036854775808");    /* 2^63 */
	assert_same_as_strtod("9223372036854776833");    /* just above a halfway point */
	assert_same_as_strtod("1.7976931348623157e308"); /* the largest double */
	assert_same_as_strtod("4.9e-324");               /* the smallest subnormal */
	assert_same_as_strtod("2.2250738585072011e-308");
	assert_same_as_strtod("-122.41600944012424");
	assert_same_as_strtod("37.729900216217324");
}

Test(number, random_decimals_agree_with_strtod)
{
	srand(20261126);
	char text[80];
	for (int i = 0; i < 400000; i++) {
		/* 1-22 digits with the point anywhere, an exponent sometimes. */
		int digits = 1 + rand() % 22;
		int point = rand() % (digits + 1);
		size_t n = 0;
		if (rand() % 2)
			text[n++] = '-';
		for (int d = 0; d < digits; d++) {
			if (d == point && d > 0)
				text[n++] = '.';
			text[n++] =
			    (char)('0' + (d == 0 && digits > 1 ? 1 + rand() % 9 : rand() % 10));
		}
		if (rand() % 4 == 0)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "e%d", rand() % 80 - 40);
		text[n] = '\0';
		assert_same_as_strtod(text);
	}
}

Test(number, printed_doubles_read_back)
{
	srand(7);
	char text[80];
	static const char *const formats[] = {"%.17g", "%.16g", "%.15g", "%.19g", "%.6f"};
	for (int i = 0; i < 200000; i++) {
		uint64_t bits = (uint64_t)rand() << 40 ^ (uint64_t)rand() << 20 ^ (uint64_t)rand();
		double v = ldexp((double)(bits & ((1ull << 53) - 1)), rand() % 140 - 110);
		snprintf(text, sizeof(text), formats[i % 5], v);
		assert_same_as_strtod(text);
	}
}

/* Every power of ten the conversion's table holds (and some beyond), so that one
 * wrong entry of it would show: 1-19 digit mantissas at every exponent. */
Test(number, every_exponent_agrees_with_strtod)
{
	srand(342);
	char text[80];
	for (int q = -360; q <= 330; q++) {
		for (int i = 0; i < 300; i++) {
			int digits = 1 + rand() % 19;
			size_t n = 0;
			for (int d = 0; d < digits; d++)
				text[n++] = (char)('0' + (d == 0 ? 1 + rand() % 9 : rand() % 10));
			snprintf(text + n, sizeof(text) - n, "e%d", q);
			assert_same_as_strtod(text);
		}
	}
}

Test(number, printed_doubles_of_every_magnitude_read_back)
{
	srand(1075);
	char text[80];
	for (int i = 0; i < 300000; i++) {
		uint64_t bits = (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand();
		bits &= ~(1ull << 63);
		if ((bits >> 52) == 0x7ff)
			continue; /* not a number */
		double v;
		memcpy(&v, &bits, sizeof(v));
		snprintf(text, sizeof(text), i % 2 ? "%.17g" : "%.16g", v);
		assert_same_as_strtod(text);
	}
}
