/*
 * Damage to a small segment of 60 acknowledged records, written in 6
 * commits: every bit flipped in turn, truncation at every offset of the last
 * records, a valid record copied to the wrong place, a region rolled back.
 * Damage to a record that later records vouch for (records 1-50: commit 6's
 * records carry durable watermark 50) must stop recovery with the file and
 * offset; anywhere else, recovery keeps every vouched record intact.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_endian.h"
#include "log_helpers.h"
#include "seg_int.h"
#include "seg_io_sim.h"

#define PAYLOAD_MAX 120u
#define SEGMENT     "/sim/0000000001.seg"
#define VOUCHED     50u
#define RECORDS     60u

static struct seg_io *io;
static struct recorded *rec;
static uint64_t starts[RECORDS + 1], ends[RECORDS + 1]; /* by sequence */
static uint8_t *pristine;
static uint64_t segment_bytes;

static struct seg_log *open_log(int *rc, char *why)
{
	struct seg_options o = {
	    .dir = "/sim",
	    .segment_bytes = 64 << 10,
	    .batch_bytes_max = 16384,
	    .io = io,
	    .on_record = record_cb,
	    .ctx = rec,
	};
	rec->count = 0;
	rec->bad = 0;
	return seg_open(&o, rc, why, 512);
}

static void setup(void)
{
	struct seg_io_sim_faults none = {.seed = 9};
	io = seg_io_sim_create(&none);
	rec = calloc(1, sizeof(*rec));
	rec->max_payload = PAYLOAD_MAX;
	int rc;
	char why[512];
	struct seg_log *log = open_log(&rc, why);
	uint8_t payload[PAYLOAD_MAX];
	for (uint64_t n = 1; n <= RECORDS; n++) {
		uint64_t s, p;
		uint32_t length = payload_for(n, payload, PAYLOAD_MAX);
		cr_assert_eq(seg_append(log, 1, payload, length, &s, &p), 0);
		starts[n] = p % (64 << 10);
		ends[n] = starts[n] + SEG_RECORD_HEADER_BYTES + length;
		if (n % 10 == 0) { /* a commit, completed before the next begins */
			cr_assert_eq(seg_commit(log), 0);
			while (seg_commits_in_flight(log) > 0)
				cr_assert_eq(seg_poll(log, true), 0);
		}
	}
	seg_close(log);
	uint8_t *bytes = seg_io_sim_file_bytes(io, SEGMENT, &segment_bytes);
	pristine = malloc(segment_bytes);
	memcpy(pristine, bytes, segment_bytes);
}

static void teardown(void)
{
	io->ops->destroy(io);
	free(rec);
	free(pristine);
}

TestSuite(corruption, .init = setup, .fini = teardown, .timeout = 240);

static uint8_t *segment(void)
{
	uint64_t size;
	return seg_io_sim_file_bytes(io, SEGMENT, &size);
}

static void restore(void)
{
	memcpy(segment(), pristine, segment_bytes);
}

/* Whether offset lies in vouched data: records 1-50 and the commits' padding between them. */
static bool vouched_at(uint64_t offset)
{
	return offset < ends[VOUCHED];
}

static void assert_vouched_records_intact(uint64_t offset)
{
	cr_assert_geq(rec->count, VOUCHED, "damage at %llu cut acknowledged records (%u left)",
	              (unsigned long long)offset, rec->count);
	cr_assert_eq(rec->bad, 0);
	for (uint32_t i = 0; i < rec->count; i++)
		cr_assert_eq(rec->sequences[i], i + 1);
}

Test(corruption, every_bit_flip_is_refused_or_harmless)
{
	uint64_t used = ends[RECORDS] + 2 * 4096; /* the last commit and its padding */
	uint64_t refused = 0;
	for (uint64_t offset = 0; offset < used; offset++) {
		for (int bit = 0; bit < 8; bit++) {
			restore();
			segment()[offset] ^= (uint8_t)(1u << bit);
			int rc;
			char why[512];
			struct seg_log *log = open_log(&rc, why);
			if (vouched_at(offset)) {
				cr_assert_eq(rc, -EUCLEAN, "flip at %llu bit %d accepted",
				             (unsigned long long)offset, bit);
				cr_assert_neq(strstr(why, SEGMENT), NULL, "%s", why);
				refused++;
				continue;
			}
			cr_assert_not_null(log, "flip at %llu bit %d refused: %s",
			                   (unsigned long long)offset, bit, why);
			assert_vouched_records_intact(offset);
			seg_close(log);
		}
	}
	cr_assert_gt(refused, 0);
}

Test(corruption, truncation_at_every_offset_of_the_last_records_keeps_whole_records)
{
	for (uint64_t cut = starts[VOUCHED - 5]; cut <= ends[RECORDS]; cut++) {
		restore();
		memset(segment() + cut, 0, segment_bytes - cut);
		int rc;
		char why[512];
		struct seg_log *log = open_log(&rc, why);
		cr_assert_not_null(log, "cut at %llu: %s", (unsigned long long)cut, why);
		/* Whole: the leading records the cut left unchanged (a payload may end in zeros).
		 */
		uint32_t whole = 0;
		for (uint64_t n = 1; n <= RECORDS; n++) {
			uint64_t length = ends[n] - starts[n];
			if (memcmp(segment() + starts[n], pristine + starts[n], length) != 0)
				break;
			whole++;
		}
		cr_assert_eq(rec->count, whole, "cut at %llu: %u recovered, %u whole",
		             (unsigned long long)cut, rec->count, whole);
		cr_assert_eq(rec->bad, 0);
		/* The log goes on after the cut: appends land after the last whole record. */
		cr_assert_eq(seg_next_sequence(log), whole + 1);
		seg_close(log);
	}
}

Test(corruption, a_record_copied_to_the_wrong_place_is_refused)
{
	restore();
	memcpy(segment() + starts[30], pristine + starts[3], ends[3] - starts[3]);
	int rc;
	char why[512];
	struct seg_log *log = open_log(&rc, why);
	cr_assert_null(log);
	cr_assert_eq(rc, -EUCLEAN);
	char offset_text[64];
	snprintf(offset_text, sizeof(offset_text), "offset %llu", (unsigned long long)starts[30]);
	cr_assert_neq(strstr(why, offset_text), NULL, "names the place: %s", why);
}

Test(corruption, a_region_rolled_back_is_refused)
{
	restore();
	memset(segment() + starts[25], 0, ends[35] - starts[25]); /* as before it was written */
	int rc;
	char why[512];
	struct seg_log *log = open_log(&rc, why);
	cr_assert_null(log);
	cr_assert_eq(rc, -EUCLEAN, "%s", why);
	restore();
	int rc2;
	log = open_log(&rc2, why);
	cr_assert_not_null(log, "refusing changed nothing: %s", why);
	cr_assert_eq(rec->count, RECORDS);
	seg_close(log);
}

/* A log written by the first frame format (48-byte headers, "SEGR" at offset 0) has no
 * frame this version can read; taken for a torn tail it would be zeroed. */
Test(corruption, a_log_in_the_first_frame_format_is_refused_untouched)
{
	restore();
	uint8_t *bytes = segment();
	memset(bytes, 0, segment_bytes);
	for (uint64_t n = 1, at = 0; n <= 10; n++, at += 48 + 16) {
		bb_put_le32(bytes + at, SEG_RECORD_MAGIC_V1);
		bb_put_le32(bytes + at + 8, 16);
		bb_put_le16(bytes + at + 12, 1);
		bb_put_le64(bytes + at + 16, n);
		bb_put_le32(bytes + at + 32, 1);
	}
	uint8_t *before = malloc(segment_bytes);
	memcpy(before, bytes, segment_bytes);
	int rc;
	char why[512];
	struct seg_log *log = open_log(&rc, why);
	cr_assert_null(log);
	cr_assert_eq(rc, -EUCLEAN, "%s", why);
	cr_assert_neq(strstr(why, "first frame format"), NULL, "says why: %s", why);
	cr_assert_arr_eq(segment(), before, segment_bytes, "nothing cut or zeroed");
	free(before);
}

/* Recovery scans only what may hold data (next_data), so a valid frame alone in the
 * segment's zero tail, blocks away from the records and after another island of
 * bytes, must still be found: here it is the only witness that records 41-50, now
 * gone, had been acknowledged. */
Test(corruption, a_witness_alone_in_the_zero_tail_is_found)
{
	restore();
	uint8_t *bytes = segment();
	uint64_t witness =
	    (ends[RECORDS] + 5 * 4096) / 4096 * 4096 + 100; /* blocks of zeros away */
	cr_assert_lt(witness + (ends[RECORDS] - starts[RECORDS]), segment_bytes);
	memcpy(bytes + witness, pristine + starts[RECORDS], ends[RECORDS] - starts[RECORDS]);
	memset(bytes + starts[41], 0, ends[RECORDS] + 4096 - starts[41]);
	bytes[witness - 2 * 4096] = 0x5a; /* a stray byte between: the witness is a later island */
	int rc;
	char why[512];
	struct seg_log *log = open_log(&rc, why);
	cr_assert_null(log, "the lost acknowledged records were cut silently");
	cr_assert_eq(rc, -EUCLEAN, "%s", why);
	cr_assert_neq(strstr(why, "record 41 "), NULL, "%s", why);
}
