/*
 * busbar-control's link to busbard: a thread of its own pushes each new
 * configuration version as a snapshot over busbard's Unix socket and, while
 * busbard has the current one, asks for its counters, so /health can say
 * whether busbard is there, current, or refusing this store. HTTP handlers
 * never talk to busbard: a hung busbard stalls this thread only.
 */
#ifndef BB_CTL_PUSH_H
#define BB_CTL_PUSH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_store.h"

#define CTL_PUSH_INTERVAL_MS  1000u  /* between probes, and retries to reach busbard */
#define CTL_REFUSED_RETRY_MS  10000u /* before offering a refused snapshot again */
#define CTL_PUSH_TIMEOUT_MS   2000u  /* one exchange with busbard */
#define CTL_HEALTH_STALE_MS   5000u  /* busbard unheard this long: /health is 503 */
/* A change's HTTP answer waits for busbard's apply at most this long: past a push's own
 * timeout, so it comes after the apply unless the push failed. */
#define CTL_APPLY_WAIT_MS (CTL_PUSH_TIMEOUT_MS + 500u)
#define CTL_PUSH_REASON_BYTES 1024u

/* How the last exchange with busbard ended. */
enum ctl_link {
	CTL_LINK_UNKNOWN,     /* none yet */
	CTL_LINK_OK,          /* busbard answered */
	CTL_LINK_UNREACHABLE, /* no connection or no answer */
	CTL_LINK_REFUSED,     /* busbard answered with a refusal of the snapshot */
	CTL_LINK_NO_SNAPSHOT, /* the store gives no snapshot (too many queues, I/O) */
};

struct ctl_push_status {
	enum ctl_link link;
	uint64_t applied_version;           /* busbard's, as last heard; 0: unknown */
	uint64_t answer_ms;                 /* ctl_now_ms() of busbard's last answer; 0: never */
	char reason[CTL_PUSH_REASON_BYTES]; /* why link is not OK */
};

struct ctl_push_options {
	const char *busbard_socket;
	bool adopt; /* make busbard take this store's configuration, once (--adopt) */
	/* Called by the thread after each exchange (no lock of ours held), or NULL. */
	void (*on_status)(void *context, const struct ctl_push_status *status);
	void *context;
};

struct ctl_push {
	pthread_mutex_t lock; /* guards status, changed and stop */
	pthread_cond_t wake;
	pthread_t thread;
	bool stop;
	bool changed; /* the version moved since the thread last looked */
	struct ctl_push_status status;
	/* The thread's own. */
	struct ctl_push_options options;
	struct ctl_store *store;
	pthread_mutex_t *store_lock; /* the caller's, held only to read or renumber the store */
	uint64_t pushed_version;     /* busbard applied it; 0: nothing yet */
	bool adopt_pending;
	char logged[CTL_PUSH_REASON_BYTES]; /* the last reason logged: each is said once */
};

__attribute__((warn_unused_result)) int ctl_push_start(struct ctl_push *push,
                                                       const struct ctl_push_options *options,
                                                       struct ctl_store *store,
                                                       pthread_mutex_t *store_lock);
/* The configuration changed: push it now. */
void ctl_push_changed(struct ctl_push *push);
void ctl_push_get_status(struct ctl_push *push, struct ctl_push_status *out);
/* Stops the thread; -ETIMEDOUT when it is still inside a call to a hung busbard. */
__attribute__((warn_unused_result)) int ctl_push_stop(struct ctl_push *push);

/*
 * /health from a status: 200 when busbard answered within stale_ms and did not
 * refuse; else 503. *state is a word for it ("ok", "unreachable", ...) and
 * reason says why (empty when ok).
 */
unsigned ctl_push_health(const struct ctl_push_status *status, uint64_t now_ms, uint64_t stale_ms,
                         const char **state, char *reason, size_t reason_bytes);

uint64_t ctl_now_ms(void); /* monotonic */

#endif
