/*
 * JSON for the bus engine (bus_json.h). bus_json_check is the one parser of untrusted
 * text: it reads each byte once, keeps the open containers in a bit stack (1 bit each,
 * BUS_JSON_DEPTH_MAX deep), and refuses what RFC 8259 refuses plus invalid UTF-8 and lone
 * surrogate escapes. The readers below it trust that their text passed it.
 */
#include "bus_json.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#define STACK_WORDS ((BUS_JSON_DEPTH_MAX + 63u) / 64u)

struct checker {
	const uint8_t *t;
	size_t n;
	size_t pos;
	unsigned flags;
	uint32_t depth;
	uint32_t depth_max;
	uint64_t objects[STACK_WORDS]; /* bit set: the container at that depth is an object */
};

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t bus_json_skip_space(const char *text, size_t length, size_t pos)
{
	while (pos < length && is_space((uint8_t)text[pos]))
		pos++;
	return pos;
}

/* Bytes of the UTF-8 sequence at p (1-4), 0 when it is not a valid one. */
static size_t utf8_sequence(const uint8_t *p, size_t left)
{
	uint8_t c = p[0];
	if (c < 0x80)
		return 1;
	size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	if (need == 0 || c > 0xf4 || left < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	if (c == 0xe0 && p[1] < 0xa0)
		return 0; /* overlong */
	if (c == 0xed && p[1] >= 0xa0)
		return 0; /* a surrogate */
	if (c == 0xf0 && p[1] < 0x90)
		return 0; /* overlong */
	if (c == 0xf4 && p[1] >= 0x90)
		return 0; /* above U+10FFFF */
	return need;
}

size_t bus_utf8_valid_prefix(const uint8_t *bytes, size_t length)
{
	size_t i = 0;
	while (i < length) {
		size_t k = utf8_sequence(bytes + i, length - i);
		if (k == 0)
			break;
		i += k;
	}
	return i;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t c = p[i];
		uint32_t d = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
		             : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
		             : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
		                                    : 16u;
		if (d == 16)
			return -EINVAL;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/* One escape after its backslash at c->pos: moves past it. */
static int check_escape(struct checker *c)
{
	if (c->pos >= c->n)
		return -EINVAL;
	uint8_t e = c->t[c->pos++];
	if (e != 'u')
		return strchr("\"\\/bfnrt", e) != NULL && e != 0 ? 0 : -EINVAL;
	uint32_t unit = 0;
	if (c->n - c->pos < 4 || hex4(c->t + c->pos, &unit) != 0)
		return -EINVAL;
	c->pos += 4;
	if (unit >= 0xdc00 && unit <= 0xdfff)
		return -EINVAL; /* a low surrogate alone */
	if (unit < 0xd800 || unit > 0xdbff)
		return 0;
	uint32_t low = 0;
	bool paired = c->n - c->pos >= 6 && c->t[c->pos] == '\\' && c->t[c->pos + 1] == 'u' &&
	              hex4(c->t + c->pos + 2, &low) == 0 && low >= 0xdc00 && low <= 0xdfff;
	if (!paired)
		return -EINVAL;
	c->pos += 6;
	return 0;
}

/* A string at c->pos (its opening quote): moves past its closing quote. */
static int check_string(struct checker *c)
{
	assert(c->t[c->pos] == '"');
	c->pos++;
	while (c->pos < c->n) {
		uint8_t b = c->t[c->pos];
		if (b == '"') {
			c->pos++;
			return 0;
		}
		if (b < 0x20)
			return -EINVAL;
		if (b == '\\') {
			c->pos++;
			if (check_escape(c) != 0)
				return -EINVAL;
			continue;
		}
		size_t k = utf8_sequence(c->t + c->pos, c->n - c->pos);
		if (k == 0)
			return -EINVAL;
		c->pos += k;
	}
	return -EINVAL;
}

static size_t digits(const struct checker *c, size_t pos)
{
	size_t start = pos;
	while (pos < c->n && c->t[pos] >= '0' && c->t[pos] <= '9')
		pos++;
	return pos - start;
}

/* Whether the integer digits p[0, count) (no leading zero) fit int64 with the sign given. */
static bool fits_int64(const uint8_t *p, size_t count, bool negative)
{
	if (count != 19)
		return count < 19;
	return memcmp(p, negative ? "9223372036854775808" : "9223372036854775807", 19) <= 0;
}

static int check_number(struct checker *c)
{
	bool negative = c->t[c->pos] == '-';
	if (negative)
		c->pos++;
	size_t int_start = c->pos;
	size_t count = digits(c, c->pos);
	if (count == 0 || (count > 1 && c->t[int_start] == '0'))
		return -EINVAL;
	c->pos += count;
	bool integer = true;
	if (c->pos < c->n && c->t[c->pos] == '.') {
		size_t fraction = digits(c, c->pos + 1);
		if (fraction == 0)
			return -EINVAL;
		c->pos += 1 + fraction;
		integer = false;
	}
	if (c->pos < c->n && (c->t[c->pos] == 'e' || c->t[c->pos] == 'E')) {
		c->pos++;
		if (c->pos < c->n && (c->t[c->pos] == '+' || c->t[c->pos] == '-'))
			c->pos++;
		size_t exponent = digits(c, c->pos);
		if (exponent == 0)
			return -EINVAL;
		c->pos += exponent;
		integer = false;
	}
	if (integer && (c->flags & BUS_JSON_INT64) && !fits_int64(c->t + int_start, count, negative))
		return -EINVAL;
	return 0;
}

static int check_literal(struct checker *c, const char *word)
{
	size_t k = strlen(word);
	if (c->n - c->pos < k || memcmp(c->t + c->pos, word, k) != 0)
		return -EINVAL;
	c->pos += k;
	return 0;
}

static int push(struct checker *c, bool object)
{
	if (c->depth >= c->depth_max)
		return -EINVAL;
	uint64_t bit = 1ull << (c->depth % 64);
	if (object)
		c->objects[c->depth / 64] |= bit;
	else
		c->objects[c->depth / 64] &= ~bit;
	c->depth++;
	c->pos++;
	return 0;
}

static bool top_is_object(const struct checker *c)
{
	assert(c->depth > 0);
	uint32_t d = c->depth - 1;
	return (c->objects[d / 64] >> (d % 64)) & 1u;
}

/* An object's key and its colon, at c->pos (after whitespace). */
static int check_key(struct checker *c)
{
	if (c->pos >= c->n || c->t[c->pos] != '"' || check_string(c) != 0)
		return -EINVAL;
	c->pos = bus_json_skip_space((const char *)c->t, c->n, c->pos);
	if (c->pos >= c->n || c->t[c->pos] != ':')
		return -EINVAL;
	c->pos = bus_json_skip_space((const char *)c->t, c->n, c->pos + 1);
	return 0;
}

/*
 * The start of a value at c->pos: a scalar is read whole (*opened false), a container is
 * pushed and, unless empty, left with c->pos at its first value (*opened true).
 */
static int check_value_start(struct checker *c, bool *opened)
{
	*opened = false;
	if (c->pos >= c->n)
		return -EINVAL;
	uint8_t b = c->t[c->pos];
	if (b == '{' || b == '[') {
		if (push(c, b == '{') != 0)
			return -EINVAL;
		c->pos = bus_json_skip_space((const char *)c->t, c->n, c->pos);
		if (c->pos < c->n && c->t[c->pos] == (b == '{' ? '}' : ']')) {
			c->pos++;
			c->depth--;
			return 0;
		}
		*opened = true;
		return b == '{' ? check_key(c) : 0;
	}
	if (b == '"')
		return check_string(c);
	if (b == '-' || (b >= '0' && b <= '9'))
		return check_number(c);
	return check_literal(c, b == 't' ? "true" : b == 'f' ? "false" : "null");
}

/* After a value inside a container: a comma and the next value, or the container's end. */
static int check_after_value(struct checker *c, bool *want_value)
{
	bool object = top_is_object(c);
	*want_value = false;
	if (c->pos >= c->n)
		return -EINVAL;
	if (c->t[c->pos] == ',') {
		c->pos = bus_json_skip_space((const char *)c->t, c->n, c->pos + 1);
		*want_value = true;
		return object ? check_key(c) : 0;
	}
	if (c->t[c->pos] != (object ? '}' : ']'))
		return -EINVAL;
	c->pos++;
	c->depth--;
	return 0;
}

int bus_json_check(const char *text, size_t length, uint32_t depth_max, unsigned flags)
{
	assert(depth_max <= BUS_JSON_DEPTH_MAX);
	assert(text != NULL || length == 0);
	struct checker c = {.t = (const uint8_t *)text, .n = length, .flags = flags,
	                    .depth_max = depth_max};
	c.pos = bus_json_skip_space(text, length, 0);
	if ((flags & BUS_JSON_OBJECT) && (c.pos >= length || text[c.pos] != '{'))
		return -EINVAL;
	bool want_value = true;
	/* Every pass moves past at least one byte, so length + 1 passes are enough. */
	for (size_t pass = 0; pass <= length; pass++) {
		if (want_value) {
			bool opened = false;
			if (check_value_start(&c, &opened) != 0)
				return -EINVAL;
			if (opened)
				continue;
		}
		c.pos = bus_json_skip_space(text, length, c.pos);
		if (c.depth == 0)
			return c.pos == length ? 0 : -EINVAL;
		if (check_after_value(&c, &want_value) != 0)
			return -EINVAL;
	}
	return -EINVAL;
}

/* ---- readers of checked JSON ---- */

static size_t string_end(const char *t, size_t n, size_t pos)
{
	assert(t[pos] == '"');
	for (pos++; pos < n; pos++) {
		if (t[pos] == '\\')
			pos++;
		else if (t[pos] == '"')
			return pos + 1;
	}
	return n;
}

size_t bus_json_value_end(const char *t, size_t n, size_t pos)
{
	pos = bus_json_skip_space(t, n, pos);
	assert(pos < n);
	if (t[pos] == '"')
		return string_end(t, n, pos);
	if (t[pos] != '{' && t[pos] != '[') {
		while (pos < n && strchr(",}] \t\r\n", t[pos]) == NULL)
			pos++;
		return pos;
	}
	size_t depth = 0;
	while (pos < n) {
		char b = t[pos];
		if (b == '"') {
			pos = string_end(t, n, pos);
			continue;
		}
		pos++;
		if (b == '{' || b == '[')
			depth++;
		else if ((b == '}' || b == ']') && --depth == 0)
			return pos;
	}
	return n;
}

int bus_json_next_member(const char *t, size_t n, size_t *pos, size_t *key_start,
                         size_t *key_end, size_t *value_start, size_t *value_end)
{
	size_t p = bus_json_skip_space(t, n, *pos);
	if (p < n && t[p] == ',')
		p = bus_json_skip_space(t, n, p + 1);
	if (p >= n || t[p] != '"') {
		assert(p >= n || t[p] == '}');
		*pos = p;
		return 0;
	}
	*key_start = p + 1;
	p = string_end(t, n, p);
	*key_end = p - 1;
	p = bus_json_skip_space(t, n, p);
	assert(p < n && t[p] == ':');
	*value_start = bus_json_skip_space(t, n, p + 1);
	*value_end = bus_json_value_end(t, n, *value_start);
	*pos = *value_end;
	return 1;
}

/* The value of member `name` of the object at pos: 0 with its span, or -ENOENT. */
static int find_member(const char *t, size_t n, size_t pos, const struct bus_path_segment *s,
                       size_t *start, size_t *end)
{
	if (pos >= n || t[pos] != '{')
		return -ENOENT;
	pos++;
	size_t ks = 0, ke = 0, vs = 0, ve = 0;
	while (bus_json_next_member(t, n, &pos, &ks, &ke, &vs, &ve) == 1) {
		if (ke - ks == s->name_bytes && memcmp(t + ks, s->name, s->name_bytes) == 0) {
			*start = vs;
			*end = ve;
			return 0;
		}
	}
	return -ENOENT;
}

static int find_element(const char *t, size_t n, size_t pos, int32_t index, size_t *start,
                        size_t *end)
{
	if (pos >= n || t[pos] != '[')
		return -ENOENT;
	pos = bus_json_skip_space(t, n, pos + 1);
	for (int32_t k = 0; pos < n && t[pos] != ']'; k++) {
		size_t value_end = bus_json_value_end(t, n, pos);
		if (k == index) {
			*start = pos;
			*end = value_end;
			return 0;
		}
		pos = bus_json_skip_space(t, n, value_end);
		if (pos < n && t[pos] == ',')
			pos = bus_json_skip_space(t, n, pos + 1);
	}
	return -ENOENT;
}

int bus_json_find(const char *t, size_t n, const struct bus_path *path, size_t *start,
                  size_t *end)
{
	assert(path->count <= BB_BUS_PATH_SEGMENTS_MAX);
	size_t s = bus_json_skip_space(t, n, 0);
	if (s >= n)
		return -ENOENT;
	size_t e = bus_json_value_end(t, n, s);
	for (uint32_t i = 0; i < path->count; i++) {
		const struct bus_path_segment *seg = &path->segments[i];
		int rc = seg->index < 0 ? find_member(t, n, s, seg, &s, &e)
		                        : find_element(t, n, s, seg->index, &s, &e);
		if (rc != 0)
			return rc;
	}
	*start = s;
	*end = e;
	return 0;
}

static bool name_byte(uint8_t b)
{
	return b > 0x20 && b != '.' && b != '[' && b != ']' && b != '"' && b != '\\' && b != 0x7f;
}

/* An index [digits] at text[*pos] ('[' there): its value, -1 when malformed. */
static int32_t parse_index(const char *text, size_t length, size_t *pos)
{
	size_t p = *pos + 1;
	int64_t v = 0;
	size_t start = p;
	while (p < length && text[p] >= '0' && text[p] <= '9' && v <= INT32_MAX)
		v = v * 10 + (text[p++] - '0');
	bool ok = p > start && p < length && text[p] == ']' && v <= INT32_MAX &&
	          !(p - start > 1 && text[start] == '0');
	*pos = p + 1;
	return ok ? (int32_t)v : -1;
}

int bus_path_parse(const char *text, size_t length, struct bus_path *out)
{
	out->count = 0;
	if (length == 0 || length > BB_BUS_INPUT_PATH_BYTES_MAX || text[0] != '$')
		return -EINVAL;
	size_t pos = 1;
	while (pos < length) {
		if (out->count == BB_BUS_PATH_SEGMENTS_MAX)
			return -EINVAL;
		struct bus_path_segment *s = &out->segments[out->count++];
		if (text[pos] == '[') {
			*s = (struct bus_path_segment){.index = parse_index(text, length, &pos)};
			if (s->index < 0)
				return -EINVAL;
			continue;
		}
		if (text[pos] != '.')
			return -EINVAL;
		size_t start = ++pos;
		while (pos < length && name_byte((uint8_t)text[pos]))
			pos++;
		if (pos == start)
			return -EINVAL;
		*s = (struct bus_path_segment){
		    .name = text + start, .name_bytes = (uint32_t)(pos - start), .index = -1};
	}
	assert(pos == length);
	return 0;
}

/* ---- output ---- */

int bus_out_raw(char *out, size_t capacity, size_t *used, const char *bytes, size_t length)
{
	assert(*used <= capacity);
	if (capacity - *used < length)
		return -ENOBUFS;
	if (length > 0)
		memcpy(out + *used, bytes, length);
	*used += length;
	return 0;
}

int bus_out_escaped(char *out, size_t capacity, size_t *used, const char *bytes, size_t length)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < length; i++) {
		uint8_t b = (uint8_t)bytes[i];
		char esc[6] = {'\\', (char)b, 0, 0, 0, 0};
		size_t k = 2;
		if (b == '\n' || b == '\r' || b == '\t') {
			esc[1] = b == '\n' ? 'n' : b == '\r' ? 'r' : 't';
		} else if (b < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[b >> 4];
			esc[5] = hex[b & 15];
			k = 6;
		} else if (b != '"' && b != '\\') {
			esc[0] = (char)b;
			k = 1;
		}
		if (bus_out_raw(out, capacity, used, esc, k) != 0)
			return -ENOBUFS;
	}
	return 0;
}

static size_t utf8_encode(uint32_t cp, char *out)
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

/* The escape at bytes[*i] (its backslash) decoded into buf: returns its bytes. */
static size_t unescape_one(const char *bytes, size_t length, size_t *i, char *buf)
{
	char e = bytes[*i + 1];
	*i += 2;
	if (e != 'u') {
		static const char from[] = "bfnrt";
		static const char to[] = "\b\f\n\r\t";
		const char *f = strchr(from, e);
		buf[0] = f != NULL && e != 0 ? to[f - from] : e;
		return 1;
	}
	uint32_t cp = 0;
	(void)hex4((const uint8_t *)bytes + *i, &cp);
	*i += 4;
	if (cp >= 0xd800 && cp <= 0xdbff && *i + 6 <= length) {
		uint32_t low = 0;
		(void)hex4((const uint8_t *)bytes + *i + 2, &low);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
		*i += 6;
	}
	return utf8_encode(cp, buf);
}

int bus_out_unescaped(char *out, size_t capacity, size_t *used, const char *bytes, size_t length)
{
	size_t i = 0;
	while (i < length) {
		const char *slash = memchr(bytes + i, '\\', length - i);
		size_t plain = slash == NULL ? length - i : (size_t)(slash - (bytes + i));
		if (bus_out_raw(out, capacity, used, bytes + i, plain) != 0)
			return -ENOBUFS;
		i += plain;
		if (i >= length)
			break;
		assert(i + 1 < length);
		char buf[4];
		size_t k = unescape_one(bytes, length, &i, buf);
		if (bus_out_raw(out, capacity, used, buf, k) != 0)
			return -ENOBUFS;
	}
	return 0;
}
