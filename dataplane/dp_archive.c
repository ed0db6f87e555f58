/*
 * The records a worker keeps for its buses' archives (see dp_archive.h).
 */
#include "dp_archive.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "dp_worker_int.h"

int dp_archive_init(struct dp_archive *a)
{
	*a = (struct dp_archive){.kept = calloc(DP_ARCHIVE_KEPT_MAX, sizeof(*a->kept))};
	return a->kept != NULL ? 0 : -ENOMEM;
}

void dp_archive_free(struct dp_archive *a)
{
	free(a->kept);
	*a = (struct dp_archive){0};
}

/* The bus of the snapshot with this id, or NULL. */
static const struct dp_bus *bus_of(const struct dp_snapshot *s, uint64_t bus_id)
{
	for (uint32_t i = 0; s != NULL && s->routing != NULL && i < s->routing->bus_count; i++) {
		if (s->routing->buses[i].bus_id == bus_id)
			return &s->routing->buses[i];
	}
	return NULL;
}

bool dp_archive_has(const struct dp_snapshot *s, uint64_t bus_id)
{
	const struct dp_bus *bus = bus_of(s, bus_id);
	return bus != NULL && (bus->flags & BB_SNAPSHOT_BUS_ARCHIVED) != 0;
}

bool dp_archive_keeps(const struct dp_snapshot *s, uint64_t bus_id, uint64_t kept_ms,
                      uint64_t now_ms)
{
	const struct dp_bus *bus = bus_of(s, bus_id);
	if (bus == NULL || (bus->flags & BB_SNAPSHOT_BUS_ARCHIVED) == 0)
		return false;
	return bus->archive_days == 0 || now_ms < kept_ms + bus->archive_days * DP_ARCHIVE_DAY_MS;
}

static void release_head(struct dp_worker *w)
{
	struct dp_archive *a = &w->fanout.archive;
	RTE_VERIFY(a->count > 0);
	dp_log_release(&w->log, a->kept[a->head].position);
	a->head = (a->head + 1) % DP_ARCHIVE_KEPT_MAX;
	a->count--;
}

void dp_archive_keep(struct dp_worker *w, uint64_t bus_id, uint64_t position, uint64_t kept_ms)
{
	struct dp_archive *a = &w->fanout.archive;
	RTE_VERIFY(position != UINT64_MAX && a->kept != NULL); /* at recovery log.seg is not set yet */
	if (a->count == DP_ARCHIVE_KEPT_MAX) {
		release_head(w);
		w->stats.archive_evicted++;
	}
	a->kept[(a->head + a->count) % DP_ARCHIVE_KEPT_MAX] =
	    (struct dp_archived){.position = position, .bus_id = bus_id, .kept_ms = kept_ms};
	a->count++;
	w->stats.archive_kept++;
}

/* What was kept since the last pass is the newest: its retention begins now. */
static void stamp(struct dp_archive *a, uint64_t now_ms)
{
	for (uint32_t i = a->count; i-- > 0;) {
		struct dp_archived *k = &a->kept[(a->head + i) % DP_ARCHIVE_KEPT_MAX];
		if (k->kept_ms != DP_ARCHIVE_KEPT_NOW)
			return;
		k->kept_ms = now_ms;
	}
}

/* Whether the record at position keeps the oldest segment of a log longer than an archive may
 * make it (DP_ARCHIVE_LOG_SEGMENTS_MAX). */
static bool pins_too_much(const struct dp_worker *w, uint64_t position)
{
	struct seg_pin pin;
	if (w->log.seg == NULL || seg_segment_count(w->log.seg) <= DP_ARCHIVE_LOG_SEGMENTS_MAX ||
	    !seg_oldest_pin(w->log.seg, &pin))
		return false;
	assert(position >= pin.first_position); /* kept records keep their segment */
	return position < pin.end_position;
}

void dp_archive_pass(struct dp_worker *w, const struct dp_snapshot *s, uint64_t now_ms)
{
	struct dp_archive *a = &w->fanout.archive;
	stamp(a, now_ms);
	if (s == NULL)
		return; /* no configuration yet: nothing says an archive is gone */
	for (uint32_t i = 0; i < DP_ARCHIVE_RELEASES_PER_PASS && a->count > 0; i++) {
		const struct dp_archived *head = &a->kept[a->head];
		bool early = pins_too_much(w, head->position);
		if (!early && dp_archive_keeps(s, head->bus_id, head->kept_ms, now_ms))
			return;
		release_head(w);
		if (early)
			w->stats.archive_evicted++;
		else
			w->stats.archive_released++;
	}
}
