/*
 * busbar-control's HTTP decisions (issue 10, defect 14 and the listen-address
 * usability report): only POST / reaches the SQS API and only GET /health the
 * health check; --listen takes loopback addresses and names that resolve to
 * one, refuses other addresses unless told otherwise, and says what is wrong.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ctl_http.h"

Test(ctl_http, only_the_api_path_and_health_are_served)
{
	cr_assert_eq(ctl_http_route("POST", "/"), CTL_ROUTE_SQS);
	cr_assert_eq(ctl_http_route("GET", "/health"), CTL_ROUTE_HEALTH);
	cr_assert_eq(ctl_http_route("POST", "/health"), CTL_ROUTE_NOT_FOUND);
	cr_assert_eq(ctl_http_route("POST", "/000000000000/q"), CTL_ROUTE_NOT_FOUND);
	/* The AWS API's presigned requests are GETs (docs/aws-api.md); /metrics is Prometheus'. */
	cr_assert_eq(ctl_http_route("GET", "/"), CTL_ROUTE_SQS);
	cr_assert_eq(ctl_http_route("GET", "/metrics"), CTL_ROUTE_METRICS);
	cr_assert_eq(ctl_http_route("PUT", "/"), CTL_ROUTE_NOT_FOUND);
	cr_assert_eq(ctl_http_route("GET", "/health/x"), CTL_ROUTE_NOT_FOUND);
}

static struct sockaddr_in addr;
static char error[512];

static int parse(const char *text, bool allow_any)
{
	error[0] = '\0';
	return ctl_http_parse_listen(text, allow_any, &addr, error, sizeof(error));
}

Test(ctl_http, loopback_addresses_and_names_are_taken)
{
	cr_assert_eq(parse("127.0.0.1:7680", false), 0, "%s", error);
	cr_assert_eq(ntohs(addr.sin_port), 7680);
	cr_assert_eq(ntohl(addr.sin_addr.s_addr), 0x7f000001);
	cr_assert_eq(parse("127.0.0.2:1", false), 0, "%s", error);
	cr_assert_eq(parse("localhost:7681", false), 0, "a name that resolves to loopback: %s",
	             error);
	cr_assert_eq(ntohl(addr.sin_addr.s_addr) >> 24, 127);
	cr_assert_eq(ntohs(addr.sin_port), 7681);
}

Test(ctl_http, other_addresses_are_refused_unless_asked_for)
{
	cr_assert_eq(parse("0.0.0.0:7689", false), -EINVAL);
	cr_assert_not_null(strstr(error, "loopback"), "%s", error);
	cr_assert_not_null(strstr(error, "--insecure-listen-any"), "%s", error);
	cr_assert_eq(parse("10.1.2.3:7689", false), -EINVAL);
	cr_assert_eq(parse("0.0.0.0:7689", true), 0, "%s", error);
}

Test(ctl_http, malformed_listen_values_say_what_is_wrong)
{
	const char *no_port[] = {"127.0.0.1", ":7680", ""};
	for (size_t i = 0; i < sizeof(no_port) / sizeof(no_port[0]); i++) {
		cr_assert_eq(parse(no_port[i], false), -EINVAL, "'%s'", no_port[i]);
		cr_assert_not_null(strstr(error, "HOST:PORT"), "%s", error);
	}
	const char *bad_port[] = {"127.0.0.1:0",   "127.0.0.1:65536", "127.0.0.1:80x",
	                          "127.0.0.1: 80", "127.0.0.1:080",   "127.0.0.1:"};
	for (size_t i = 0; i < sizeof(bad_port) / sizeof(bad_port[0]); i++) {
		cr_assert_eq(parse(bad_port[i], false), -EINVAL, "'%s'", bad_port[i]);
		cr_assert_not_null(strstr(error, "port"), "%s", error);
	}
}
