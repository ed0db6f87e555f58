/*
 * The block validator: decides, 64 bytes a step, that an event is valid JSON
 * within the limits, or says it cannot tell. It never says "invalid": the
 * strict scanner (flt_scan.c) is the one definition of valid, and every
 * event this file cannot vouch for goes there. So the answer of flt_validate
 * and flt_match is the strict one by construction; the differential fuzz
 * target tests/fuzz/fuzz_flt_valid.c checks that this file never vouches
 * for an event the strict scanner refuses.
 *
 * How (simdjson's stage 1, then the grammar as bit equations instead of a
 * walk over tokens): each block is classified into one bitmask per byte
 * class; the running xor of the quotes gives the bytes inside strings.
 * Outside strings every byte is whitespace, one of {}[]:, or a scalar
 * byte; runs of scalar bytes must be numbers (checked by the positions of
 * '-', '.', 'e', '+' and the digit runs between them, never converted) or
 * true/false/null. The grammar is local once the next significant byte after
 * each token is known: adding a token's follower bit to the whitespace mask
 * carries it over the whitespace to that byte (or, in the AVX-512 build, the
 * tokens' kinds are squeezed together and each pair of neighbours looked up in
 * a table: grammar_tokens). Only the brackets are walked
 * one by one (a bit stack of their kinds: nesting, matching, and whether a
 * comma sits in an object or an array).
 *
 * Left to the strict scanner: backslashes (escapes), bytes >= 0x80 (UTF-8),
 * control bytes inside strings, numbers of 64 bytes or more, nesting deeper
 * than FLT_VALID_DEPTH_MAX, and every event it does not vouch for.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "flt_int.h"

#ifdef __SSE2__

/* One bit per byte of a 64-byte block, per class. */
struct classes {
	uint64_t quote;
	uint64_t unusual; /* backslash, control, >= 0x80 */
	uint64_t space;
	uint64_t colon, comma, open, close;
	uint64_t digit, zero, minus, dot;
};

static inline uint64_t bits16(__m128i match, int i)
{
	return (uint64_t)(uint16_t)_mm_movemask_epi8(match) << (16 * i);
}

typedef void (*classify_fn)(const char *p, struct classes *k);
typedef uint64_t (*prefix_xor_fn)(uint64_t x);

/* What one block hands the next: open strings, runs and followers crossing the boundary. */
struct carries {
	uint64_t scalar, number, exp, sign, digit, dot, int_minus, int_zero, exp_sign;
	uint64_t add_int, add_frac, add_exp, nondigit, literal, run_bytes;
	uint64_t comma, open, key, key_end, colon, value_end;
	uint64_t ns_comma, ns_open, ns_key, ns_colon, ns_value_end;
};

/*
 * The kinds of token grammar_tokens tells apart. A string is TOKEN_KEY until its role is
 * known from the token before it; numbers and literals are values. The container's own
 * opening bracket comes after a TOKEN_COLON, as any value may.
 */
enum token { TOKEN_OBJECT, TOKEN_ARRAY, TOKEN_CLOSE, TOKEN_COMMA_OBJECT, TOKEN_COMMA_ARRAY,
             TOKEN_COLON, TOKEN_KEY, TOKEN_VALUE };

struct vstate {
	const char *json;
	size_t n;
	size_t base;    /* the block's offset in json */
	uint64_t stack; /* bit per open container, 1: array (innermost lowest) */
	uint32_t depth;
	uint32_t depth_limit;
	bool in_string;
	bool array_context; /* innermost open container is an array */
	bool done;          /* the walk's container closed, at top_end */
	size_t top_end;
	uint64_t bad;
	uint8_t last_token; /* the kind of the last token before the block (grammar_tokens) */
	struct carries c;
};

/* x shifted one byte later, the bit leaving the block entering the next. */
static inline uint64_t later(uint64_t x, uint64_t *carry)
{
	uint64_t r = x << 1 | *carry;
	*carry = x >> 63;
	return r;
}

static inline uint64_t add_carry(uint64_t a, uint64_t b, uint64_t *carry)
{
	uint64_t r, s;
	bool c1 = __builtin_add_overflow(a, b, &r);
	bool c2 = __builtin_add_overflow(r, *carry, &s);
	*carry = (uint64_t)(c1 || c2);
	return s;
}

/* From each start bit, the first byte that is not whitespace (the start itself if so). */
static inline uint64_t next_significant(uint64_t starts, uint64_t ws, uint64_t *carry)
{
	return add_carry(starts, ws, carry) & ~ws;
}

static bool is_json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether c may continue a scalar run (what is not whitespace, a quote or {}[]:,). */
static bool is_scalar_byte(char c)
{
	return !is_json_ws(c) && strchr("\"{}[]:,", c) == NULL;
}

/* Control bytes outside strings that are JSON whitespace join ws; any other unusual byte
 * (backslash, >= 0x80, a control inside a string) leaves the event to the strict scanner. */
static bool unusual_bytes(const char *block, uint64_t unusual, uint64_t string, uint64_t *ws)
{
	for (; unusual != 0; unusual &= unusual - 1) {
		int i = __builtin_ctzll(unusual);
		char c = block[i];
		if ((string >> i & 1) != 0 || (c != '\t' && c != '\n' && c != '\r'))
			return false;
		*ws |= 1ull << i;
	}
	return true;
}

/*
 * true, false or null at byte i of the block at base (json holds n bytes): marks its bytes
 * in literal, and those that go on into the next block in spill.
 */
static bool literal_at(const char *json, size_t n, size_t base, int i, uint64_t *literal,
                       uint64_t *spill)
{
	size_t at = base + (size_t)i;
	const char *p = json + at;
	static const char *const words[] = {"true", "false", "null"};
	const char *word = *p == 't'   ? words[0]
	                   : *p == 'f' ? words[1]
	                   : *p == 'n' ? words[2]
	                               : NULL;
	if (word == NULL)
		return false;
	size_t len = strlen(word);
	if (n - at < len || memcmp(p, word, len) != 0)
		return false;
	if (n - at > len && is_scalar_byte(p[len]))
		return false; /* a longer run: the strict scanner decides */
	uint64_t bits = (1ull << len) - 1;
	*literal |= bits << i;
	*spill |= i == 0 ? 0 : bits >> (64 - i);
	return true;
}

/* The run starts whose byte is not a number's: literals, or give up. Out of line: rare. */
static __attribute__((noinline)) bool literals(const char *json, size_t n, size_t base,
                                               uint64_t starts, uint64_t bad, uint64_t *literal,
                                               uint64_t *spill)
{
	for (; starts != 0; starts &= starts - 1) {
		int i = __builtin_ctzll(starts);
		char c = json[base + (size_t)i];
		if ((c == 't' || c == 'f' || c == 'n') &&
		    !literal_at(json, n, base, i, literal, spill))
			return false;
	}
	return (bad & ~*literal) == 0;
}

/*
 * Brackets one by one, without branches (their order is the event's): depth, kinds, the
 * top-level end. Returns where the innermost container changes between an object and an
 * array; the bad bits note a mismatched or extra bracket, or nesting over the limit.
 */
static inline __attribute__((always_inline)) uint64_t brackets(struct vstate *v, const char *block,
                                                               uint64_t open, uint64_t close)
{
	uint64_t toggles = 0, stack = v->stack, context = v->array_context, bad = 0;
	uint64_t depth = v->depth;
	const uint64_t depth_limit = v->depth_limit;
	for (uint64_t b = open | close; b != 0; b &= b - 1) {
		int i = __builtin_ctzll(b);
		uint64_t opens = open >> i & 1;
		uint64_t array = ~(uint64_t)(uint8_t)block[i] >> 5 & 1; /* '[' and ']' */
		bad |= ~opens & (stack ^ array) & 1;
		stack = opens ? stack << 1 | array : stack >> 1;
		depth = opens ? depth + 1 : depth - 1;
		bad |= depth > depth_limit;
		toggles |= ((stack & 1) ^ context) << i;
		context = stack & 1;
		if (depth == 0) { /* the walk's container closed: what follows is not its */
			v->done = true;
			v->top_end = v->base + (size_t)i;
			break;
		}
	}
	v->stack = stack;
	v->array_context = context != 0;
	v->depth = (uint32_t)depth;
	v->bad |= bad;
	return toggles;
}

/* Numbers with '-', '.' and digits only, the common case: the same carries as numbers(). */
static inline __attribute__((always_inline)) uint64_t
plain_numbers(struct carries *c, const struct classes *k, uint64_t run, uint64_t starts)
{
	uint64_t d = k->digit & run, minus = k->minus & run, dot = k->dot & run;
	uint64_t after_digit = later(d, &c->digit), after_dot = later(dot, &c->dot);
	uint64_t after_minus = later(minus, &c->sign);
	uint64_t bad = (starts & ~(d | minus)) | (minus & ~starts) | (after_minus & ~d);
	bad |= (dot & ~after_digit) | (after_dot & ~d);
	uint64_t integer = (starts & d) | after_minus;     /* a minus starts its run, or is bad */
	bad |= later(integer & k->zero, &c->int_zero) & d; /* a leading zero */
	bad |= add_carry(integer, d, &c->add_int) & ~d & run & ~dot;
	bad |= add_carry(after_dot, d, &c->add_frac) & ~d & run;
	c->number = c->scalar; /* numbers()'s carries, were the next block to need them */
	c->int_minus = c->sign;
	c->nondigit = (run & ~d) >> 63;
	return bad;
}

/* Numbers in full: exponents too (their classes made here, where some byte needs them). */
static inline __attribute__((always_inline)) uint64_t numbers(struct carries *c,
                                                              const struct classes *k,
                                                              uint64_t exp_all, uint64_t plus_all,
                                                              uint64_t run)
{
	uint64_t d = k->digit & run, minus = k->minus & run, plus = plus_all & run;
	uint64_t dot = k->dot & run, exp = exp_all & run, sign = minus | plus;
	uint64_t starts = run & ~later(run, &c->number);
	uint64_t after_exp = later(exp, &c->exp), after_digit = later(d, &c->digit);
	uint64_t after_dot = later(dot, &c->dot);
	uint64_t bad = starts & ~(d | minus);
	bad |= minus & ~(starts | after_exp);
	bad |= plus & ~after_exp;
	bad |= later(sign, &c->sign) & ~d;
	bad |= (dot & ~after_digit) | (after_dot & ~d);
	bad |= (exp & ~after_digit) | (after_exp & ~(d | sign));
	uint64_t integer = (starts & d) | later(starts & minus, &c->int_minus);
	bad |= later(integer & k->zero, &c->int_zero) & d; /* a leading zero */
	bad |= add_carry(integer, d, &c->add_int) & ~d & run & ~(dot | exp);
	bad |= add_carry(after_dot, d, &c->add_frac) & ~d & run & ~exp;
	uint64_t exp_digits = (after_exp & d) | later(after_exp & sign, &c->exp_sign);
	bad |= add_carry(exp_digits, d, &c->add_exp) & ~d & run;
	bad |= later(run & ~d, &c->nondigit) & ~run; /* the last byte is a digit */
	return bad;
}

/* A run of 64 scalar bytes or more is no number the strict scanner takes. */
static bool run_lengths(struct carries *c, uint64_t scalar)
{
	if (scalar == ~0ull)
		return false;
	uint64_t lead = (uint64_t)__builtin_ctzll(~scalar);
	if (lead > 0 && c->run_bytes + lead >= 64)
		return false;
	c->run_bytes = scalar >> 63 ? (uint64_t)__builtin_clzll(~scalar) : 0;
	return true;
}

/* 'e', 'E' and '+' of a block, for the blocks whose numbers have an exponent. */
static void exponent_classes(const char *p, uint64_t *exp, uint64_t *plus)
{
	*exp = 0;
	*plus = 0;
	for (int i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * i));
		__m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
		*exp |= bits16(_mm_cmpeq_epi8(folded, _mm_set1_epi8('e')), i);
		*plus |= bits16(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')), i);
	}
}

/* The scalar runs: numbers, and literals where a byte is no number's. */
static inline __attribute__((always_inline)) bool
scalars(struct vstate *v, const char *p, const struct classes *k, uint64_t scalar, uint64_t starts)
{
	struct carries *c = &v->c;
	uint64_t literal = c->literal;
	c->literal = 0;
	uint64_t odd = scalar & ~(k->digit | k->minus | k->dot) & ~literal;
	if (odd == 0 && (literal | c->exp | c->exp_sign | c->add_exp) == 0) {
		v->bad |= plain_numbers(c, k, scalar, starts);
		return true;
	}
	uint64_t exp, plus;
	exponent_classes(p, &exp, &plus);
	odd &= ~(exp | plus);
	uint64_t spill = 0;
	if (odd != 0 && !literals(v->json, v->n, v->base, starts, odd, &literal, &spill))
		return false;
	c->literal = spill;
	v->bad |= numbers(c, k, exp, plus, scalar & ~literal);
	return true;
}

/* The tokens of a block outside strings (bytes after the walk's container cleared). */
struct tokens {
	uint64_t ws, open, close, comma, colon;
	uint64_t oq, cq;       /* opening and closing quotes */
	uint64_t starts, ends; /* first byte of each scalar run, and the byte after its last */
	uint64_t string;       /* inside a string, its opening quote included */
	uint64_t array;        /* the innermost open container is an array */
};

/*
 * Which token may follow which, as bit equations: the bytes each kind of token must
 * be followed by (its follower is found by adding its bit to the whitespace mask).
 * The bad bits.
 */
static inline __attribute__((always_inline)) uint64_t grammar_bits(struct vstate *v,
                                                                   const char *p,
                                                                   const struct tokens *t)
{
	(void)p;
	struct carries *c = &v->c;
	uint64_t ws = t->ws, oq = t->oq, array = t->array;
	uint64_t values = oq | t->starts | t->open;
	uint64_t after_comma = next_significant(later(t->comma, &c->comma), ws, &c->ns_comma);
	uint64_t after_open = next_significant(later(t->open, &c->open), ws, &c->ns_open);
	uint64_t bad = (after_comma & ~values) | (after_comma & ~array & ~oq);
	bad |= (after_open & ~(values | t->close)) | (after_open & ~array & ~(oq | t->close));
	uint64_t key_starts = (after_comma | after_open) & oq & ~array;
	uint64_t keys = add_carry(key_starts, t->string, &c->key) & ~t->string;
	bad |= next_significant(later(keys, &c->key_end), ws, &c->ns_key) & ~t->colon;
	bad |= next_significant(later(t->colon, &c->colon), ws, &c->ns_colon) & ~values;
	uint64_t value_end = later((t->cq & ~keys) | t->close, &c->value_end) | t->ends;
	bad |= next_significant(value_end, ws, &c->ns_value_end) & ~(t->comma | t->close);
	return bad;
}

typedef uint64_t (*grammar_fn)(struct vstate *v, const char *p, const struct tokens *t);

/*
 * One block: false when the event is left to the strict scanner. The context of a
 * position (object or array) is taken before its own bracket, so that it is the
 * context of the token that came before it.
 */
static inline __attribute__((always_inline)) bool block(struct vstate *v, const char *p,
                                                        classify_fn classify,
                                                        prefix_xor_fn prefix_xor,
                                                        grammar_fn grammar)
{
	struct classes k;
	struct carries *c = &v->c;
	classify(p, &k);
	uint64_t string = prefix_xor(k.quote) ^ (0 - (uint64_t)v->in_string);
	v->in_string = string >> 63;
	uint64_t outside = ~(string | k.quote), ws = k.space;
	uint64_t open = k.open & outside, close = k.close & outside;
	uint64_t context_in = 0 - (uint64_t)v->array_context;
	uint64_t toggles = (open | close) != 0 ? brackets(v, p, open, close) : 0;
	uint64_t array = prefix_xor(toggles) ^ context_in ^ toggles;
	uint64_t keep = ~0ull;
	if (v->done) { /* the container ends in this block: nothing after it counts */
		keep = ~0ull >> (63 - (v->top_end - v->base));
		k.quote &= keep;
		string &= keep;
		outside &= keep;
		open &= keep;
		close &= keep;
		k.unusual &= keep;
	}
	if (k.unusual != 0 && !unusual_bytes(p, k.unusual, string, &ws))
		return false;
	ws &= outside;
	uint64_t colon = k.colon & outside, comma = k.comma & outside;
	uint64_t scalar = outside & ~(ws | colon | comma | open | close);
	if (!run_lengths(c, scalar))
		return false;
	uint64_t run_in = c->scalar; /* a run ended the last block: its checks land here */
	uint64_t after_scalar = later(scalar, &c->scalar);
	uint64_t starts = scalar & ~after_scalar, ends = ~scalar & after_scalar;
	if ((scalar | run_in) != 0) {
		if (!scalars(v, p, &k, scalar, starts))
			return false;
	}
	const struct tokens t = {.ws = ws,
	                         .open = open,
	                         .close = close,
	                         .comma = comma,
	                         .colon = colon,
	                         .oq = k.quote & string,
	                         .cq = k.quote & ~string,
	                         .starts = starts,
	                         .ends = ends,
	                         .string = string,
	                         .array = array};
	v->bad |= grammar(v, p, &t) & keep;
	return v->bad == 0;
}

/* The last bytes of the input (fewer than 64) as a block padded with spaces, which open
 * and close nothing. */
typedef void (*pad_fn)(char padded[64], const char *p, size_t left);

static inline void pad_bytes(char padded[64], const char *p, size_t left)
{
	memset(padded, ' ', 64);
	memcpy(padded, p, left);
}

/*
 * From the opening bracket at json[0] to its closing one, n bytes available: the offset
 * past the container, or 0 when the strict scanner is to decide.
 */
static inline __attribute__((always_inline)) size_t container(const char *json, size_t n,
                                                              uint32_t depth_max,
                                                              classify_fn classify,
                                                              prefix_xor_fn prefix_xor,
                                                              grammar_fn grammar, pad_fn pad)
{
	assert(n > 0 && (json[0] == '{' || json[0] == '['));
	assert(depth_max > 0);
	struct vstate v = {.json = json, .n = n, .last_token = TOKEN_COLON};
	v.depth_limit = depth_max < FLT_VALID_DEPTH_MAX ? depth_max : FLT_VALID_DEPTH_MAX;
	for (; n - v.base >= 64 && !v.done; v.base += 64) {
		if (!block(&v, json + v.base, classify, prefix_xor, grammar))
			return 0;
	}
	if (v.base < n && !v.done) {
		char padded[64];
		pad(padded, json + v.base, n - v.base);
		if (!block(&v, padded, classify, prefix_xor, grammar))
			return 0;
	}
	return v.done ? v.top_end + 1 : 0;
}

static inline void classify_sse2(const char *p, struct classes *k)
{
	*k = (struct classes){0};
	const __m128i fold = _mm_set1_epi8(0x20);
	for (int i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * i));
		__m128i folded = _mm_or_si128(v, fold);
		/* Signed compares: bytes >= 0x80 are negative, below ' ' and below '0'. */
		k->quote |= bits16(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), i);
		k->unusual |= bits16(
		    _mm_or_si128(_mm_cmplt_epi8(v, fold), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
		    i);
		k->space |= bits16(_mm_cmpeq_epi8(v, fold), i);
		k->colon |= bits16(_mm_cmpeq_epi8(v, _mm_set1_epi8(':')), i);
		k->comma |= bits16(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')), i);
		k->open |= bits16(_mm_cmpeq_epi8(folded, _mm_set1_epi8('{')), i);
		k->close |= bits16(_mm_cmpeq_epi8(folded, _mm_set1_epi8('}')), i);
		k->digit |= bits16(_mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('/')),
		                                 _mm_cmplt_epi8(v, _mm_set1_epi8(':'))),
		                   i);
		k->zero |= bits16(_mm_cmpeq_epi8(v, _mm_set1_epi8('0')), i);
		k->minus |= bits16(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')), i);
		k->dot |= bits16(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')), i);
	}
}

static inline uint64_t prefix_xor_shifts(uint64_t x)
{
	for (int shift = 1; shift < 64; shift *= 2)
		x ^= x << shift;
	return x;
}

static size_t container_sse2(const char *json, size_t n, uint32_t depth_max)
{
	return container(json, n, depth_max, classify_sse2, prefix_xor_shifts, grammar_bits,
	                 pad_bytes);
}

#ifdef __x86_64__
/* The same with AVX2 (32 bytes a compare) and a carry-less multiply for the running xor. */
__attribute__((target("avx2"))) static inline uint64_t bits32(__m256i lo, __m256i hi)
{
	return (uint64_t)(uint32_t)_mm256_movemask_epi8(lo) |
	       (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32;
}

#define EQ32(a, b, c) bits32(_mm256_cmpeq_epi8(a, c), _mm256_cmpeq_epi8(b, c))

__attribute__((target("avx2"))) static inline void classify_avx2(const char *p, struct classes *k)
{
	__m256i a = _mm256_loadu_si256((const __m256i *)p);
	__m256i b = _mm256_loadu_si256((const __m256i *)(p + 32));
	const __m256i fold = _mm256_set1_epi8(0x20);
	__m256i fa = _mm256_or_si256(a, fold), fb = _mm256_or_si256(b, fold);
	const __m256i backslash = _mm256_set1_epi8('\\');
	k->quote = EQ32(a, b, _mm256_set1_epi8('"'));
	k->unusual =
	    bits32(_mm256_or_si256(_mm256_cmpgt_epi8(fold, a), _mm256_cmpeq_epi8(a, backslash)),
	           _mm256_or_si256(_mm256_cmpgt_epi8(fold, b), _mm256_cmpeq_epi8(b, backslash)));
	k->space = EQ32(a, b, fold);
	k->colon = EQ32(a, b, _mm256_set1_epi8(':'));
	k->comma = EQ32(a, b, _mm256_set1_epi8(','));
	k->open = EQ32(fa, fb, _mm256_set1_epi8('{'));
	k->close = EQ32(fa, fb, _mm256_set1_epi8('}'));
	const __m256i below = _mm256_set1_epi8('/'), above = _mm256_set1_epi8(':');
	k->digit =
	    bits32(_mm256_and_si256(_mm256_cmpgt_epi8(a, below), _mm256_cmpgt_epi8(above, a)),
	           _mm256_and_si256(_mm256_cmpgt_epi8(b, below), _mm256_cmpgt_epi8(above, b)));
	k->zero = EQ32(a, b, _mm256_set1_epi8('0'));
	k->minus = EQ32(a, b, _mm256_set1_epi8('-'));
	k->dot = EQ32(a, b, _mm256_set1_epi8('.'));
}

__attribute__((target("pclmul"))) static inline uint64_t prefix_xor_clmul(uint64_t x)
{
	__m128i all = _mm_set1_epi8(-1);
	return (uint64_t)_mm_cvtsi128_si64(
	    _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)x), all, 0));
}

__attribute__((target("avx2,pclmul"))) static size_t container_avx2(const char *json, size_t n,
                                                                    uint32_t depth_max)
{
	return container(json, n, depth_max, classify_avx2, prefix_xor_clmul, grammar_bits,
	                 pad_bytes);
}

/* With AVX-512BW a compare of the whole block gives its 64-bit mask in one instruction. */
#define EQ64(v, c) ((uint64_t)_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c)))

__attribute__((target("avx512bw"))) static inline void classify_avx512(const char *p,
                                                                       struct classes *k)
{
	__m512i v = _mm512_loadu_si512((const void *)p);
	__m512i folded = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
	k->quote = EQ64(v, '"');
	/* Signed: bytes >= 0x80 are negative, below ' '. */
	k->unusual = (uint64_t)_mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(0x20)) | EQ64(v, '\\');
	k->space = EQ64(v, ' ');
	k->colon = EQ64(v, ':');
	k->comma = EQ64(v, ',');
	k->open = EQ64(folded, '{');
	k->close = EQ64(folded, '}');
	k->digit = (uint64_t)_mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('0')),
	                                            _mm512_set1_epi8(10));
	k->zero = EQ64(v, '0');
	k->minus = EQ64(v, '-');
	k->dot = EQ64(v, '.');
}

/*
 * The grammar by tokens (AVX-512 VBMI2): each token's kind is a byte, the bytes between
 * tokens (whitespace, strings past their opening quote, numbers past their first byte)
 * are squeezed out, and each pair of neighbours is looked up in a table of 64, the one
 * before the block's first token carried over. A string's role (key or value) is looked
 * up first from the token before it. Where the bit equations need a carry and an add for
 * each kind of token, this is a compress and four permutes for all of them.
 */
#define K(b) ((b) & 63) /* vpermb looks up by the low six bits */
static const uint8_t token_of_byte[64] = {
    [K('{')] = TOKEN_OBJECT, [K('[')] = TOKEN_ARRAY, [K('}')] = TOKEN_CLOSE,
    [K(']')] = TOKEN_CLOSE,  [K(',')] = TOKEN_COMMA_OBJECT, [K(':')] = TOKEN_COLON,
    [K('"')] = TOKEN_KEY,
};
#undef K

/* Pairs by 8 * before + after. A string after '{' or an object's comma is a key. */
#define ROW(before, key) [8 * (before)] = 0, 1, 2, 3, 4, 5, key, 7
static const uint8_t token_role[64] = {
    ROW(TOKEN_OBJECT, TOKEN_KEY),         ROW(TOKEN_ARRAY, TOKEN_VALUE),
    ROW(TOKEN_CLOSE, TOKEN_VALUE),        ROW(TOKEN_COMMA_OBJECT, TOKEN_KEY),
    ROW(TOKEN_COMMA_ARRAY, TOKEN_VALUE),  ROW(TOKEN_COLON, TOKEN_VALUE),
    ROW(TOKEN_KEY, TOKEN_VALUE),          ROW(TOKEN_VALUE, TOKEN_VALUE),
};
#undef ROW

/* 1: the pair is no JSON. Columns: { [ close ,obj ,arr : key value. */
#define ROW(before, o, a, cl, co, ca, colon, key, value)                                 \
	[8 * (before)] = o, a, cl, co, ca, colon, key, value
static const uint8_t token_pair_bad[64] = {
    ROW(TOKEN_OBJECT, 1, 1, 0, 1, 1, 1, 0, 1),       ROW(TOKEN_ARRAY, 0, 0, 0, 1, 1, 1, 1, 0),
    ROW(TOKEN_CLOSE, 1, 1, 0, 0, 0, 1, 1, 1),        ROW(TOKEN_COMMA_OBJECT, 1, 1, 1, 1, 1, 1, 0, 1),
    ROW(TOKEN_COMMA_ARRAY, 0, 0, 1, 1, 1, 1, 1, 0),  ROW(TOKEN_COLON, 0, 0, 1, 1, 1, 1, 1, 0),
    ROW(TOKEN_KEY, 1, 1, 1, 1, 1, 0, 1, 1),          ROW(TOKEN_VALUE, 1, 1, 0, 0, 0, 1, 1, 1),
};
#undef ROW

/* Lane 0 from the second operand (the token carried in), lane i from lane i - 1. */
static const uint8_t one_lane_later[64] = {
    64, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
    43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62,
};

#define AVX512_TOKENS "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi2,popcnt"

/* Each token's kind looked up from the token before it (8 * before + after, in table). */
__attribute__((target(AVX512_TOKENS))) static inline __m512i
after_token(__m512i kinds, __m512i carried, const uint8_t *table)
{
	__m512i before = _mm512_permutex2var_epi8(
	    kinds, _mm512_loadu_si512((const void *)one_lane_later), carried);
	__m512i pair = _mm512_or_si512(_mm512_slli_epi16(before, 3), kinds);
	return _mm512_permutexvar_epi8(pair, _mm512_loadu_si512((const void *)table));
}

__attribute__((target(AVX512_TOKENS))) static inline uint64_t
grammar_tokens(struct vstate *v, const char *p, const struct tokens *t)
{
	__m512i bytes = _mm512_loadu_si512((const void *)p);
	__m512i kinds =
	    _mm512_permutexvar_epi8(bytes, _mm512_loadu_si512((const void *)token_of_byte));
	kinds = _mm512_mask_mov_epi8(kinds, t->comma & t->array,
	                             _mm512_set1_epi8(TOKEN_COMMA_ARRAY));
	kinds = _mm512_mask_mov_epi8(kinds, t->starts, _mm512_set1_epi8(TOKEN_VALUE));
	uint64_t tokens = t->open | t->close | t->comma | t->colon | t->oq | t->starts;
	kinds = _mm512_maskz_compress_epi8(tokens, kinds);
	__m512i carried = _mm512_castsi128_si512(_mm_cvtsi32_si128(v->last_token));
	__m512i roles = after_token(kinds, carried, token_role);
	__m512i bad = after_token(roles, carried, token_pair_bad);
	unsigned count = (unsigned)__builtin_popcountll(tokens);
	if (count > 0) {
		__m512i last = _mm512_permutexvar_epi8(_mm512_set1_epi8((char)(count - 1)), roles);
		v->last_token = (uint8_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(last));
	}
	/* A pair is bad somewhere in the block; where does not matter, only that it is. */
	return _mm512_test_epi8_mask(bad, bad) & _bzhi_u64(~0ull, count);
}

/* One masked load (it reads only the bytes there are) instead of a memset and a memcpy. */
__attribute__((target(AVX512_TOKENS))) static inline void pad_avx512(char padded[64],
                                                                    const char *p, size_t left)
{
	__m512i bytes = _mm512_mask_loadu_epi8(_mm512_set1_epi8(' '), _bzhi_u64(~0ull, left), p);
	_mm512_storeu_si512((void *)padded, bytes);
}

__attribute__((target(AVX512_TOKENS ",pclmul"))) static size_t
container_avx512(const char *json, size_t n, uint32_t depth_max)
{
	return container(json, n, depth_max, classify_avx512, prefix_xor_clmul, grammar_tokens,
	                 pad_avx512);
}
#endif

static size_t (*container_walk)(const char *json, size_t n, uint32_t depth_max) = container_sse2;

/*
 * The widest build the CPU runs: AVX-512 (BW for the classes, VBMI and VBMI2 for the token
 * grammar), else AVX2 (both with a carry-less multiply),
 * else SSE2. BB_FLT_BASELINE=1 keeps SSE2, as for the scanner's container walk, and
 * BB_FLT_BASELINE=avx2 stops at AVX2, so the tests run every build on one machine.
 */
__attribute__((constructor)) static void choose_container_walk(void)
{
#ifdef __x86_64__
	__builtin_cpu_init();
	const char *baseline = getenv("BB_FLT_BASELINE");
	if (baseline != NULL && strcmp(baseline, "1") == 0)
		return;
	if (!__builtin_cpu_supports("pclmul"))
		return;
	if (__builtin_cpu_supports("avx2"))
		container_walk = container_avx2;
	bool avx2_only = baseline != NULL && strcmp(baseline, "avx2") == 0;
	if (!avx2_only && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2") &&
	    __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt"))
		container_walk = container_avx512;
#endif
}

const char *flt_valid_container(const char *p, const char *end, uint32_t depth_max)
{
	assert(p <= end);
	size_t n = (size_t)(end - p);
	if (n == 0 || (*p != '{' && *p != '[') || depth_max == 0)
		return NULL;
	size_t past = container_walk(p, n, depth_max);
	assert(past <= n);
	return past > 0 ? p + past : NULL;
}

bool flt_valid_blocks(const char *json, size_t n, uint32_t depth_max)
{
	size_t i = 0;
	while (i < n && is_json_ws(json[i]))
		i++;
	if (i >= n || json[i] != '{')
		return false; /* an event is an object */
	const char *past = flt_valid_container(json + i, json + n, depth_max);
	if (past == NULL)
		return false;
	for (; past < json + n; past++) {
		if (!is_json_ws(*past))
			return false;
	}
	return true;
}
#else
const char *flt_valid_container(const char *p, const char *end, uint32_t depth_max)
{
	(void)p;
	(void)end;
	(void)depth_max;
	return NULL; /* no SIMD build: the strict scanner decides everything */
}

bool flt_valid_blocks(const char *json, size_t n, uint32_t depth_max)
{
	(void)json;
	(void)n;
	(void)depth_max;
	return false;
}
#endif
