/*
 * The JSON the topic engine reads and writes itself (topic_int.h): a Number attribute, a
 * String.Array attribute, a MessageStructure=json object, and string escaping for the
 * envelope. The worker checks every Publish, so none of this allocates (jansson would),
 * none of it recurses, and every loop is bounded by the bytes it reads. What it accepts is
 * narrower than JSON where SNS's inputs are: arrays are flat, a structure's values strings.
 */
#include "topic_int.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

static size_t skip_space(const uint8_t *t, size_t n, size_t i)
{
	while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static size_t skip_digits(const uint8_t *t, size_t n, size_t i)
{
	while (i < n && is_digit(t[i]))
		i++;
	return i;
}

/* The end of the number starting at i, or 0 when there is none there. */
static size_t number_end(const uint8_t *t, size_t n, size_t i)
{
	if (i < n && t[i] == '-')
		i++;
	if (i >= n || !is_digit(t[i]))
		return 0;
	i = t[i] == '0' ? i + 1 : skip_digits(t, n, i);
	if (i < n && t[i] == '.') {
		size_t after = skip_digits(t, n, i + 1);
		if (after == i + 1)
			return 0;
		i = after;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		size_t after = skip_digits(t, n, i);
		if (after == i)
			return 0;
		i = after;
	}
	return i;
}

bool topic_json_number_valid(const uint8_t *t, size_t n)
{
	assert(t != NULL || n == 0);
	return n > 0 && number_end(t, n, 0) == n;
}

static bool is_hex(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The end (after the closing quote) of the string literal whose quote is at i, or 0. */
static size_t string_end(const uint8_t *t, size_t n, size_t i)
{
	assert(i < n && t[i] == '"');
	for (i++; i < n; i++) {
		if (t[i] == '"')
			return i + 1;
		if (t[i] < 0x20)
			return 0;
		if (t[i] != '\\')
			continue;
		if (++i >= n)
			return 0;
		if (t[i] == 'u') {
			if (n - i < 5 || !is_hex(t[i + 1]) || !is_hex(t[i + 2]) || !is_hex(t[i + 3]) ||
			    !is_hex(t[i + 4]))
				return 0;
			i += 4;
		} else if (strchr("\"\\/bfnrt", t[i]) == NULL || t[i] == 0) {
			return 0;
		}
	}
	return 0;
}

/* The end of a scalar (string, number, true, false, null) at i, or 0. */
static size_t scalar_end(const uint8_t *t, size_t n, size_t i)
{
	if (i >= n)
		return 0;
	if (t[i] == '"')
		return string_end(t, n, i);
	static const char *const words[] = {"true", "false", "null"};
	for (size_t w = 0; w < 3; w++) {
		size_t len = strlen(words[w]);
		if (n - i >= len && memcmp(t + i, words[w], len) == 0)
			return i + len;
	}
	return number_end(t, n, i);
}

bool topic_json_flat_array_valid(const uint8_t *t, size_t n)
{
	assert(t != NULL || n == 0);
	size_t i = skip_space(t, n, 0);
	if (i >= n || t[i] != '[')
		return false;
	i = skip_space(t, n, i + 1);
	if (i < n && t[i] == ']')
		return skip_space(t, n, i + 1) == n;
	while (i < n) {
		size_t end = scalar_end(t, n, i);
		if (end == 0)
			return false;
		i = skip_space(t, n, end);
		if (i < n && t[i] == ']')
			return skip_space(t, n, i + 1) == n;
		if (i >= n || t[i] != ',')
			return false;
		i = skip_space(t, n, i + 1);
	}
	return false;
}

/* True when the literal (between quotes) unescapes to exactly key. */
static bool key_equals(const uint8_t *literal, size_t bytes, const char *key)
{
	uint8_t decoded[64];
	size_t length;
	if (topic_json_unescape(literal, bytes, decoded, sizeof(decoded), &length) != 0)
		return false;
	return length == strlen(key) && memcmp(decoded, key, length) == 0;
}

int topic_json_structure_find(const uint8_t *t, size_t n, const char *key,
                              const uint8_t **literal_out, size_t *literal_bytes_out)
{
	assert(key != NULL);
	size_t i = skip_space(t, n, 0);
	bool found = false;
	if (i >= n || t[i] != '{')
		return -EINVAL;
	i = skip_space(t, n, i + 1);
	bool empty = i < n && t[i] == '}';
	while (!empty && i < n) {
		size_t key_end = t[i] == '"' ? string_end(t, n, i) : 0;
		if (key_end == 0)
			return -EINVAL;
		size_t colon = skip_space(t, n, key_end);
		size_t value = colon < n && t[colon] == ':' ? skip_space(t, n, colon + 1) : n;
		size_t value_end = value < n && t[value] == '"' ? string_end(t, n, value) : 0;
		if (value_end == 0)
			return -EINVAL;
		if (!found && key_equals(t + i + 1, key_end - i - 2, key)) {
			found = true;
			*literal_out = t + value + 1;
			*literal_bytes_out = value_end - value - 2;
		}
		i = skip_space(t, n, value_end);
		if (i < n && t[i] == '}')
			break;
		if (i >= n || t[i] != ',')
			return -EINVAL;
		i = skip_space(t, n, i + 1);
	}
	if (i >= n || skip_space(t, n, i + 1) != n)
		return -EINVAL;
	return found ? 0 : -ENOENT;
}

static uint32_t hex4(const uint8_t *h)
{
	uint32_t v = 0;
	for (int k = 0; k < 4; k++) {
		uint8_t c = h[k];
		uint32_t d = is_digit(c) ? (uint32_t)(c - '0') : (uint32_t)((c | 0x20) - 'a' + 10);
		v = v << 4 | d;
	}
	return v;
}

static size_t utf8_put(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the \u escape at lit[i] ('u' at i): the code point and the bytes it took. */
static uint32_t unicode_escape(const uint8_t *lit, size_t n, size_t i, size_t *taken)
{
	uint32_t cp = hex4(lit + i + 1);
	*taken = 5;
	bool high = cp >= 0xD800 && cp <= 0xDBFF;
	bool pair = high && n - i >= 11 && lit[i + 5] == '\\' && lit[i + 6] == 'u';
	uint32_t low = pair ? hex4(lit + i + 7) : 0;
	if (pair && low >= 0xDC00 && low <= 0xDFFF) {
		*taken = 11;
		return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
	}
	return cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp;
}

int topic_json_unescape(const uint8_t *lit, size_t n, uint8_t *out, size_t capacity,
                        size_t *length_out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint8_t encoded[4];
		size_t put = 1;
		encoded[0] = lit[i];
		size_t taken = 1;
		if (lit[i] == '\\') {
			assert(i + 1 < n);
			uint8_t c = lit[i + 1];
			static const char from[] = "\"\\/bfnrt";
			static const char to[] = "\"\\/\b\f\n\r\t";
			if (c == 'u') {
				uint32_t cp = unicode_escape(lit, n, i + 1, &taken);
				put = utf8_put(cp, encoded);
			} else {
				encoded[0] = (uint8_t)to[strchr(from, c) - from];
			}
			taken += 1;
		}
		if (capacity - o < put)
			return -ENOBUFS;
		memcpy(out + o, encoded, put);
		o += put;
		i += taken;
	}
	*length_out = o;
	assert(o <= n);
	return 0;
}

size_t topic_json_escape(const uint8_t *t, size_t n, uint8_t *out, size_t capacity)
{
	static const char hex[] = "0123456789ABCDEF"; /* as SNS (Jackson) writes them */
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		/* A run that needs no escaping goes in one copy (most text is one run). */
		size_t run = i;
		while (run < n && t[run] >= 0x20 && t[run] != '"' && t[run] != '\\')
			run++;
		if (run > i) {
			if (capacity - o < run - i)
				return SIZE_MAX;
			memcpy(out + o, t + i, run - i);
			o += run - i;
			i = run;
			if (i == n)
				break;
		}
		uint8_t c = t[i];
		char esc[6];
		size_t put = 1;
		esc[0] = (char)c;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put = 2;
		} else if (c < 0x20) {
			const char *named = c == '\n' ? "n" : c == '\r' ? "r" : c == '\t' ? "t"
			                  : c == '\b' ? "b" : c == '\f' ? "f" : NULL;
			esc[0] = '\\';
			esc[1] = named ? named[0] : 'u';
			put = 2;
			if (named == NULL) {
				memcpy(esc + 2, "00", 2);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				put = 6;
			}
		}
		if (capacity - o < put)
			return SIZE_MAX;
		memcpy(out + o, esc, put);
		o += put;
	}
	return o;
}
