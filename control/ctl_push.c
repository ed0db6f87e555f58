/*
 * The push thread (see ctl_push.h). Each round is one exchange with busbard:
 * a snapshot when busbard lacks the store's version (or --adopt is pending),
 * else a counters request that says which version busbard runs (a busbard
 * restarted without its state directory gets the snapshot again). Then it
 * waits for a change or the next round.
 *
 * Locks: `store_lock` is the caller's and guards the SQLite store; the thread
 * holds it only while it reads a snapshot body or renumbers, never across a
 * call to busbard. `lock` guards status, changed and stop.
 */
#include "ctl_push.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bb_snapshot.h"
#include "busbar.h"

#define STATS_MAX 128u /* counters of one GetStats answer looked through */

uint64_t ctl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Records how an exchange ended; a reason is logged once, not at every retry. */
static void set_status(struct ctl_push *p, enum ctl_link link, uint64_t applied_version,
                       bool answered, const char *reason)
{
	pthread_mutex_lock(&p->lock);
	p->status.link = link;
	if (applied_version != 0)
		p->status.applied_version = applied_version;
	if (answered)
		p->status.answer_ms = ctl_now_ms();
	snprintf(p->status.reason, sizeof(p->status.reason), "%s", reason);
	struct ctl_push_status now = p->status;
	pthread_mutex_unlock(&p->lock);
	if (p->options.on_status != NULL)
		p->options.on_status(p->options.context, &now);
	if (reason[0] != '\0' && strcmp(reason, p->logged) != 0)
		fprintf(stderr, "busbar-control: %s\n", reason);
	snprintf(p->logged, sizeof(p->logged), "%s", reason);
}

static void unreachable(struct ctl_push *p, int rc, const char *what)
{
	char reason[CTL_PUSH_REASON_BYTES];
	snprintf(reason, sizeof(reason), "busbard at %s not reachable (%s: %s); will retry",
	         p->options.busbard_socket, what, strerror(-rc));
	set_status(p, CTL_LINK_UNREACHABLE, 0, false, reason);
}

/* What busbard said no to, and what the operator can do about it. */
static uint32_t refused(struct ctl_push *p, uint64_t version, const char *message,
                        const struct bb_snapshot_refusal *refusal)
{
	char reason[CTL_PUSH_REASON_BYTES];
	const char *hint = "";
	if (refusal != NULL && refusal->verdict == BB_SNAPSHOT_REFUSE_OTHER_STORE)
		hint = "; if this database is the one to keep, restart busbar-control with --adopt "
		       "(busbard then takes its configuration and drops the queues it lacks)";
	else if (refusal != NULL)
		hint = "; to go on from this database, restart busbar-control with --adopt (it "
		       "numbers after busbard's version)";
	snprintf(reason, sizeof(reason), "busbard refuses snapshot %llu: %s%s",
	         (unsigned long long)version, message, hint);
	set_status(p, CTL_LINK_REFUSED, refusal != NULL ? refusal->version : 0, true, reason);
	return CTL_REFUSED_RETRY_MS;
}

/* A refusal of an older version while adopting: number after busbard's and go again. */
static bool renumber(struct ctl_push *p, const struct bb_snapshot_refusal *refusal)
{
	if (!p->adopt_pending || refusal->verdict != BB_SNAPSHOT_REFUSE_OLDER)
		return false;
	pthread_mutex_lock(p->store_lock);
	int rc = ctl_store_advance_version(p->store, refusal->version + 1);
	pthread_mutex_unlock(p->store_lock);
	if (rc == 0)
		printf("busbar-control: --adopt: numbering after busbard's version %llu\n",
		       (unsigned long long)refusal->version);
	return rc == 0;
}

static void applied(struct ctl_push *p, uint64_t version)
{
	printf("busbar-control: busbard applied snapshot %llu%s\n", (unsigned long long)version,
	       p->adopt_pending ? " (adopted: busbard runs this store now)" : "");
	fflush(stdout);
	p->pushed_version = version;
	p->adopt_pending = false;
	set_status(p, CTL_LINK_OK, version, true, "");
}

/* Offers the store's snapshot; returns how long to wait before the next round. */
static uint32_t push(struct ctl_push *p)
{
	uint8_t *body;
	size_t body_bytes;
	uint64_t version;
	pthread_mutex_lock(p->store_lock);
	int rc = ctl_store_snapshot(p->store, p->adopt_pending, &body, &body_bytes, &version);
	pthread_mutex_unlock(p->store_lock);
	if (rc != 0) {
		char reason[256];
		snprintf(reason, sizeof(reason), "no snapshot for busbard: %s",
		         rc == -E2BIG ? "the store holds more queues than a snapshot names"
		                      : strerror(-rc));
		set_status(p, CTL_LINK_NO_SNAPSHOT, 0, false, reason);
		return CTL_PUSH_INTERVAL_MS;
	}
	struct bb_client_options o = {.unix_socket = p->options.busbard_socket,
	                              .timeout_ms = CTL_PUSH_TIMEOUT_MS};
	struct bb_client *client = bb_client_open(&o, &rc);
	uint32_t wait_ms = CTL_PUSH_INTERVAL_MS;
	if (client == NULL) {
		unreachable(p, rc, "connect");
	} else {
		struct wire_header h = {.opcode = WIRE_OP_APPLY_SNAPSHOT};
		const uint8_t *reply;
		uint32_t reply_bytes;
		struct bb_snapshot_refusal refusal;
		rc = bb_call(client, &h, body, body_bytes, &reply, &reply_bytes);
		bool is_refusal = rc > 0 && bb_snapshot_read_refusal(reply, reply_bytes, &refusal);
		if (rc == 0)
			applied(p, version);
		else if (rc < 0)
			unreachable(p, rc, "snapshot");
		else if (is_refusal && renumber(p, &refusal))
			wait_ms = 0;
		else
			wait_ms = refused(p, version, bb_client_error(client),
			                  is_refusal ? &refusal : NULL);
		bb_client_close(client); /* which zeroes its copy of the body */
	}
	explicit_bzero(body, body_bytes); /* the keys' secrets */
	free(body);
	return wait_ms;
}

/* Asks busbard which version it runs: 1 ours, 0 another, -1 no answer. */
static int probe(struct ctl_push *p)
{
	struct bb_client_options o = {.unix_socket = p->options.busbard_socket,
	                              .timeout_ms = CTL_PUSH_TIMEOUT_MS};
	int rc;
	struct bb_client *client = bb_client_open(&o, &rc);
	if (client == NULL) {
		unreachable(p, rc, "connect");
		return -1;
	}
	struct bb_stat stats[STATS_MAX];
	uint32_t count = 0;
	uint64_t version = 0;
	rc = bb_get_stats(client, stats, STATS_MAX, &count);
	bb_client_close(client);
	if (rc != 0) {
		unreachable(p, rc < 0 ? rc : -EPROTO, "counters");
		return -1;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (strcmp(stats[i].name, "snapshot_version") == 0)
			version = stats[i].value;
	}
	if (version != p->pushed_version)
		return 0;
	set_status(p, CTL_LINK_OK, version, true, "");
	return 1;
}

/* One round; returns how long to wait before the next. */
static uint32_t exchange(struct ctl_push *p)
{
	pthread_mutex_lock(p->store_lock);
	uint64_t version = ctl_store_version(p->store);
	pthread_mutex_unlock(p->store_lock);
	if (version == p->pushed_version && !p->adopt_pending && probe(p) != 0)
		return CTL_PUSH_INTERVAL_MS;
	return push(p);
}

static void *run(void *arg)
{
	struct ctl_push *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		p->changed = false;
		pthread_mutex_unlock(&p->lock);
		uint32_t wait_ms = exchange(p);
		pthread_mutex_lock(&p->lock);
		if (p->stop || p->changed || wait_ms == 0)
			continue;
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += wait_ms / 1000;
		deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		/* One wait: a spurious wake-up costs one extra round, nothing more. */
		pthread_cond_timedwait(&p->wake, &p->lock, &deadline);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int ctl_push_start(struct ctl_push *p, const struct ctl_push_options *options,
                   struct ctl_store *store, pthread_mutex_t *store_lock)
{
	assert(options->busbard_socket != NULL && store != NULL);
	*p = (struct ctl_push){.options = *options,
	                       .store = store,
	                       .store_lock = store_lock,
	                       .adopt_pending = options->adopt};
	pthread_condattr_t attr;
	int rc = pthread_mutex_init(&p->lock, NULL);
	if (rc == 0)
		rc = pthread_condattr_init(&attr);
	if (rc == 0)
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&p->wake, &attr);
	if (rc == 0)
		rc = pthread_create(&p->thread, NULL, run, p);
	return -rc;
}

void ctl_push_changed(struct ctl_push *p)
{
	pthread_mutex_lock(&p->lock);
	p->changed = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

void ctl_push_get_status(struct ctl_push *p, struct ctl_push_status *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->status;
	pthread_mutex_unlock(&p->lock);
}

int ctl_push_stop(struct ctl_push *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2 * CTL_PUSH_TIMEOUT_MS / 1000;
	return -pthread_timedjoin_np(p->thread, NULL, &deadline);
}

unsigned ctl_push_health(const struct ctl_push_status *s, uint64_t now_ms, uint64_t stale_ms,
                         const char **state, char *reason, size_t reason_bytes)
{
	static const char *const states[] = {
	    [CTL_LINK_UNKNOWN] = "unknown",         [CTL_LINK_OK] = "ok",
	    [CTL_LINK_UNREACHABLE] = "unreachable", [CTL_LINK_REFUSED] = "refused",
	    [CTL_LINK_NO_SNAPSHOT] = "no_snapshot",
	};
	assert(s->link <= CTL_LINK_NO_SNAPSHOT);
	*state = states[s->link];
	snprintf(reason, reason_bytes, "%s", s->reason);
	if (s->link == CTL_LINK_UNKNOWN)
		snprintf(reason, reason_bytes, "busbard has not answered yet");
	if (s->link != CTL_LINK_OK)
		return 503;
	if (now_ms - s->answer_ms > stale_ms) {
		*state = "unresponsive";
		snprintf(reason, reason_bytes, "busbard has not answered for %llu ms",
		         (unsigned long long)(now_ms - s->answer_ms));
		return 503;
	}
	return 200;
}
