/*
 * busbar-control zeroes the secret of CreateKey's and RotateKey's answer before it frees
 * any memory that held it: the answer's text, built by ctl_keys_api.c (never a jansson
 * string or a json_dumps copy of it), and the same text once the HTTP side has handed it
 * to libmicrohttpd, which frees it through busbar's zeroing callback.
 *
 * How: this program is linked with -Wl,--wrap=free,--wrap=realloc, and jansson's allocator
 * is set to the same wrappers (json_set_alloc_funcs), so every block busbar's code or
 * jansson frees (or reallocates) while a call runs is copied into a log first (within
 * malloc_usable_size: no undefined behaviour, and ASan agrees). The secret is new, known
 * only from the answer, so the log is searched for it afterwards. libmicrohttpd frees with
 * its own free, which no wrapper sees: the answer's text must therefore also be seen freed
 * through busbar's code. A canary freed with the secret in it proves the log catches one.
 * Seen failing: with ctl_aws_free_secret's explicit_bzero removed (1 block), with
 * ctl_aws_reply_response's callback plain free (1 block) or MHD_RESPMEM_MUST_FREE (the
 * text never seen freed), and with the secret also put in a jansson string (1 block).
 */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "ctl_aws.h"
#include "ctl_aws_server.h"
#include "ctl_keys.h"
#include "ctl_keys_api.h"
#include "ctl_store.h"

#define NOW             1700000000
#define FREED_LOG_BYTES (4u << 20) /* a call frees a few KiB: room to spare */

static uint8_t freed_log[FREED_LOG_BYTES]; /* static: never freed itself */
static size_t freed_log_used;
static bool freed_log_full;
static bool watching;
static const void *watched_text; /* the answer's text, to be seen freed */
static bool watched_text_freed;

void __real_free(void *p);
void *__real_realloc(void *p, size_t bytes);
void __wrap_free(void *p);
void *__wrap_realloc(void *p, size_t bytes);

static void log_block(const void *p)
{
	if (p == NULL || !watching)
		return;
	watched_text_freed = watched_text_freed || p == watched_text;
	size_t bytes = malloc_usable_size((void *)p);
	if (bytes > sizeof(freed_log) - freed_log_used) {
		freed_log_full = true;
		return;
	}
	memcpy(freed_log + freed_log_used, p, bytes);
	freed_log_used += bytes;
}

void __wrap_free(void *p)
{
	log_block(p);
	__real_free(p);
}

/* A realloc may move the block and free the old one as it is: it must hold no secret. */
void *__wrap_realloc(void *p, size_t bytes)
{
	log_block(p);
	return __real_realloc(p, bytes);
}

static void *jansson_malloc(size_t bytes)
{
	return malloc(bytes);
}

static void jansson_free(void *p)
{
	__wrap_free(p);
}

static char dir[] = "/tmp/test_keys_secrets_XXXXXX";
static struct ctl_store *store;

static void setup(void)
{
	json_set_alloc_funcs(jansson_malloc, jansson_free);
	char db_path[256], error[256];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db_path, sizeof(db_path), "%s/control.db", dir);
	store = ctl_store_open(db_path, error, sizeof(error));
	cr_assert_not_null(store, "%s", error);
}

static void teardown(void)
{
	char command[256];
	ctl_store_close(store);
	snprintf(command, sizeof(command), "rm -rf %s", dir);
	cr_assert_eq(system(command), 0);
}

TestSuite(keys_secrets, .init = setup, .fini = teardown, .timeout = 60);

/* How many freed blocks logged since the call began hold secret. */
static unsigned blocks_with(const char *secret)
{
	unsigned found = 0;
	for (size_t at = 0; at < freed_log_used;) {
		const uint8_t *hit = memmem(freed_log + at, freed_log_used - at, secret,
		                            CTL_SECRET_KEY_BYTES);
		if (hit == NULL)
			break;
		found++;
		at = (size_t)(hit - freed_log) + CTL_SECRET_KEY_BYTES;
	}
	return found;
}

/* The secret an answer's text carries, copied into out (static storage, never freed). */
static void secret_of(const char *text, char *out)
{
	static const char member[] = "\"SecretAccessKey\":\"";
	const char *at = strstr(text, member);
	cr_assert_not_null(at, "%s", text);
	memcpy(out, at + sizeof(member) - 1, CTL_SECRET_KEY_BYTES);
	out[CTL_SECRET_KEY_BYTES] = '\0';
}

/*
 * Makes the call and answers it as busbar-control's HTTP side does, up to libmicrohttpd
 * freeing the response, watching every free; the secret of the answer into secret.
 */
static void call_and_answer(const char *action, const char *body, char *secret)
{
	char target[64];
	snprintf(target, sizeof(target), CTL_KEYS_TARGET_PREFIX "%s", action);
	freed_log_used = 0;
	freed_log_full = false;
	watched_text_freed = false;
	watching = true;
	struct ctl_sqs_result result;
	ctl_keys_api_handle(store, target, body, strlen(body), NOW, &result);
	cr_assert_eq(result.http_status, 200);
	cr_assert_null(result.body);
	cr_assert_not_null(result.secret_text);
	secret_of(result.secret_text, secret);
	struct ctl_aws_request request = {.protocol = CTL_AWS_JSON_10, .service = CTL_AWS_KEYS};
	snprintf(request.action, sizeof(request.action), "%s", action);
	struct ctl_aws_reply reply;
	watched_text = result.secret_text;
	ctl_aws_render_secret(&request, result.secret_text, &reply);
	struct MHD_Response *response = ctl_aws_reply_response(&reply);
	cr_assert_not_null(response);
	MHD_destroy_response(response); /* nothing queued it: libmicrohttpd frees it now */
	ctl_aws_reply_clear(&reply);
	watching = false;
	cr_assert_not(freed_log_full, "the log of freed blocks overflowed");
}

/* The canary: a block freed with the secret in it is found. */
static void check_the_log_catches(const char *secret)
{
	freed_log_used = 0;
	watching = true;
	char *volatile canary = malloc(CTL_SECRET_KEY_BYTES); /* volatile: not optimised away */
	cr_assert_not_null(canary);
	memcpy(canary, secret, CTL_SECRET_KEY_BYTES);
	free(canary);
	watching = false;
	cr_assert_eq(blocks_with(secret), 1, "the wrapper sees a secret freed as it is");
}

Test(keys_secrets, create_and_rotate_answers_are_zeroed_before_they_are_freed)
{
	static char created[CTL_SECRET_KEY_BYTES + 1], rotated[CTL_SECRET_KEY_BYTES + 1];
	call_and_answer("CreateKey", "{}", created);
	cr_assert_eq(blocks_with(created), 0, "%u blocks freed with CreateKey's secret in them",
	             blocks_with(created));
	cr_assert(watched_text_freed, "the answer's text was freed through busbar's callback");

	struct ctl_key *keys;
	size_t count;
	cr_assert_eq(ctl_keys_list(store, &keys, &count), 0);
	cr_assert_eq(count, 1);
	char body[128];
	snprintf(body, sizeof(body), "{\"AccessKeyId\":\"%s\"}", keys[0].access_key_id);
	ctl_key_clear(&keys[0]);
	free(keys);
	call_and_answer("RotateKey", body, rotated);
	cr_assert_eq(blocks_with(rotated), 0, "%u blocks freed with RotateKey's secret in them",
	             blocks_with(rotated));
	cr_assert(watched_text_freed, "the answer's text was freed through busbar's callback");
	check_the_log_catches(rotated);
	memset(created, 0, sizeof(created));
	memset(rotated, 0, sizeof(rotated));
}
