/* `busbar listen` (see cli_listen.h). */
#include "cli_listen.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli_output.h"

#define POLL_MS       1000u
#define EXIT_SERVICE  1
#define EXIT_OUTPUT   4

void cli_listen_usage(FILE *out)
{
	fprintf(out,
	        "  listen --port N [--count K]  (the Deliver frames of udp subscriptions and\n"
	        "                             targets at this host's port N, one JSON line each,\n"
	        "                             acked once printed; K: stop after K, else run on)\n");
}

/* Acks a printed delivery; one done already (acked, given up) counts as done. */
static int ack(struct bb_client *c, uint64_t delivery_id)
{
	int rc = bb_ack(c, delivery_id);
	if (rc == 0 || rc == WIRE_ERR_MESSAGE_NOT_INFLIGHT)
		return 0;
	fprintf(stderr, "busbar: Ack of %" PRIu64 " refused: %s: %s\n", delivery_id,
	        rc > 0 ? wire_status_name((enum wire_status)rc) : strerror(-rc),
	        bb_client_error(c));
	return EXIT_SERVICE;
}

int cli_listen(struct bb_client *c, uint32_t count)
{
	int exit_code = 0;
	for (uint32_t printed = 0; count == 0 || printed < count;) {
		struct bb_delivery d;
		int rc = bb_delivery_poll(c, POLL_MS, &d);
		if (rc < 0) {
			fprintf(stderr, "busbar: listening: %s\n", strerror(-rc));
			return EXIT_SERVICE;
		}
		if (rc == 0)
			continue;
		json_t *line;
		uint64_t id = d.delivery_id; /* d points into the client's buffer */
		if (cli_delivery_json(&d, &line) != 0 || cli_print_json(stdout, line) != 0) {
			fprintf(stderr, "busbar: delivery %" PRIu64 " could not be printed\n", id);
			return EXIT_OUTPUT;
		}
		printed++;
		if (ack(c, id) != 0)
			exit_code = EXIT_SERVICE;
	}
	return exit_code;
}
