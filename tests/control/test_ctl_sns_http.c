/*
 * What busbar-control sends to an http/https subscription (control/ctl_sns_http.h) and how
 * a SubscribeURL comes back (control/ctl_aws.h).
 *
 * Proves: SNS's timestamp form; the SubscribeURL names ConfirmSubscription with the ARN
 * percent-encoded and the token, and refuses to be cut short; the string to sign is SNS's
 * canonical one for a SubscriptionConfirmation (Message, MessageId, SubscribeURL, Timestamp,
 * Token, TopicArn, Type); the message is SNS's layout byte for byte and its JSON parses to the
 * same fields; the headers are SNS's; a GET of the SubscribeURL (no Version, no body) is read
 * as SNS's ConfirmSubscription with its TopicArn and Token.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_aws.h"
#include "ctl_sns_http.h"

#define ARN   "arn:aws:sns:local:000000000000:orders"
#define TOKEN "2336412f37fb687f5d51e6e2425c464de12884ec49f6e4f6b4e7f8dc2b4d3d1b"
#define URL   "http://127.0.0.1:7680/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Alocal" \
              "%3A000000000000%3Aorders&Token=" TOKEN
#define MESSAGE                                                                                    \
	"You have chosen to subscribe to the topic " ARN ".\nTo confirm the subscription, visit the " \
	"SubscribeURL included in this message."

static const struct ctl_sns_confirmation confirmation = {
	.message_id = "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
	.token = TOKEN,
	.topic_arn = ARN,
	.subscribe_url = URL,
	.timestamp = "2012-05-02T00:54:06.655Z",
	.signing_cert_url = "http://127.0.0.1:7680/sns-signing.pem",
	.signature_version = 2,
};

Test(ctl_sns_http, timestamps_are_sns_utc_with_milliseconds)
{
	char out[CTL_SNS_TIMESTAMP_BYTES + 1];
	ctl_sns_timestamp(1335920046655, out);
	cr_assert_str_eq(out, "2012-05-02T00:54:06.655Z");
	ctl_sns_timestamp(7, out);
	cr_assert_str_eq(out, "1970-01-01T00:00:00.007Z");
}

Test(ctl_sns_http, the_subscribe_url_confirms_with_the_arn_encoded_and_the_token)
{
	char out[CTL_SNS_SUBSCRIBE_URL_BYTES_MAX];
	cr_assert_eq(ctl_sns_subscribe_url("http://127.0.0.1:7680", ARN, TOKEN, out, sizeof(out)), 0);
	cr_assert_str_eq(out, URL);
	cr_assert_eq(ctl_sns_subscribe_url("http://127.0.0.1:7680", ARN, TOKEN, out, strlen(URL)),
	             -ENOBUFS, "a URL that does not fit is refused, not cut");
}

Test(ctl_sns_http, the_string_to_sign_is_sns_canonical_confirmation)
{
	char *text = ctl_sns_confirmation_to_sign(&confirmation);
	cr_assert_not_null(text);
	cr_assert_str_eq(text, "Message\n" MESSAGE "\nMessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b"
	                       "\nSubscribeURL\n" URL "\nTimestamp\n2012-05-02T00:54:06.655Z\n"
	                       "Token\n" TOKEN "\nTopicArn\n" ARN "\nType\nSubscriptionConfirmation\n");
	free(text);
}

Test(ctl_sns_http, the_message_is_sns_layout_byte_for_byte)
{
	char *body = ctl_sns_confirmation_body(&confirmation, "c2ln");
	cr_assert_not_null(body);
	cr_assert_str_eq(body, "{\n"
	                       "  \"Type\" : \"SubscriptionConfirmation\",\n"
	                       "  \"MessageId\" : \"165545c9-2a5c-472c-8df2-7ff2be2b3b1b\",\n"
	                       "  \"Token\" : \"" TOKEN "\",\n"
	                       "  \"TopicArn\" : \"" ARN "\",\n"
	                       "  \"Message\" : \"You have chosen to subscribe to the topic " ARN
	                       ".\\nTo confirm the subscription, visit the SubscribeURL included in "
	                       "this message.\",\n"
	                       "  \"SubscribeURL\" : \"" URL "\",\n"
	                       "  \"Timestamp\" : \"2012-05-02T00:54:06.655Z\",\n"
	                       "  \"SignatureVersion\" : \"2\",\n"
	                       "  \"Signature\" : \"c2ln\",\n"
	                       "  \"SigningCertURL\" : \"http://127.0.0.1:7680/sns-signing.pem\"\n"
	                       "}");
	json_t *parsed = json_loads(body, 0, NULL);
	cr_assert_not_null(parsed);
	cr_assert_str_eq(json_string_value(json_object_get(parsed, "Message")), MESSAGE);
	cr_assert_str_eq(json_string_value(json_object_get(parsed, "SubscribeURL")), URL);
	json_decref(parsed);
	free(body);
}

Test(ctl_sns_http, the_headers_are_sns)
{
	char lines[CTL_SNS_HEADERS][CTL_SNS_HEADER_BYTES_MAX];
	unsigned n = ctl_sns_headers("SubscriptionConfirmation", "m-1", ARN, NULL, lines);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(lines[0], "x-amz-sns-message-type: SubscriptionConfirmation");
	cr_assert_str_eq(lines[1], "x-amz-sns-message-id: m-1");
	cr_assert_str_eq(lines[2], "x-amz-sns-topic-arn: " ARN);
	cr_assert_str_eq(lines[3], "Content-Type: text/plain; charset=UTF-8");
	cr_assert_str_eq(lines[4], "User-Agent: Amazon Simple Notification Service Agent");
	n = ctl_sns_headers("Notification", "m-2", ARN, ARN ":sub", lines);
	cr_assert_eq(n, 6);
	cr_assert_str_eq(lines[3], "x-amz-sns-subscription-arn: " ARN ":sub");
}

Test(ctl_sns_http, a_get_of_the_subscribe_url_is_sns_confirm_subscription)
{
	json_t *query = json_pack("{s:s, s:s, s:s}", "Action", "ConfirmSubscription", "TopicArn",
	                          ARN, "Token", TOKEN);
	struct ctl_aws_request request = {0};
	const struct ctl_aws_error *error = NULL;
	char message[CTL_AWS_ERROR_BYTES_MAX];
	cr_assert_eq(ctl_aws_parse(NULL, NULL, "", 0, query, &request, &error, message,
	                           sizeof(message)),
	             0, "%s", message);
	cr_assert_eq(request.service, CTL_AWS_SNS);
	cr_assert_eq(request.kind, CTL_AWS_MANAGE);
	cr_assert_str_eq(request.action, "ConfirmSubscription");
	cr_assert_str_eq(json_string_value(json_object_get(request.params, "Token")), TOKEN);
	ctl_aws_request_clear(&request);
	json_decref(query);
}

/* An endpoint's password never reaches the log: SNS masks it; the rest stays readable. */
Test(ctl_sns_http, a_logged_endpoint_has_its_password_masked)
{
	char out[CTL_SNS_ENDPOINT_LOG_BYTES];
	ctl_sns_endpoint_for_log("https://ops:s3cret@hooks.example/x?a=b@c", out, sizeof(out));
	cr_assert_str_eq(out, "https://ops:****@hooks.example/x?a=b@c");
	ctl_sns_endpoint_for_log("http://hooks.example:8080/p@th", out, sizeof(out));
	cr_assert_str_eq(out, "http://hooks.example:8080/p@th", "no user info: as it is");
	ctl_sns_endpoint_for_log("http://ops@hooks.example/", out, sizeof(out));
	cr_assert_str_eq(out, "http://ops@hooks.example/", "a user without a password");
}
