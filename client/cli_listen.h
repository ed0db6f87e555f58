/*
 * `busbar listen --port N [--count K]`: receives the Deliver frames busbard sends to a udp
 * subscription or rule target at this host's port N (docs/protocol.md, "Deliver and Ack"),
 * prints each as a JSON line (cli_delivery_json) and acks it once printed, so a delivery is
 * acked only after it is written out (at least once: a crash between the two prints it
 * again when busbard sends it again).
 */
#ifndef BB_CLI_LISTEN_H
#define BB_CLI_LISTEN_H

#include <stdint.h>
#include <stdio.h>

#include "busbar.h"

/* getopt values of listen's options: above cli_keys.h's (0x150...). */
enum cli_listen_opt { CLI_OPT_LISTEN_PORT = 0x160, CLI_OPT_LISTEN_COUNT };

#define CLI_LISTEN_LONG_OPTIONS                                                               \
	{"port", required_argument, NULL, CLI_OPT_LISTEN_PORT},                               \
	    {"count", required_argument, NULL, CLI_OPT_LISTEN_COUNT}

#define CLI_LISTEN_COUNT_MAX 1000000000L

void cli_listen_usage(FILE *out);

/*
 * Prints and acks deliveries on c (bound to the subscribed port) until `count` were printed
 * (0: until killed). The exit code: 0; 1 when an Ack was refused for another reason than
 * the delivery being done already; 4 when the output could not be written (that delivery
 * is not acked: busbard sends it again).
 */
int cli_listen(struct bb_client *c, uint32_t count);

#endif
