/*
 * JSON numbers: the grammar, and the value correctly rounded without strtod
 * where that is cheap to do exactly. strtod costs ~100 ns a number and an
 * event's coordinates hold dozens, so it is the fallback, not the rule.
 *
 * A number is m * 10^q with m its significant digits. Exact paths:
 * - m < 2^53 and |q| <= 22: m and 10^|q| are exact doubles, so one IEEE
 *   multiply or divide is the correctly rounded result (Clinger's fast path).
 * - m < 10^19 and |q| <= 27 on x86's 80-bit long double: m and 10^|q| are
 *   exact there (5^27 < 2^64); the one operation rounds to 64 bits, and
 *   rounding that to 53 bits is correct unless the 64-bit result lies exactly
 *   halfway between two doubles (double rounding), which is checked.
 * Everything else (more digits, far exponents) goes to strtod.
 */
#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flt_int.h"

#define NUMBER_TEXT_MAX 64u

#if defined(__x86_64__) && LDBL_MANT_DIG == 64
#define HAVE_X87_EXTENDED 1
#endif

struct decimal {
	uint64_t mantissa;
	int exponent; /* value = mantissa * 10^exponent */
	bool negative;
	bool inexact; /* digits that would not fit were dropped: strtod decides */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Below this a mantissa takes one more digit and stays under 10^19 < 2^64. */
#define MANTISSA_ROOM 1000000000000000000ull

static void keep_digit(struct decimal *d, char c)
{
	if (d->mantissa >= MANTISSA_ROOM)
		d->inexact = true;
	else
		d->mantissa = d->mantissa * 10 + (uint64_t)(c - '0');
}

/*
 * Eight digits at p as one number, or false when they are not all digits: a
 * coordinate's fraction has a dozen or more, and a byte loop is most of the
 * cost of reading one. Little-endian only (the first digit is the low byte).
 */
static bool eight_digits(const char *p, uint64_t *value)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;
	memcpy(&w, p, 8);
	const uint64_t high = 0xf0f0f0f0f0f0f0f0ull, zeros = 0x3030303030303030ull;
	if ((w & high) != zeros || ((w + 0x0606060606060606ull) & high) != zeros)
		return false;
	w -= zeros;
	w = (w * 10 + (w >> 8)) & 0x00ff00ff00ff00ffull;   /* pairs */
	w = (w * 100 + (w >> 16)) & 0x0000ffff0000ffffull; /* fours */
	*value = (w * 10000 + (w >> 32)) & 0xffffffffull;  /* eight */
	return true;
#else
	(void)p;
	(void)value;
	return false;
#endif
}

/* Fraction digits from p[i]; the index after them. */
static size_t fraction(const char *p, size_t i, size_t n, struct decimal *d)
{
	uint64_t eight;
	while (n - i >= 8 && d->mantissa < 100000000000ull && eight_digits(p + i, &eight)) {
		d->mantissa = d->mantissa * 100000000 + eight; /* < 10^19 */
		d->exponent -= 8;
		i += 8;
	}
	for (; i < n && is_digit(p[i]); i++) {
		keep_digit(d, p[i]);
		d->exponent--;
	}
	return i;
}

/* Parses the grammar; returns the length, or 0 when p does not start a JSON number. */
static size_t parse(const char *p, size_t n, struct decimal *d)
{
	size_t i = 0;
	*d = (struct decimal){0};
	if (i < n && p[i] == '-') {
		d->negative = true;
		i++;
	}
	if (i < n && p[i] == '0') {
		i++;
	} else if (i < n && is_digit(p[i])) {
		for (; i < n && is_digit(p[i]); i++)
			keep_digit(d, p[i]);
	} else {
		return 0;
	}
	if (i < n && p[i] == '.') {
		size_t first = ++i;
		i = fraction(p, i, n, d);
		if (i == first)
			return 0;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		bool negative = i < n && p[i] == '-';
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		size_t first = i;
		int e = 0;
		for (; i < n && is_digit(p[i]); i++) {
			if (e < 100000)
				e = e * 10 + (p[i] - '0');
		}
		if (i == first)
			return 0;
		d->exponent += negative ? -e : e;
	}
	return i;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#ifdef HAVE_X87_EXTENDED
/* Exact in 64 bits of significand: 10^27 = 2^27 * 5^27 and 5^27 < 2^64. */
static const long double pow10_extended[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                             1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                             1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                             1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
#endif

/* The correctly rounded value when an exact path applies. */
static bool fast_value(const struct decimal *d, double *value)
{
	if (d->inexact)
		return false;
	if (d->mantissa == 0) {
		*value = 0;
		return true;
	}
	if (d->mantissa <= 1ull << 53 && d->exponent >= -22 && d->exponent <= 22) {
		double m = (double)d->mantissa;
		*value =
		    d->exponent < 0 ? m / pow10_exact[-d->exponent] : m * pow10_exact[d->exponent];
		return true;
	}
#ifdef HAVE_X87_EXTENDED
	if (d->exponent >= -27 && d->exponent <= 27) {
		long double scale = pow10_extended[d->exponent < 0 ? -d->exponent : d->exponent];
		long double m = (long double)d->mantissa;
		long double r = d->exponent < 0 ? m / scale : m * scale;
		uint64_t significand;
		memcpy(&significand, &r, sizeof(significand)); /* the explicit 64-bit significand */
		/* Halfway between two doubles: rounding a second time could be wrong. */
		if ((significand & 0x7ff) == 0x400)
			return false;
		*value = (double)r;
		return true;
	}
#endif
	return false;
}

size_t flt_number(const char *p, size_t n, double *value)
{
	struct decimal d;
	size_t length = parse(p, n, &d);
	if (length == 0 || length >= NUMBER_TEXT_MAX)
		return 0; /* not a number, or over the length limit */
	if (value == NULL)
		return length;
	double v;
	if (fast_value(&d, &v)) {
		*value = d.negative ? -v : v;
		return length;
	}
	char text[NUMBER_TEXT_MAX];
	memcpy(text, p, length);
	text[length] = '\0';
	*value = strtod(text, NULL);
	return length;
}
