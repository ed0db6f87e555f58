/*
 * Counters of one worker lcore. Written only by their lcore; the service
 * thread reads them for GetStats (a torn read of a u64 cannot happen on
 * x86-64, and a counter that is one behind is acceptable).
 */
#ifndef BB_DP_STATS_H
#define BB_DP_STATS_H

#include <stdint.h>

#define DP_STATS_FIELDS(X)                                                                         \
	X(rx_frames)                                                                               \
	X(tx_frames)                                                                               \
	X(tx_dropped)                                                                              \
	X(arp_replied)                                                                             \
	X(arp_learned)                                                                             \
	X(arp_requests_sent)                                                                       \
	X(icmp_echo_replied)                                                                       \
	X(ip_fragments)                                                                            \
	X(ip_reassembled)                                                                          \
	X(ip_fragments_dropped)                                                                    \
	X(ip_fragments_expired)                                                                    \
	X(ip_fragments_over_limit)                                                                 \
	X(udp_requests_too_large)                                                                  \
	X(dropped_malformed)                                                                       \
	X(dropped_bad_checksum)                                                                    \
	X(dropped_not_for_us)                                                                      \
	X(dropped_unsupported)                                                                     \
	X(requests)                                                                                \
	X(requests_malformed)                                                                      \
	X(requests_to_other_worker)                                                                \
	X(replies_error)                                                                           \
	X(dedup_replayed)                                                                          \
	X(dedup_in_progress)                                                                       \
	X(dedup_conflicts)                                                                         \
	X(udp_cookies_sent)                                                                        \
	X(udp_replies_unproven_dropped)                                                            \
	X(ring_full)                                                                               \
	X(long_polls_parked)                                                                       \
	X(long_polls_refused)                                                                      \
	X(replies_held)                                                                            \
	X(replies_stage_full)                                                                      \
	X(log_appends_refused)                                                                     \
	X(log_releases_leaked)                                                                     \
	X(log_messages_relogged)                                                                   \
	X(log_messages_recovered)                                                                  \
	X(log_records_recovered)                                                                   \
	X(log_commits)                                                                             \
	X(log_records_committed)                                                                   \
	X(fanout_deliveries)                                                                       \
	X(fanout_done)                                                                             \
	X(fanout_done_unlogged)                                                                    \
	X(fanout_retries)                                                                          \
	X(fanout_failed)                                                                           \
	X(fanout_dead_lettered)                                                                    \
	X(redrive_moved)                                                                           \
	X(redrive_move_failures)                                                                   \
	X(fanout_no_buffer)                                                                        \
	X(fanout_ring_full)                                                                        \
	X(fanout_refused)                                                                          \
	X(fanout_unsupported)                                                                      \
	X(udp_deliveries_sent)                                                                     \
	X(udp_deliveries_acked)                                                                    \
	X(udp_deliveries_unresolved)                                                               \
	X(udp_acks_refused)                                                                        \
	X(fanout_recovered)                                                                        \
	X(archive_kept)                                                                            \
	X(archive_released)                                                                        \
	X(archive_evicted)

struct dp_stats {
#define DP_STATS_MEMBER(name) uint64_t name;
	DP_STATS_FIELDS(DP_STATS_MEMBER)
#undef DP_STATS_MEMBER
};

#endif
