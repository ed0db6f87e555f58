/*
 * The SubscriptionConfirmation sender (see ctl_sns_sender.h). Messages wait in a list in the
 * order they came; the thread takes the first whose time has come, builds and signs it at its
 * first attempt (the same bytes on every resend: MessageId, Timestamp, Signature) and POSTs it
 * with libcurl. A 2xx answer ends it; anything else (refused, timed out, 3xx-5xx) is resent
 * after 1, 4, then 16 s, and dropped, logged, after CTL_SNS_CONFIRM_ATTEMPTS.
 */
#include "ctl_sns_sender.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ctl_aws.h"
#include "ctl_push.h"
#include "ctl_sns_http.h"
#include "dp_sign.h"

#define IDLE_WAIT_MS 1000u
#define KEY_PATH_BYTES_MAX 1024u

struct message {
	struct message *next;
	char *endpoint;
	char *topic_arn;
	char token[80];
	unsigned signature_version;
	char message_id[CTL_AWS_REQUEST_ID_BYTES + 1];
	char timestamp[CTL_SNS_TIMESTAMP_BYTES + 1];
	char *body; /* made and signed at the first attempt */
	unsigned attempts;
	uint64_t due_ms; /* ctl_now_ms() */
};

struct ctl_sns_sender {
	struct ctl_sns_sender_options options;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct message *head; /* in arrival order */
	unsigned waiting;
	atomic_bool stopping; /* read by curl's progress callback without the lock */
	/* The thread's own. */
	CURL *curl;
	struct dp_sign_key *key;
	struct dp_signer *signer;
	bool key_missing_logged;
};

static void message_free(struct message *m)
{
	if (m == NULL)
		return;
	free(m->endpoint);
	free(m->topic_arn);
	free(m->body);
	free(m);
}

/*
 * busbard's key, once busbard has made it: read, never made here (busbard owns it), so the
 * certificate at SigningCertURL is the one busbard serves. false until it is there.
 */
static bool signer_ready(struct ctl_sns_sender *s)
{
	if (s->signer != NULL)
		return true;
	char path[KEY_PATH_BYTES_MAX];
	snprintf(path, sizeof(path), "%s/%s", s->options.signing_dir, DP_SIGN_KEY_FILE);
	if (access(path, R_OK) != 0) {
		if (!s->key_missing_logged)
			fprintf(stderr, "busbar-control: SNS confirmations wait for busbard's signing "
			                "key %s: %s\n", path, strerror(errno));
		s->key_missing_logged = true;
		return false;
	}
	char error[512] = "";
	int rc = 0;
	s->key = dp_sign_key_load(s->options.signing_dir, error, sizeof(error), &rc);
	s->signer = s->key != NULL ? dp_signer_new(s->key, &rc) : NULL;
	if (s->signer == NULL) {
		fprintf(stderr, "busbar-control: SNS signing key: %s\n",
		        error[0] != '\0' ? error : strerror(-rc));
		dp_sign_key_free(s->key);
		s->key = NULL;
	}
	return s->signer != NULL;
}

/* The message's JSON, signed: made once, so every resend carries the same bytes. */
static bool body_ready(struct ctl_sns_sender *s, struct message *m)
{
	if (m->body != NULL)
		return true;
	if (!signer_ready(s))
		return false;
	char subscribe_url[CTL_SNS_SUBSCRIBE_URL_BYTES_MAX];
	char cert_url[512];
	snprintf(cert_url, sizeof(cert_url), "%s/%s", s->options.control_url, DP_SIGN_CERT_FILE);
	if (ctl_sns_subscribe_url(s->options.control_url, m->topic_arn, m->token, subscribe_url,
	                          sizeof(subscribe_url)) != 0)
		return false;
	struct ctl_sns_confirmation c = {.message_id = m->message_id,
	                                 .token = m->token,
	                                 .topic_arn = m->topic_arn,
	                                 .subscribe_url = subscribe_url,
	                                 .timestamp = m->timestamp,
	                                 .signing_cert_url = cert_url,
	                                 .signature_version = m->signature_version};
	char *text = ctl_sns_confirmation_to_sign(&c);
	char signature[DP_SIGN_BASE64_BYTES_MAX + 1];
	size_t length = 0;
	int rc = text != NULL ? dp_signer_sign(s->signer, (enum dp_sign_version)m->signature_version,
	                                       (const uint8_t *)text, strlen(text), signature,
	                                       sizeof(signature) - 1, &length)
	                      : -ENOMEM;
	free(text);
	if (rc != 0)
		return false;
	signature[length] = '\0';
	m->body = ctl_sns_confirmation_body(&c, signature);
	return m->body != NULL;
}

/* Reads at most CTL_SNS_RESPONSE_BYTES_MAX of the answer and throws it away. */
static size_t on_response(char *data, size_t size, size_t count, void *context)
{
	(void)data;
	size_t *read = context;
	*read += size * count;
	return *read <= CTL_SNS_RESPONSE_BYTES_MAX ? size * count : 0;
}

/* Cuts a POST short when busbar-control stops. */
static int on_progress(void *context, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	const struct ctl_sns_sender *s = context;
	return s->stopping ? 1 : 0;
}

/* One POST with SNS's headers; true on a 2xx answer. */
static bool post(struct ctl_sns_sender *s, const struct message *m)
{
	char lines[CTL_SNS_HEADERS][CTL_SNS_HEADER_BYTES_MAX];
	unsigned n = ctl_sns_headers("SubscriptionConfirmation", m->message_id, m->topic_arn, NULL,
	                             lines);
	struct curl_slist *headers = NULL;
	for (unsigned i = 0; i < n; i++)
		headers = curl_slist_append(headers, lines[i]);
	headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
	size_t read = 0;
	CURL *curl = s->curl;
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, m->endpoint);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(m->body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CTL_SNS_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, CTL_SNS_POST_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_response);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &read);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, s);
	if (s->options.ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, s->options.ca_file);
	CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK || status < 200 || status > 299) {
		char shown[CTL_SNS_ENDPOINT_LOG_BYTES];
		ctl_sns_endpoint_for_log(m->endpoint, shown, sizeof(shown));
		fprintf(stderr, "busbar-control: SubscriptionConfirmation to %s, attempt %u: %s\n",
		        shown, m->attempts + 1,
		        rc != CURLE_OK ? curl_easy_strerror(rc) : "not a 2xx answer");
	}
	return rc == CURLE_OK && status >= 200 && status <= 299;
}

/* The first message whose time has come, unlinked; NULL with *wait_ms until the next one. */
static struct message *take_due(struct ctl_sns_sender *s, uint64_t now_ms, uint64_t *wait_ms)
{
	*wait_ms = IDLE_WAIT_MS;
	for (struct message **link = &s->head; *link != NULL; link = &(*link)->next) {
		struct message *m = *link;
		if (m->due_ms <= now_ms) {
			*link = m->next;
			s->waiting--;
			return m;
		}
		if (m->due_ms - now_ms < *wait_ms)
			*wait_ms = m->due_ms - now_ms;
	}
	return NULL;
}

static void wait_ms(struct ctl_sns_sender *s, uint64_t ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->wake, &s->lock, &until);
}

/* Back at the end of the list for its next attempt, or dropped after the last one. */
static void after_failure(struct ctl_sns_sender *s, struct message *m)
{
	m->attempts++;
	if (m->attempts >= CTL_SNS_CONFIRM_ATTEMPTS) {
		char shown[CTL_SNS_ENDPOINT_LOG_BYTES];
		ctl_sns_endpoint_for_log(m->endpoint, shown, sizeof(shown));
		fprintf(stderr, "busbar-control: SubscriptionConfirmation to %s given up after %u "
		                "attempts (Subscribe again to resend it)\n",
		        shown, m->attempts);
		message_free(m);
		return;
	}
	m->due_ms = ctl_now_ms() + ((uint64_t)CTL_SNS_CONFIRM_DELAY_MS << (2u * (m->attempts - 1)));
	struct message **link = &s->head;
	while (*link != NULL)
		link = &(*link)->next;
	m->next = NULL;
	*link = m;
	s->waiting++;
}

static void *sender_main(void *context)
{
	struct ctl_sns_sender *s = context;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		uint64_t wait = 0;
		struct message *m = take_due(s, ctl_now_ms(), &wait);
		if (m == NULL) {
			wait_ms(s, wait);
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		bool sent = body_ready(s, m) && post(s, m);
		pthread_mutex_lock(&s->lock);
		if (sent)
			message_free(m);
		else
			after_failure(s, m);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct ctl_sns_sender *ctl_sns_sender_start(const struct ctl_sns_sender_options *options)
{
	struct ctl_sns_sender *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->options = *options;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, &attr);
	pthread_condattr_destroy(&attr);
	s->curl = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? curl_easy_init() : NULL;
	if (s->curl == NULL || pthread_create(&s->thread, NULL, sender_main, s) != 0) {
		fprintf(stderr, "busbar-control: cannot start the SNS http(s) sender\n");
		if (s->curl != NULL)
			curl_easy_cleanup(s->curl);
		free(s);
		return NULL;
	}
	return s;
}

static bool url_is_http(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

int ctl_sns_sender_confirm(struct ctl_sns_sender *s, const char *endpoint, const char *topic_arn,
                           const char *token, unsigned signature_version)
{
	if (!url_is_http(endpoint) || strlen(token) >= sizeof(((struct message *)0)->token))
		return -EINVAL;
	struct message *m = calloc(1, sizeof(*m));
	if (m == NULL || (m->endpoint = strdup(endpoint)) == NULL ||
	    (m->topic_arn = strdup(topic_arn)) == NULL) {
		message_free(m);
		return -ENOMEM;
	}
	snprintf(m->token, sizeof(m->token), "%s", token);
	m->signature_version = signature_version;
	ctl_aws_request_id(m->message_id);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	ctl_sns_timestamp((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, m->timestamp);
	pthread_mutex_lock(&s->lock);
	bool room = s->waiting < CTL_SNS_SENDER_QUEUE_MAX;
	if (room) {
		m->due_ms = ctl_now_ms();
		m->next = NULL;
		struct message **link = &s->head;
		while (*link != NULL)
			link = &(*link)->next;
		*link = m;
		s->waiting++;
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
	if (!room)
		message_free(m);
	return room ? 0 : -EBUSY;
}

void ctl_sns_sender_stop(struct ctl_sns_sender *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	while (s->head != NULL) {
		struct message *m = s->head;
		s->head = m->next;
		message_free(m);
	}
	curl_easy_cleanup(s->curl);
	dp_signer_free(s->signer);
	dp_sign_key_free(s->key);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}
