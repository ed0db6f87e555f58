/*
 * busbar-control's side of SNS signatures (control/ctl_http.h): GET /sns-signing.pem is the
 * certificate route, and what it serves is read from busbard's file only when that file is
 * one whole PEM certificate.
 *
 * Proves: the route is GET on exactly that path; a certificate file is read byte for byte;
 * a missing file is -ENOENT (busbard has not made it yet), a file cut short, a private key,
 * a certificate with a key after it (or between two), an empty file or a directory are -EUCLEAN, and a file
 * over the limit is -EFBIG, so nothing but a certificate ever leaves through the route.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_http.h"

static char dir[] = "/tmp/bb_test_ctl_cert_XXXXXX";
static char file[sizeof(dir) + 32];

static const char cert[] = "-----BEGIN CERTIFICATE-----\n"
                           "MIIDFzCCAf+gAwIBAgIIQ2VydGlmaWNhdGUwDQYJKoZIhvcNAQELBQAwLTEPMA0G\n"
                           "-----END CERTIFICATE-----\n";
static const char key[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
                          "-----END PRIVATE KEY-----\n";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/sns-signing.pem", dir);
}

static void teardown(void)
{
	unlink(file);
	rmdir(file);
	rmdir(dir);
}

TestSuite(signing_cert, .init = setup, .fini = teardown);

static void put(const char *text, size_t bytes)
{
	FILE *f = fopen(file, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, bytes, f), bytes);
	fclose(f);
}

static int read_back(char *out, size_t capacity, size_t *length)
{
	return ctl_http_read_signing_cert(file, out, capacity, length);
}

Test(signing_cert, the_route_is_get_on_its_path)
{
	cr_assert_eq(ctl_http_route("GET", CTL_SIGNING_CERT_URL_PATH), CTL_ROUTE_SIGNING_CERT);
	cr_assert_eq(ctl_http_route("GET", "/sns-signing.pem"), CTL_ROUTE_SIGNING_CERT);
	cr_assert_eq(ctl_http_route("POST", "/sns-signing.pem"), CTL_ROUTE_NOT_FOUND);
	cr_assert_eq(ctl_http_route("GET", "/sns-signing.key"), CTL_ROUTE_NOT_FOUND);
	cr_assert_eq(ctl_http_route("GET", "/sns-signing.pem/x"), CTL_ROUTE_NOT_FOUND);
}

Test(signing_cert, a_certificate_is_read_as_it_is)
{
	put(cert, strlen(cert));
	static char out[CTL_SIGNING_CERT_BYTES_MAX];
	size_t length = 0;
	cr_assert_eq(read_back(out, sizeof(out), &length), 0);
	cr_assert_eq(length, strlen(cert));
	cr_assert_arr_eq(out, cert, length);
}

Test(signing_cert, only_a_whole_certificate_is_served)
{
	static char out[CTL_SIGNING_CERT_BYTES_MAX];
	size_t length = 0;
	cr_assert_eq(read_back(out, sizeof(out), &length), -ENOENT, "not made yet");
	put(cert, strlen(cert) - 10);
	cr_assert_eq(read_back(out, sizeof(out), &length), -EUCLEAN, "cut short");
	put(key, strlen(key));
	cr_assert_eq(read_back(out, sizeof(out), &length), -EUCLEAN, "a private key");
	char both[sizeof(cert) + sizeof(key)];
	snprintf(both, sizeof(both), "%s%s", cert, key);
	put(both, strlen(both));
	cr_assert_eq(read_back(out, sizeof(out), &length), -EUCLEAN, "a key after it");
	char three[2 * sizeof(cert) + sizeof(key)];
	snprintf(three, sizeof(three), "%s%s%s", cert, key, cert);
	put(three, strlen(three));
	cr_assert_eq(read_back(out, sizeof(out), &length), -EUCLEAN, "a key between two");
	put("", 0);
	cr_assert_eq(read_back(out, sizeof(out), &length), -EUCLEAN, "empty");
	put(cert, strlen(cert));
	cr_assert_eq(read_back(out, strlen(cert) - 1, &length), -EFBIG, "over the capacity");
	unlink(file);
	cr_assert_eq(mkdir(file, 0700), 0);
	cr_assert_eq(read_back(out, sizeof(out), &length), -EUCLEAN, "a directory");
}
