/*
 * JSON numbers: the grammar, and the value correctly rounded without strtod
 * where that is cheap to do exactly. strtod costs ~100 ns a number and an
 * event's coordinates hold dozens, so it is the fallback, not the rule.
 *
 * A number is m * 10^q with m its significant digits. When m has at most 19
 * digits (it fits 64 bits exactly), Eisel-Lemire (Lemire, "Number Parsing at
 * a Gigabyte per Second", 2021) rounds m * 10^q correctly with one or two
 * 64-bit multiplications by a table of 5^q (flt_pow5.h, made at build time
 * by gen_pow5.py), or says it cannot tell. strtod takes the rest: more
 * digits, subnormal or overflowing results, and the rare undecided product.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flt_int.h"
#include "flt_pow5.h"

#define NUMBER_TEXT_MAX 64u

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
 * The run of digits at the start of the eight bytes at p: how many (0-8), and
 * their value. A coordinate has a dozen or more digits, and a byte loop was most
 * of the cost of reading one. Little-endian only (the first digit is the low
 * byte); elsewhere it reports none and the byte loop reads them.
 */
static unsigned leading_digits(const char *p, uint64_t *value)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w;
	memcpy(&w, p, 8);
	/* A byte is a digit when its high nibble is 3 before and after adding 6. A carry out
	 * of a byte (>= 0xfa) only reaches bytes after that non-digit, which are not used. */
	const uint64_t high = 0xf0f0f0f0f0f0f0f0ull, zeros = 0x3030303030303030ull;
	uint64_t other = ((w & high) ^ zeros) | (((w + 0x0606060606060606ull) & high) ^ zeros);
	unsigned count = other == 0 ? 8 : (unsigned)__builtin_ctzll(other) / 8;
	if (count == 0)
		return 0;
	/* The digits to the top bytes; the bytes below become leading zero digits. */
	w = (w - zeros) << (8 * (8 - count));
	w = (w * 10 + (w >> 8)) & 0x00ff00ff00ff00ffull;   /* pairs */
	w = (w * 100 + (w >> 16)) & 0x0000ffff0000ffffull; /* fours */
	*value = (w * 10000 + (w >> 32)) & 0xffffffffull;  /* eight */
	return count;
#else
	(void)p;
	(void)value;
	return 0;
#endif
}

static const uint64_t power10[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

/* Digits from p[i] into the mantissa; the index after them. Inlined into both its calls:
 * GCC keeps it out of line, which cost COMPLEX_ARRAYS 2% (A/B). */
static inline __attribute__((always_inline)) size_t digits(const char *p, size_t i, size_t n,
                                                           struct decimal *d)
{
	/* Eight at a time while the mantissa has room for eight more (< 10^19). */
	while (n - i >= 8 && d->mantissa < 100000000000ull) {
		uint64_t value = 0;
		unsigned count = leading_digits(p + i, &value);
		d->mantissa = d->mantissa * power10[count] + value;
		i += count;
		if (count < 8)
			return i;
	}
	for (; i < n && is_digit(p[i]); i++)
		keep_digit(d, p[i]);
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
		i = digits(p, i, n, d);
	} else {
		return 0;
	}
	if (i < n && p[i] == '.') {
		size_t first = ++i;
		i = digits(p, i, n, d);
		if (i == first)
			return 0;
		d->exponent -= (int)(i - first);
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

__extension__ typedef unsigned __int128 u128;

/* The full 128-bit product. */
static void multiply(uint64_t a, uint64_t b, uint64_t *high, uint64_t *low)
{
	u128 r = (u128)a * b;
	*high = (uint64_t)(r >> 64);
	*low = (uint64_t)r;
}

/* floor(log2(10^q)) + 63 for |q| < 1500; 217706 is 2^16 log2(10), rounded. */
static int binary_exponent(int q)
{
	return ((217706 * q) >> 16) + 63;
}

/*
 * Eisel-Lemire: w * 10^q, w < 2^64 exact and nonzero, correctly rounded, or
 * false when it cannot tell (then strtod decides): w is multiplied by the top
 * 64 (rarely 128) bits of 5^q, and the product's spare bits show whether the
 * truncation could have changed the rounding. Subnormal and overflowing
 * results are left to strtod as well.
 */
static bool eisel_lemire(uint64_t w, int q, double *value)
{
	if (q < FLT_POW5_SMALLEST || q > FLT_POW5_LARGEST)
		return false;
	int lz = __builtin_clzll(w);
	w <<= lz;
	const uint64_t *power5 = flt_pow5_128[q - FLT_POW5_SMALLEST];
	uint64_t high, low;
	multiply(w, power5[0], &high, &low);
	if ((high & 0x1ff) == 0x1ff) { /* the 9 bits below the result's: a carry could reach it */
		uint64_t high2, low2;
		multiply(w, power5[1], &high2, &low2);
		low += high2;
		high += low < high2;
	}
	if (low == UINT64_MAX && (q < -27 || q > 55))
		return false; /* the table's truncation could matter: too close to tell */
	int upper = (int)(high >> 63);
	uint64_t mantissa = high >> (upper + 9); /* 54 bits: 53 and a rounding bit */
	int power2 = binary_exponent(q) + upper - lz + 1023;
	if (power2 <= 0)
		return false;
	/* Exactly halfway (only zeros dropped): round to even rather than up. */
	if (low <= 1 && q >= -4 && q <= 23 && (mantissa & 3) == 1 &&
	    mantissa << (upper + 9) == high)
		mantissa &= ~1ull;
	mantissa += mantissa & 1;
	mantissa >>= 1;
	if (mantissa >= 2ull << 52) { /* rounding carried into a new bit */
		mantissa = 1ull << 52;
		power2++;
	}
	if (power2 >= 0x7ff)
		return false;
	uint64_t bits = (mantissa & ~(1ull << 52)) | (uint64_t)power2 << 52;
	memcpy(value, &bits, sizeof(bits));
	return true;
}

/* The correctly rounded value when the exact path applies. */
static bool fast_value(const struct decimal *d, double *value)
{
	if (d->inexact)
		return false;
	if (d->mantissa == 0) {
		*value = 0;
		return true;
	}
	return eisel_lemire(d->mantissa, d->exponent, value);
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
