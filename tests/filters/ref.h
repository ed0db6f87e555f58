/*
 * The reference interpreter: a slow, obvious evaluation of one pattern
 * against one event, both parsed whole with jansson, sharing no code with
 * filters/ beyond the address parser of libc. The compiled matcher must agree
 * with it on every test and under the differential fuzzer.
 */
#ifndef BB_TEST_FLT_REF_H
#define BB_TEST_FLT_REF_H

#include <stdbool.h>
#include <stddef.h>

/* 1 match, 0 no match, -1 the pattern or event is not something it evaluates. */
int ref_match(const char *pattern, size_t pattern_bytes, const char *event, size_t event_bytes);

#endif
