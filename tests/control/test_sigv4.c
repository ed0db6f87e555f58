/*
 * SigV4 against AWS's published vectors: the Signature Version 4 test suite
 * (get-vanilla, get-vanilla-query-order-key-case, post-vanilla,
 * post-x-www-form-urlencoded; AKIDEXAMPLE at 20150830T123600Z), the IAM
 * ListUsers example of the signing documentation, and S3's presigned-URL
 * example (query form). Then each refusal: a wrong secret, a tampered body, a
 * clock outside the window, an expired presigned URL, a wrong scope, a
 * mismatched x-amz-content-sha256, no signature, a malformed one.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ctl_sigv4.h"

#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_NOW_S  1440938160 /* 2015-08-30T12:36:00Z */
#define SUITE_AUTH                                                                                 \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

static const struct ctl_sigv4_expect SUITE = {
    .region = "us-east-1", .service = "service", .now_s = SUITE_NOW_S, .skew_s = 300};

static const struct ctl_aws_error *error;
static char message[512];

static void check(const struct ctl_sigv4_request *r, const char *want)
{
	struct ctl_sigv4_auth auth;
	cr_assert_eq(ctl_sigv4_parse(r, &auth, &error, message, sizeof(message)), 0, "%s", message);
	cr_assert_str_eq(auth.signature, want);
	cr_assert_eq(
	    ctl_sigv4_verify(r, &auth, SUITE_SECRET, &SUITE, &error, message, sizeof(message)), 0,
	    "%s", message);
}

static int refused(const struct ctl_sigv4_request *r, const char *secret,
                   const struct ctl_sigv4_expect *expect)
{
	struct ctl_sigv4_auth auth;
	error = NULL;
	int rc = ctl_sigv4_parse(r, &auth, &error, message, sizeof(message));
	if (rc == 0)
		rc = ctl_sigv4_verify(r, &auth, secret, expect, &error, message, sizeof(message));
	return rc;
}

Test(sigv4, get_vanilla)
{
	struct ctl_sigv4_pair h[] = {
	    {"Host", "example.amazonaws.com"},
	    {"X-Amz-Date", "20150830T123600Z"},
	    {"Authorization",
	     SUITE_AUTH "SignedHeaders=host;x-amz-date, Signature="
	                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	};
	struct ctl_sigv4_request r = {
	    .method = "GET", .path = "/", .headers = h, .header_count = 3};
	check(&r, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

Test(sigv4, get_vanilla_query_order_key_case)
{
	struct ctl_sigv4_pair q[] = {{"Param2", "value2"}, {"Param1", "value1"}};
	struct ctl_sigv4_pair h[] = {
	    {"Host", "example.amazonaws.com"},
	    {"X-Amz-Date", "20150830T123600Z"},
	    {"Authorization",
	     SUITE_AUTH "SignedHeaders=host;x-amz-date, Signature="
	                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	};
	struct ctl_sigv4_request r = {.method = "GET",
	                              .path = "/",
	                              .query = q,
	                              .query_count = 2,
	                              .headers = h,
	                              .header_count = 3};
	check(&r, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

Test(sigv4, post_vanilla)
{
	struct ctl_sigv4_pair h[] = {
	    {"Host", "example.amazonaws.com"},
	    {"X-Amz-Date", "20150830T123600Z"},
	    {"Authorization",
	     SUITE_AUTH "SignedHeaders=host;x-amz-date, Signature="
	                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	};
	struct ctl_sigv4_request r = {
	    .method = "POST", .path = "/", .headers = h, .header_count = 3};
	check(&r, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

static const char FORM_AUTH[] =
    SUITE_AUTH "SignedHeaders=content-type;host;x-amz-date, "
               "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a";

static struct ctl_sigv4_pair form_headers[] = {
    {"Content-Type", "application/x-www-form-urlencoded"},
    {"Host", "example.amazonaws.com"},
    {"X-Amz-Date", "20150830T123600Z"},
    {"Authorization", FORM_AUTH},
};

static struct ctl_sigv4_request form_request(const char *body)
{
	return (struct ctl_sigv4_request){.method = "POST",
	                                  .path = "/",
	                                  .headers = form_headers,
	                                  .header_count = 4,
	                                  .payload = (const uint8_t *)body,
	                                  .payload_bytes = strlen(body)};
}

Test(sigv4, post_x_www_form_urlencoded)
{
	struct ctl_sigv4_request r = form_request("Param1=value1");
	check(&r, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

Test(sigv4, iam_list_users_example)
{
	struct ctl_sigv4_pair q[] = {{"Action", "ListUsers"}, {"Version", "2010-05-08"}};
	struct ctl_sigv4_pair h[] = {
	    {"Host", "iam.amazonaws.com"},
	    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
	    {"X-Amz-Date", "20150830T123600Z"},
	    {"Authorization",
	     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
	     "SignedHeaders=content-type;host;x-amz-date, "
	     "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
	};
	struct ctl_sigv4_request r = {.method = "GET",
	                              .path = "/",
	                              .query = q,
	                              .query_count = 2,
	                              .headers = h,
	                              .header_count = 4};
	struct ctl_sigv4_expect iam = SUITE;
	iam.service = "iam";
	struct ctl_sigv4_auth auth;
	cr_assert_eq(ctl_sigv4_parse(&r, &auth, &error, message, sizeof(message)), 0);
	cr_assert_eq(
	    ctl_sigv4_verify(&r, &auth, SUITE_SECRET, &iam, &error, message, sizeof(message)), 0,
	    "%s", message);
}

/* S3's presigned GET example: the query form, its payload UNSIGNED-PAYLOAD (S3's rule). */
Test(sigv4, s3_presigned_example)
{
	struct ctl_sigv4_pair q[] = {
	    {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
	    {"X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"},
	    {"X-Amz-Date", "20130524T000000Z"},
	    {"X-Amz-Expires", "86400"},
	    {"X-Amz-SignedHeaders", "host"},
	    {"X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"},
	};
	struct ctl_sigv4_pair h[] = {{"Host", "examplebucket.s3.amazonaws.com"}};
	struct ctl_sigv4_request r = {.method = "GET",
	                              .path = "/test.txt",
	                              .query = q,
	                              .query_count = 6,
	                              .headers = h,
	                              .header_count = 1};
	struct ctl_sigv4_auth auth;
	cr_assert_eq(ctl_sigv4_parse(&r, &auth, &error, message, sizeof(message)), 0);
	cr_assert(auth.presigned);
	cr_assert_eq(auth.expires_s, 86400);
	char signature[CTL_SIGV4_HEX_BYTES + 1];
	cr_assert_eq(ctl_sigv4_signature(&r, &auth, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	                                 "UNSIGNED-PAYLOAD", signature),
	             0);
	cr_assert_str_eq(signature, auth.signature);
	/* Verified as presigned requests are (UNSIGNED-PAYLOAD) until it expires a day later;
	 * never with a body, which its signature would not cover. */
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	struct ctl_sigv4_expect s3 = {
	    .region = "us-east-1", .service = "s3", .now_s = 1369353600 + 86400, .skew_s = 300};
	cr_assert_eq(ctl_sigv4_verify(&r, &auth, secret, &s3, &error, message, sizeof(message)), 0,
	             "%s", message);
	r.payload = (const uint8_t *)"Action=DeleteQueue";
	r.payload_bytes = 18;
	cr_assert_neq(ctl_sigv4_verify(&r, &auth, secret, &s3, &error, message, sizeof(message)),
	              0);
	cr_assert_eq(error, &CTL_AWS_SIGNATURE_MISMATCH);
	r.payload_bytes = 0;
	s3.now_s++;
	cr_assert_neq(ctl_sigv4_verify(&r, &auth, secret, &s3, &error, message, sizeof(message)),
	              0);
	cr_assert_eq(error, &CTL_AWS_REQUEST_EXPIRED);
}

Test(sigv4, wrong_secret_is_signature_does_not_match)
{
	struct ctl_sigv4_request r = form_request("Param1=value1");
	cr_assert_neq(refused(&r, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", &SUITE), 0);
	cr_assert_eq(error, &CTL_AWS_SIGNATURE_MISMATCH);
}

Test(sigv4, tampered_body_is_signature_does_not_match)
{
	struct ctl_sigv4_request r = form_request("Param1=value2");
	cr_assert_neq(refused(&r, SUITE_SECRET, &SUITE), 0);
	cr_assert_eq(error, &CTL_AWS_SIGNATURE_MISMATCH);
}

Test(sigv4, outside_the_clock_window_is_request_expired)
{
	struct ctl_sigv4_request r = form_request("Param1=value1");
	struct ctl_sigv4_expect late = SUITE;
	late.now_s = SUITE_NOW_S + 301;
	cr_assert_neq(refused(&r, SUITE_SECRET, &late), 0);
	cr_assert_eq(error, &CTL_AWS_REQUEST_EXPIRED);
	late.now_s = SUITE_NOW_S - 301; /* signed in the future */
	cr_assert_neq(refused(&r, SUITE_SECRET, &late), 0);
	cr_assert_eq(error, &CTL_AWS_REQUEST_EXPIRED);
	late.now_s = SUITE_NOW_S + 300; /* the edge of the window is inside */
	cr_assert_eq(refused(&r, SUITE_SECRET, &late), 0, "%s", message);
}

Test(sigv4, wrong_region_or_service_is_refused)
{
	struct ctl_sigv4_request r = form_request("Param1=value1");
	struct ctl_sigv4_expect other = SUITE;
	other.region = "eu-west-1";
	cr_assert_neq(refused(&r, SUITE_SECRET, &other), 0);
	cr_assert_eq(error, &CTL_AWS_SIGNATURE_MISMATCH);
	other = SUITE;
	other.service = "sqs";
	cr_assert_neq(refused(&r, SUITE_SECRET, &other), 0);
	cr_assert_eq(error, &CTL_AWS_SIGNATURE_MISMATCH);
}

Test(sigv4, content_sha256_must_match_the_body)
{
	struct ctl_sigv4_pair h[5];
	memcpy(h, form_headers, sizeof(form_headers));
	h[4] = (struct ctl_sigv4_pair){
	    "X-Amz-Content-Sha256",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
	struct ctl_sigv4_request r = form_request("Param1=value1");
	r.headers = h;
	r.header_count = 5;
	cr_assert_neq(refused(&r, SUITE_SECRET, &SUITE), 0);
	cr_assert_eq(error, &CTL_AWS_SIGNATURE_MISMATCH);
	cr_assert(strstr(message, "x-amz-content-sha256") != NULL);
}

Test(sigv4, unsigned_and_malformed_requests)
{
	struct ctl_sigv4_pair h[] = {{"Host", "example.amazonaws.com"},
	                             {"Authorization", "AWS4-HMAC-SHA256 Credential=AKID/2015"}};
	struct ctl_sigv4_request r = {
	    .method = "POST", .path = "/", .headers = h, .header_count = 1};
	cr_assert_neq(refused(&r, SUITE_SECRET, &SUITE), 0);
	cr_assert_eq(error, &CTL_AWS_MISSING_TOKEN);
	r.header_count = 2;
	cr_assert_neq(refused(&r, SUITE_SECRET, &SUITE), 0);
	cr_assert_eq(error, &CTL_AWS_INCOMPLETE_SIGNATURE);
	h[1].value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
	             "aws4_request, SignedHeaders=host, Signature=00";
	cr_assert_neq(refused(&r, SUITE_SECRET, &SUITE), 0); /* no X-Amz-Date */
	cr_assert_eq(error, &CTL_AWS_INCOMPLETE_SIGNATURE);
}
