/*
 * The streaming event scanner (see flt_int.h). Iterative, one pass, no tree:
 * an explicit stack of open containers replaces recursion, so depth is a
 * checked limit rather than the C stack. Everything is validated, including
 * what is skipped: strings (escapes, surrogate pairs, UTF-8), numbers (the
 * JSON grammar), literals, structure, and nothing after the top-level object.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flt_int.h"

#define STACK_MAX       1200u /* above any depth_max allowed */
#define NUMBER_TEXT_MAX 64u

enum { KIND_OBJECT, KIND_ARRAY };
enum { MODE_SKIP, MODE_DESCEND, MODE_LEAF };

struct frame {
	uint8_t kind;
	uint8_t mode;       /* for an array: its elements' mode */
	uint32_t index;     /* MODE_LEAF: the path's index */
	size_t path_bytes;  /* the container's own path */
	uint64_t path_hash; /* and its hash */
};

struct scanner {
	const char *p;
	const char *end;
	struct scan_path {
		size_t length;
		uint64_t hash;
	} path;
	const struct flt_scan_hooks *hooks;
	struct flt_scan_buffers *buffers;
	struct frame stack[STACK_MAX];
	uint32_t depth;
	uint32_t depth_max;
};

static void skip_ws(struct scanner *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
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
		while (s->p < s->end && (unsigned char)*s->p >= 0x20 &&
		       (unsigned char)*s->p < 0x80 && *s->p != '"' && *s->p != '\\')
			s->p++;
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

static bool digits(struct scanner *s)
{
	const char *start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

/* A number, validated; converted only when value is not NULL (strtod is the costly part). */
static int number(struct scanner *s, double *value)
{
	const char *start = s->p;
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!digits(s))
		return -EINVAL;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!digits(s))
			return -EINVAL;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!digits(s))
			return -EINVAL;
	}
	size_t n = (size_t)(s->p - start);
	if (n >= NUMBER_TEXT_MAX)
		return -EINVAL;
	if (value == NULL)
		return 0;
	char text[NUMBER_TEXT_MAX];
	memcpy(text, start, n);
	text[n] = '\0';
	*value = strtod(text, NULL);
	return 0;
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
		s->p++;
		char *out = mode == MODE_LEAF ? s->buffers->strings : NULL;
		rc = string(s, out, FLT_STRING_BYTES_MAX, &leaf.length);
		leaf.type = FLT_STRING;
		leaf.text = out;
	} else if (c == 't' || c == 'f' || c == 'n') {
		leaf.type = c == 't' ? FLT_TRUE : c == 'f' ? FLT_FALSE : FLT_NULL;
		rc = c == 't'   ? literal(s, "true", 4)
		     : c == 'f' ? literal(s, "false", 5)
		                : literal(s, "null", 4);
	} else {
		leaf.type = FLT_NUMBER;
		rc = number(s, mode == MODE_LEAF ? &leaf.number : NULL);
	}
	if (rc == 0 && mode == MODE_LEAF)
		s->hooks->on_leaf(s->hooks->ctx, index, &leaf);
	return rc;
}

static int push(struct scanner *s, uint8_t kind, uint8_t mode, uint32_t index)
{
	if (s->depth >= s->depth_max)
		return -EINVAL;
	s->stack[s->depth++] = (struct frame){.kind = kind,
	                                      .mode = mode,
	                                      .index = index,
	                                      .path_bytes = s->path.length,
	                                      .path_hash = s->path.hash};
	return 0;
}

/* A value of the given mode at the current path: a scalar, or a container to enter. */
static int value(struct scanner *s, uint8_t mode, uint32_t index, bool *opened)
{
	skip_ws(s);
	*opened = false;
	if (s->p >= s->end)
		return -EINVAL;
	if (*s->p == '{' || *s->p == '[') {
		uint8_t kind = *s->p == '{' ? KIND_OBJECT : KIND_ARRAY;
		s->p++;
		*opened = true;
		/* Inside an object only its members' paths count; a leaf path names leaves. */
		uint8_t inner = kind == KIND_OBJECT && mode == MODE_LEAF ? MODE_DESCEND : mode;
		return push(s, kind, inner, index);
	}
	return scalar(s, mode, index);
}

/* A member's key: appended to the path, then asks what is wanted under it. */
static int member_key(struct scanner *s, const struct frame *object, uint8_t *mode, uint32_t *index)
{
	skip_ws(s);
	if (s->p >= s->end || *s->p != '"')
		return -EINVAL;
	s->p++;
	size_t at = object->path_bytes;
	char *path = s->buffers->path;
	if (at > 0)
		path[at++] = '.';
	if (at >= FLT_PATH_BYTES_MAX)
		return -EINVAL;
	size_t key_bytes;
	bool wanted = object->mode != MODE_SKIP;
	/* A skipped subtree's keys are validated but not kept. */
	int rc = string(s, wanted ? path + at : NULL, FLT_PATH_BYTES_MAX - at, &key_bytes);
	if (rc != 0)
		return rc;
	s->path.length = wanted ? at + key_bytes : object->path_bytes;
	s->path.hash = object->path_hash;
	if (wanted && object->path_bytes > 0)
		s->path.hash = flt_hash_step(s->path.hash, ".", 1);
	if (wanted)
		s->path.hash = flt_hash_step(s->path.hash, path + at, key_bytes);
	*mode = MODE_SKIP;
	if (wanted) {
		int want = s->hooks->want(s->hooks->ctx, path, s->path.length, s->path.hash, index);
		*mode = want == 2 ? MODE_LEAF : want == 1 ? MODE_DESCEND : MODE_SKIP;
	}
	skip_ws(s);
	if (s->p >= s->end || *s->p != ':')
		return -EINVAL;
	s->p++;
	return 0;
}

/* A wanted member of the top-level object is complete; true when the caller may stop. */
static bool top_member_done(struct scanner *s)
{
	return s->hooks->member_done != NULL && s->hooks->member_done(s->hooks->ctx);
}

/*
 * After a value inside the top container: a separator and the next member or
 * element, or the container's end. Returns 1 when a container was opened or
 * closed (the caller loops), 0 when the document is complete.
 */
static int next_in_container(struct scanner *s, bool first)
{
	struct frame *f = &s->stack[s->depth - 1];
	char close = f->kind == KIND_OBJECT ? '}' : ']';
	skip_ws(s);
	if (s->p >= s->end)
		return -EINVAL;
	if (*s->p == close && first) {
		s->p++;
	} else if (*s->p == close) {
		s->p++;
	} else {
		if (!first) {
			if (*s->p != ',')
				return -EINVAL;
			s->p++;
		}
		uint8_t mode = f->mode;
		uint32_t index = f->index;
		s->path.length = f->path_bytes;
		s->path.hash = f->path_hash;
		if (f->kind == KIND_OBJECT) {
			int rc = member_key(s, f, &mode, &index);
			if (rc != 0)
				return rc;
		}
		bool opened;
		int rc = value(s, mode, index, &opened);
		if (rc != 0)
			return rc;
		if (!opened && s->depth == 1 && mode != MODE_SKIP && top_member_done(s))
			return 3;
		return opened ? 2 : 1;
	}
	/* The container closed: back to its parent. */
	uint8_t closed_mode = f->mode;
	s->depth--;
	if (s->depth == 0)
		return 0;
	s->path.length = s->stack[s->depth - 1].path_bytes;
	s->path.hash = s->stack[s->depth - 1].path_hash;
	if (s->depth == 1 && closed_mode != MODE_SKIP && top_member_done(s))
		return 3;
	return 1;
}

int flt_scan(const char *json, size_t length, uint32_t depth_max,
             const struct flt_scan_hooks *hooks, struct flt_scan_buffers *buffers)
{
	static _Thread_local struct scanner s; /* the stack is large; one per thread */
	/* Field by field: clearing the whole stack per event would cost more than the scan. */
	s.p = json;
	s.end = json + length;
	s.path.length = 0;
	s.path.hash = FLT_HASH_BASIS;
	s.hooks = hooks;
	s.buffers = buffers;
	s.depth = 0;
	s.depth_max = depth_max < STACK_MAX ? depth_max : STACK_MAX;
	skip_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return -EINVAL; /* an event is a JSON object */
	s.p++;
	int rc = push(&s, KIND_OBJECT, MODE_DESCEND, 0);
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
