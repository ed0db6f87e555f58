/*
 * The streaming event scanner (see flt_int.h). Iterative, one pass, no tree:
 * an explicit stack of open containers replaces recursion, so depth is a
 * checked limit rather than the C stack. Everything is validated, including
 * what is skipped: strings (escapes, surrogate pairs, UTF-8), numbers (the
 * JSON grammar), literals, structure, and nothing after the top-level object.
 * An event flt_validate already accepted is scanned trusting that: a skipped
 * value is stepped over by its brackets and quotes alone. In an event not
 * validated before, a skipped container goes to the block validator
 * (flt_valid.c), which vouches for it 64 bytes a step or leaves it to this
 * scanner's byte-by-byte walk, so the answer is always this scanner's.
 *
 * The byte searches below take 16 bytes a step with SSE2 (x86-64's baseline);
 * they are the scanner's inner loops, which is why they are written by hand.
 * The container walk is built twice, SSE2 and AVX2, and picked at start-up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "flt_int.h"

#define STACK_MAX 1200u /* above any depth_max allowed */

enum { KIND_OBJECT, KIND_ARRAY };
enum { MODE_SKIP, MODE_DESCEND, MODE_LEAF };

struct frame {
	uint8_t kind;
	uint8_t mode;        /* for an array: its elements' mode */
	uint32_t index;      /* the container's path (FLT_PATH_ROOT at the top) */
	uint64_t path_hash;  /* and its hash, which its members' paths extend */
	uint64_t key_filter; /* its members' keys that may be wanted */
};

/*
 * want's answers for short keys inside arrays, kept for one event: an array of
 * objects asks the same few keys under the same path once an element
 * (coordinates: x and y, dozens of times an event), and want depends on nothing
 * but its arguments. Outside arrays a key comes once (a duplicate aside), and
 * keeping it would only cost.
 */
#define MEMO_SLOTS     4u
#define MEMO_KEY_BYTES 8u

struct memo {
	uint32_t key_bytes; /* above MEMO_KEY_BYTES: empty */
	uint32_t parent;
	uint64_t key_word; /* the key's bytes, the first in the low byte */
	int want;
	uint32_t index;
	uint64_t path_hash, key_filter;
};

struct scanner {
	const char *p;
	const char *end;
	uint64_t path_hash;  /* the current member's path */
	uint64_t key_filter; /* and the filter of its own members' keys */
	const struct flt_scan_hooks *hooks;
	struct flt_scan_buffers *buffers;
	struct memo memo[MEMO_SLOTS];
	bool memo_cleared; /* this event */
	struct frame stack[STACK_MAX];
	uint32_t depth;
	uint32_t depth_max;
	uint32_t arrays; /* array frames on the stack */
	bool trusted;    /* the event was validated before */
	bool stop;       /* trusted, and every wanted path has been read */
};

static bool plain_string_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* The first byte at or after p that is not plain ASCII string content, or end. */
static const char *plain_run_end(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	for (; end - p >= 16; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* Signed: bytes >= 0x80 are negative, so one compare finds them and controls. */
		__m128i stop = _mm_or_si128(
		    _mm_cmplt_epi8(v, space),
		    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
		int mask = _mm_movemask_epi8(stop);
		if (mask != 0)
			return p + __builtin_ctz((unsigned)mask);
	}
#endif
	while (p < end && plain_string_byte((unsigned char)*p))
		p++;
	return p;
}

/* The first '"' or '\\' at or after p, or end. */
static const char *quote_or_backslash(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
	for (; end - p >= 16; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		int mask = _mm_movemask_epi8(
		    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
		if (mask != 0)
			return p + __builtin_ctz((unsigned)mask);
	}
#endif
	while (p < end && *p != '"' && *p != '\\')
		p++;
	return p;
}

/* Where a trusted container's walk stands: open brackets, inside a string or not. */
struct walk {
	size_t depth;
	bool in_string;
};

/* Byte by byte from p up to limit; the end of the container, or NULL when it goes on. */
static const char *walk_bytes(struct walk *w, const char **p, const char *limit)
{
	while (*p < limit) {
		char c = *(*p)++;
		if (w->in_string) {
			if (c == '\\')
				(*p)++; /* the escaped byte */
			else if (c == '"')
				w->in_string = false;
		} else if (c == '"') {
			w->in_string = true;
		} else if (c == '{' || c == '[') {
			w->depth++;
		} else if ((c == '}' || c == ']') && --w->depth == 0) {
			return *p;
		}
	}
	return NULL;
}

#ifdef __SSE2__
/* One bit per byte of p[0, 64): quotes, backslashes, opening and closing brackets. */
struct block {
	uint64_t quote, backslash, open, close;
};

/* How one build of the block walk classifies bytes and counts bits. */
typedef void (*classify_fn)(const char *p, struct block *b);
typedef uint64_t (*prefix_xor_fn)(uint64_t x);
typedef unsigned (*popcount_fn)(uint64_t x);

static uint64_t bits16(__m128i v, __m128i c, int i)
{
	return (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, c)) << (16 * i);
}

static inline void classify_sse2(const char *p, struct block *b)
{
	/* '[' and ']' are '{' and '}' without the 0x20 bit. */
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
	const __m128i open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');
	const __m128i bit = _mm_set1_epi8(0x20);
	*b = (struct block){0};
	for (int i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * i));
		__m128i folded = _mm_or_si128(v, bit);
		b->quote |= bits16(v, quote, i);
		b->backslash |= bits16(v, backslash, i);
		b->open |= bits16(folded, open, i);
		b->close |= bits16(folded, close, i);
	}
}

/* Bit i: the xor of bits 0..i, i.e. inside a string when x marks its quotes. */
static inline uint64_t prefix_xor_shifts(uint64_t x)
{
	for (int shift = 1; shift < 64; shift *= 2)
		x ^= x << shift;
	return x;
}

static inline unsigned popcount_swar(uint64_t x) /* baseline x86-64 has no popcnt */
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/*
 * One 64-byte block of a trusted container's walk, from *p: the end of the
 * container if it closes there, else NULL with *p at the next block. Brackets
 * inside strings are masked out by the running xor of the quotes, and a block
 * is walked bit by bit only when the container could close in it. A block with
 * a backslash is walked byte by byte (escapes are rare in events). Inlined into
 * one function per instruction set, with that set's three helpers.
 */
static inline __attribute__((always_inline)) const char *walk_block(struct walk *w, const char **p,
                                                                    classify_fn classify,
                                                                    prefix_xor_fn prefix_xor,
                                                                    popcount_fn popcount)
{
	struct block b;
	classify(*p, &b);
	if (b.backslash != 0)
		return walk_bytes(w, p, *p + 64);
	uint64_t inside = prefix_xor(b.quote) ^ (w->in_string ? ~0ull : 0);
	w->in_string = inside >> 63;
	uint64_t opens = b.open & ~inside, closes = b.close & ~inside;
	if (w->depth > popcount(closes)) {
		w->depth = w->depth + popcount(opens) - popcount(closes);
		*p += 64;
		return NULL;
	}
	for (uint64_t left = opens | closes; left != 0; left &= left - 1) {
		int i = __builtin_ctzll(left);
		if (opens >> i & 1)
			w->depth++;
		else if (--w->depth == 0)
			return *p + i + 1;
	}
	*p += 64;
	return NULL;
}

/*
 * Past the container opening at p (trusted), or end: block by block, the last
 * few bytes copied into a block padded with spaces (they open and close nothing)
 * rather than walked a byte at a time.
 */
static inline __attribute__((always_inline)) const char *
container_end_by_blocks(const char *p, const char *end, classify_fn classify,
                        prefix_xor_fn prefix_xor, popcount_fn popcount)
{
	struct walk w = {0};
	while (end - p >= 64) {
		const char *closed = walk_block(&w, &p, classify, prefix_xor, popcount);
		if (closed != NULL)
			return closed < end ? closed : end;
	}
	if (p >= end)
		return end;
	char padded[64];
	size_t left = (size_t)(end - p);
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, p, left);
	const char *at = padded;
	const char *closed = walk_block(&w, &at, classify, prefix_xor, popcount);
	return closed != NULL && (size_t)(closed - padded) <= left ? p + (closed - padded) : end;
}

static const char *container_end_sse2(const char *p, const char *end)
{
	return container_end_by_blocks(p, end, classify_sse2, prefix_xor_shifts, popcount_swar);
}

#ifdef __x86_64__
/*
 * The same walk with AVX2 (two 32-byte compares a class), a carry-less
 * multiply for the running xor and the popcnt instruction, chosen at start-up
 * when the CPU has all three: events' coordinate arrays are most of what a
 * skip crosses, and this made NUMERIC 18-28% faster (perf/RESULTS.md).
 */
__attribute__((target("avx2"))) static inline uint64_t bits32(__m256i lo, __m256i hi, char c)
{
	__m256i v = _mm256_set1_epi8(c);
	return (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, v)) |
	       (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, v)) << 32;
}

__attribute__((target("avx2"))) static inline void classify_avx2(const char *p, struct block *b)
{
	__m256i lo = _mm256_loadu_si256((const __m256i *)p);
	__m256i hi = _mm256_loadu_si256((const __m256i *)(p + 32));
	b->quote = bits32(lo, hi, '"');
	b->backslash = bits32(lo, hi, '\\');
	const __m256i bit = _mm256_set1_epi8(0x20);
	lo = _mm256_or_si256(lo, bit);
	hi = _mm256_or_si256(hi, bit);
	b->open = bits32(lo, hi, '{');
	b->close = bits32(lo, hi, '}');
}

__attribute__((target("pclmul"))) static inline uint64_t prefix_xor_clmul(uint64_t x)
{
	__m128i all = _mm_set1_epi8(-1);
	return (uint64_t)_mm_cvtsi128_si64(
	    _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)x), all, 0));
}

__attribute__((target("popcnt"))) static inline unsigned popcount_hw(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

__attribute__((target("avx2,pclmul,popcnt"))) static const char *container_end_avx2(const char *p,
                                                                                    const char *end)
{
	return container_end_by_blocks(p, end, classify_avx2, prefix_xor_clmul, popcount_hw);
}
#endif

static const char *(*container_end)(const char *p, const char *end) = container_end_sse2;

/* BB_FLT_BASELINE=1 keeps the SSE2 build, so the tests run both on one machine. */
__attribute__((constructor)) static void choose_container_end(void)
{
#ifdef __x86_64__
	__builtin_cpu_init();
	const char *baseline = getenv("BB_FLT_BASELINE");
	if ((baseline == NULL || strcmp(baseline, "1") != 0) && __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("popcnt"))
		container_end = container_end_avx2;
#endif
}

/* Past the container opening at p (trusted), or end. */
static const char *trusted_container_end(const char *p, const char *end)
{
	return container_end(p, end);
}
#else
static const char *trusted_container_end(const char *p, const char *end)
{
	struct walk w = {0};
	const char *closed = walk_bytes(&w, &p, end);
	return closed != NULL && closed <= end ? closed : end;
}
#endif

static bool ends_scalar(char c)
{
	unsigned char u = (unsigned char)c;
	return c == ',' || c == '}' || c == ']' || u <= ' ' || u >= 0x80;
}

/* The end of a number or literal at p (trusted): the first delimiter or space, or end. */
static const char *scalar_end(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i comma = _mm_set1_epi8(','), brace = _mm_set1_epi8('}');
	const __m128i bracket = _mm_set1_epi8(']'), above_space = _mm_set1_epi8(' ' + 1);
	for (; end - p >= 16; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		/* Signed: no byte of a valid number or literal is >= 0x80 or <= ' '. */
		__m128i stop = _mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, brace)),
		    _mm_or_si128(_mm_cmpeq_epi8(v, bracket), _mm_cmplt_epi8(v, above_space)));
		int mask = _mm_movemask_epi8(stop);
		if (mask != 0)
			return p + __builtin_ctz((unsigned)mask);
	}
#endif
	while (p < end && !ends_scalar(*p))
		p++;
	return p;
}

/* Past the closing quote of a string whose opening quote is before p (trusted), or end. */
static const char *trusted_string_end(const char *p, const char *end)
{
	for (;;) {
		p = quote_or_backslash(p, end);
		if (end - p < 2)
			return p < end ? p + 1 : end;
		if (*p == '"')
			return p + 1;
		p += 2; /* the backslash and the byte it escapes */
	}
}

/*
 * Steps over the value at s->p in an event already validated: strings by their
 * quotes, containers by their brackets, anything else up to its delimiter.
 * Never reads outside the event whatever it holds; on a broken one the result
 * is meaningless but safe.
 */
static int skip_trusted(struct scanner *s)
{
	const char *p = s->p;
	if (*p == '"') {
		s->p = trusted_string_end(p + 1, s->end);
		return 0;
	}
	if (*p != '{' && *p != '[') {
		s->p = scalar_end(p, s->end);
		return 0;
	}
	s->p = trusted_container_end(p, s->end);
	return 0;
}

/* JSON's four whitespace bytes. Most bytes tested are not even controls or spaces, so that
 * is asked first; the four are then one bit test. */
static bool is_ws(char c)
{
	const uint64_t ws = 1ull << ' ' | 1ull << '\t' | 1ull << '\n' | 1ull << '\r';
	unsigned char u = (unsigned char)c;
	return u <= ' ' && (ws >> u & 1) != 0;
}

static void skip_ws(struct scanner *s)
{
	const char *p = s->p;
	while (p < s->end && is_ws(*p))
		p++;
	s->p = p;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of a valid UTF-8 sequence at p (strict: no overlongs, surrogates, > U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n = c < 0x80                   ? 1
	           : (c >= 0xc2 && c <= 0xdf) ? 2
	           : (c >= 0xe0 && c <= 0xef) ? 3
	           : (c >= 0xf0 && c <= 0xf4) ? 4
	                                      : 0;
	if (n == 0 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* An escape after the backslash at s->p; appends its bytes to out when out is not NULL. */
static int escape(struct scanner *s, char *out, size_t *written)
{
	char c = *s->p++;
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *simple = c ? strchr(from, c) : NULL;
	if (simple != NULL) {
		if (out)
			out[(*written)++] = to[simple - from];
		return 0;
	}
	uint32_t cp, low;
	if (c != 'u' || s->end - s->p < 4 || hex4(s->p, &cp) != 0)
		return -EINVAL;
	s->p += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -EINVAL; /* a low surrogate alone */
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
		    hex4(s->p + 2, &low) != 0 || low < 0xdc00 || low > 0xdfff)
			return -EINVAL;
		s->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
	}
	if (out)
		*written += put_utf8(cp, out + *written);
	return 0;
}

/* A string after its opening quote; unescaped into out (capacity bytes) when out is not NULL. */
static int string(struct scanner *s, char *out, size_t capacity, size_t *length)
{
	size_t written = 0;
	while (s->p < s->end && *s->p != '"') {
		/* The common case first: a run of plain ASCII, copied or skipped as a block. */
		const char *run = s->p;
		s->p = plain_run_end(s->p, s->end);
		size_t run_bytes = (size_t)(s->p - run);
		if (out && run_bytes > 0) {
			if (capacity - written < run_bytes + 4)
				return -EINVAL; /* over the limit */
			memcpy(out + written, run, run_bytes);
			written += run_bytes;
		}
		if (s->p >= s->end || *s->p == '"')
			break;
		if (out && capacity - written < 4)
			return -EINVAL; /* over the limit */
		unsigned char c = (unsigned char)*s->p;
		if (c < 0x20)
			return -EINVAL;
		if (c == '\\') {
			s->p++;
			if (s->p >= s->end || escape(s, out, &written) != 0)
				return -EINVAL;
			continue;
		}
		size_t n =
		    utf8_sequence((const unsigned char *)s->p, (const unsigned char *)s->end);
		if (n == 0)
			return -EINVAL;
		if (out)
			memcpy(out + written, s->p, n);
		written += out ? n : 0;
		s->p += n;
	}
	if (s->p >= s->end)
		return -EINVAL;
	s->p++; /* closing quote */
	*length = written;
	return 0;
}

/* A number, validated; converted only when value is not NULL. */
static int number(struct scanner *s, double *value)
{
	size_t n = flt_number(s->p, (size_t)(s->end - s->p), value);
	s->p += n;
	return n > 0 ? 0 : -EINVAL;
}

static int literal(struct scanner *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -EINVAL;
	s->p += n;
	return 0;
}

/* A value that is not a container; reported when the mode asks for it. */
static int scalar(struct scanner *s, uint8_t mode, uint32_t index)
{
	struct flt_leaf leaf = {0};
	int rc;
	char c = *s->p;
	if (c == '"') {
		const char *start = ++s->p;
		const char *stop = plain_run_end(start, s->end);
		leaf.type = FLT_STRING;
		if (stop < s->end && *stop == '"') {
			/* No escapes: the value is the event's own bytes. */
			leaf.text = start;
			leaf.length = (size_t)(stop - start);
			s->p = stop + 1;
			rc = 0;
		} else {
			char *out = mode == MODE_LEAF ? s->buffers->strings : NULL;
			rc = string(s, out, FLT_STRING_BYTES_MAX, &leaf.length);
			leaf.text = out;
		}
	} else if (c == 't' || c == 'f' || c == 'n') {
		leaf.type = c == 't' ? FLT_TRUE : c == 'f' ? FLT_FALSE : FLT_NULL;
		rc = c == 't'   ? literal(s, "true", 4)
		     : c == 'f' ? literal(s, "false", 5)
		                : literal(s, "null", 4);
	} else {
		leaf.type = FLT_NUMBER;
		rc = number(s, mode == MODE_LEAF ? &leaf.number : NULL);
	}
	if (rc == 0 && mode == MODE_LEAF &&
	    s->hooks->on_leaf(s->hooks->ctx, index, &leaf, s->arrays == 0))
		s->stop = s->trusted;
	return rc;
}

static int push(struct scanner *s, uint8_t kind, uint8_t mode, uint32_t index)
{
	if (s->depth >= s->depth_max)
		return -EINVAL;
	s->arrays += kind == KIND_ARRAY;
	s->stack[s->depth++] = (struct frame){.kind = kind,
	                                      .mode = mode,
	                                      .index = index,
	                                      .path_hash = s->path_hash,
	                                      .key_filter = s->key_filter};
	return 0;
}

/*
 * A container no rule reads, in an event not validated before: validated by blocks
 * (flt_valid.c) when the block validator can vouch for it, with the levels the depth
 * limit leaves; false, the cursor unmoved, when it leaves it to this scanner.
 */
static bool skipped_by_blocks(struct scanner *s)
{
	if (s->hooks->strict)
		return false;
	const char *past = flt_valid_container(s->p, s->end, s->depth_max - s->depth);
	if (past == NULL)
		return false;
	s->p = past;
	return true;
}

/* A value of the given mode at the current path: a scalar, or a container to enter. */
static int value(struct scanner *s, uint8_t mode, uint32_t index, bool *opened)
{
	skip_ws(s);
	*opened = false;
	if (s->p >= s->end)
		return -EINVAL;
	if (s->trusted && mode == MODE_SKIP)
		return skip_trusted(s);
	if (*s->p == '{' || *s->p == '[') {
		if (mode == MODE_SKIP && skipped_by_blocks(s))
			return 0;
		uint8_t kind = *s->p == '{' ? KIND_OBJECT : KIND_ARRAY;
		s->p++;
		*opened = true;
		/* Inside an object only its members' paths count; a leaf path names leaves. */
		uint8_t inner = kind == KIND_OBJECT && mode == MODE_LEAF ? MODE_DESCEND : mode;
		return push(s, kind, inner, index);
	}
	return scalar(s, mode, index);
}

/* A member's key after its opening quote; key points at it unescaped (NULL when not kept). */
static int key_text(struct scanner *s, bool keep, const char **key, size_t *key_bytes)
{
	*key = ++s->p;
	const char *stop = plain_run_end(*key, s->end);
	if (stop < s->end && *stop == '"') {
		*key_bytes = (size_t)(stop - *key); /* no escapes: the event's own bytes */
		s->p = stop + 1;
		return 0;
	}
	/* Unescaped into the string buffer: a key is done with before its value is read. A
	 * skipped subtree's keys are validated but not kept. */
	char *out = keep ? s->buffers->strings : NULL;
	*key = out;
	return string(s, out, FLT_STRING_BYTES_MAX, key_bytes);
}

/* The byte c, after any whitespace: consumed, true; false (s->p past the whitespace) when
 * something else comes. Events seldom have whitespace before a separator: c is looked
 * for first. */
static bool take(struct scanner *s, char c)
{
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	skip_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* want for a member of object, from the memo when it was asked before in this event. */
static int ask_want(struct scanner *s, const struct frame *object, const char *key,
                    size_t key_bytes, uint32_t *index)
{
	struct memo *memo = NULL;
	uint64_t word = 0;
	if (s->arrays > 0 && key_bytes <= MEMO_KEY_BYTES) {
		if (!s->memo_cleared) {
			for (uint32_t i = 0; i < MEMO_SLOTS; i++)
				s->memo[i].key_bytes = MEMO_KEY_BYTES + 1;
			s->memo_cleared = true;
		}
		for (size_t i = 0; i < key_bytes; i++)
			word |= (uint64_t)(uint8_t)key[i] << (8 * i);
		memo = &s->memo[(word ^ object->index) % MEMO_SLOTS];
		if (memo->key_bytes == key_bytes && memo->key_word == word &&
		    memo->parent == object->index) {
			*index = memo->index;
			s->path_hash = memo->path_hash;
			s->key_filter = memo->key_filter;
			return memo->want;
		}
	}
	/* Into locals: the scanner's address must not leave this file (flt_scan). */
	uint64_t path_hash = 0, key_filter = 0;
	int want = s->hooks->want(s->hooks->ctx, object->index, object->path_hash, key, key_bytes,
	                          index, &path_hash, &key_filter);
	s->path_hash = path_hash;
	s->key_filter = key_filter;
	if (memo != NULL)
		*memo = (struct memo){.key_bytes = (uint32_t)key_bytes,
		                      .parent = object->index,
		                      .key_word = word,
		                      .want = want,
		                      .index = *index,
		                      .path_hash = path_hash,
		                      .key_filter = key_filter};
	return want;
}

/*
 * The next member's key: asks what is wanted under it. In a trusted event, the
 * members whose keys the object's filter rules out are stepped over here, one
 * after another (most of an event's members are): 1 when that reaches the end
 * of the object (s->p at whatever follows the last value), else 0.
 */
static int member_key(struct scanner *s, const struct frame *object, uint8_t *mode, uint32_t *index)
{
	bool wanted = object->mode != MODE_SKIP;
	for (;;) {
		skip_ws(s);
		if (s->p >= s->end || *s->p != '"')
			return -EINVAL;
		const char *key;
		size_t key_bytes;
		int rc = key_text(s, wanted, &key, &key_bytes);
		if (rc != 0)
			return rc;
		*mode = MODE_SKIP;
		bool passes =
		    wanted && (object->key_filter & flt_key_signature(key, key_bytes)) != 0;
		if (passes) {
			int want = ask_want(s, object, key, key_bytes, index);
			*mode = want == 2 ? MODE_LEAF : want == 1 ? MODE_DESCEND : MODE_SKIP;
		}
		if (!take(s, ':'))
			return -EINVAL;
		if (passes || !s->trusted)
			return 0;
		skip_ws(s);
		if (s->p >= s->end)
			return -EINVAL;
		skip_trusted(s);
		if (take(s, ','))
			continue;
		return s->p < s->end ? 1 : -EINVAL;
	}
}

/* A wanted member of the top-level object is complete; true when the caller may stop. */
static bool top_member_done(struct scanner *s)
{
	return s->hooks->member_done != NULL && s->hooks->member_done(s->hooks->ctx);
}

/* The container at the top of the stack closed: back to its parent. Returns as
 * next_in_container does. */
static int close_container(struct scanner *s)
{
	const struct frame *f = &s->stack[s->depth - 1];
	uint8_t closed_mode = f->mode;
	s->arrays -= f->kind == KIND_ARRAY;
	s->depth--;
	if (s->depth == 0)
		return 0;
	s->path_hash = s->stack[s->depth - 1].path_hash;
	if (s->depth == 1 && closed_mode != MODE_SKIP && top_member_done(s))
		return 3;
	return 1;
}

/*
 * After a value inside the top container: a separator and the next member or
 * element, or the container's end. Returns 1 when a value was read or a
 * container closed, 2 when one was opened (the caller loops), 3 when the rest
 * need not be read, 0 when the document is complete.
 */
static int next_in_container(struct scanner *s, bool first)
{
	struct frame *f = &s->stack[s->depth - 1];
	char close = f->kind == KIND_OBJECT ? '}' : ']';
	if (first || !take(s, ',')) {
		skip_ws(s);
		if (s->p >= s->end)
			return -EINVAL;
		if (*s->p == close) {
			s->p++;
			return close_container(s);
		}
		if (!first)
			return -EINVAL;
	}
	uint8_t mode = f->mode;
	uint32_t index = f->index;
	s->path_hash = f->path_hash;
	s->key_filter = f->key_filter;
	if (f->kind == KIND_OBJECT) {
		int rc = member_key(s, f, &mode, &index);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (*s->p != close)
				return -EINVAL;
			s->p++;
			return close_container(s);
		}
	}
	bool opened;
	int rc = value(s, mode, index, &opened);
	if (rc != 0)
		return rc;
	if (s->stop)
		return 3;
	if (!opened && s->depth == 1 && mode != MODE_SKIP && top_member_done(s))
		return 3;
	return opened ? 2 : 1;
}

int flt_scan(const char *json, size_t length, uint32_t depth_max,
             const struct flt_scan_hooks *hooks, struct flt_scan_buffers *buffers)
{
	/*
	 * On the stack (19 KB, the frames): a local whose address never leaves this file
	 * lets the compiler keep the cursor in registers across the hooks' indirect calls,
	 * which a static or thread-local could not (4-12% on every rule set, A/B). Set
	 * field by field: clearing the frames per event would cost more than the scan, and
	 * a frame is written by push before it is read.
	 */
	struct scanner s;
	s.p = json;
	s.end = json + length;
	s.path_hash = FLT_PATH_ROOT_HASH;
	s.key_filter = hooks->top_key_filter;
	s.hooks = hooks;
	s.buffers = buffers;
	s.depth = 0;
	s.depth_max = depth_max < STACK_MAX ? depth_max : STACK_MAX;
	s.trusted = hooks->validated;
	s.arrays = 0;
	s.stop = false;
	s.memo_cleared = false;
	skip_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return -EINVAL; /* an event is a JSON object */
	s.p++;
	int rc = push(&s, KIND_OBJECT, MODE_DESCEND, FLT_PATH_ROOT);
	bool first = true;
	/* Bounded by the input: every pass consumes at least one byte. */
	while (rc == 0 || rc == 1 || rc == 2) {
		rc = next_in_container(&s, first);
		if (rc == 0)
			break;
		if (rc == 3)
			return 0; /* every wanted member read: the rest is not */
		first = rc == 2;  /* just opened: the next token may close it at once */
	}
	if (rc != 0)
		return -EINVAL;
	skip_ws(&s);
	return s.p == s.end ? 0 : -EINVAL;
}
