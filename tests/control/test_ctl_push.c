/*
 * What /health makes of the push thread's last exchange with busbard (issue
 * 10, defects 5 and 6): ok only while busbard answers and takes this store;
 * unreachable, refused (with busbard's reason), or silent for longer than the
 * bound are 503 with a reason. The thread itself runs against a real busbard
 * in tests/integration/run_control.sh.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ctl_push.h"

static const char *state;
static char reason[CTL_PUSH_REASON_BYTES];

static unsigned health(const struct ctl_push_status *s, uint64_t now_ms)
{
	return ctl_push_health(s, now_ms, CTL_HEALTH_STALE_MS, &state, reason, sizeof(reason));
}

Test(ctl_push, ok_only_while_busbard_answers)
{
	struct ctl_push_status s = {.link = CTL_LINK_OK, .applied_version = 4, .answer_ms = 1000};
	cr_assert_eq(health(&s, 1000 + CTL_HEALTH_STALE_MS), 200);
	cr_assert_str_eq(state, "ok");
	cr_assert_str_eq(reason, "");
	cr_assert_eq(health(&s, 1001 + CTL_HEALTH_STALE_MS), 503, "a hung busbard answers nothing");
	cr_assert_str_eq(state, "unresponsive");
	cr_assert_not_null(strstr(reason, "has not answered for"), "%s", reason);
}

Test(ctl_push, every_failure_is_503_with_its_reason)
{
	struct ctl_push_status s = {0};
	cr_assert_eq(health(&s, 1), 503, "no answer yet");
	cr_assert_str_eq(state, "unknown");
	cr_assert_not_null(strstr(reason, "not answered yet"), "%s", reason);
	const struct {
		enum ctl_link link;
		const char *state;
	} cases[] = {
	    {CTL_LINK_UNREACHABLE, "unreachable"},
	    {CTL_LINK_REFUSED, "refused"},
	    {CTL_LINK_NO_SNAPSHOT, "no_snapshot"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = (struct ctl_push_status){.link = cases[i].link, .answer_ms = 1000};
		strcpy(s.reason, "the reason");
		cr_assert_eq(health(&s, 1000), 503, "%s, though busbard answered", cases[i].state);
		cr_assert_str_eq(state, cases[i].state);
		cr_assert_str_eq(reason, "the reason");
	}
}
