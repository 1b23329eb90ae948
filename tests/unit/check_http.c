/* check_http.c: unit tests for the daemon's shared transfer set-up and its error texts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

static const struct http_limits lim = {
    .url = "https://api.example.com",
    .connect_timeout = 10000000,
    .request_timeout = 60000000,
    .max_response = 4096,
};

START_TEST(test_easy)
{
	struct http_rx rx = {0};
	int owner = 0;
	char *priv = NULL;
	CURL *e;

	sbuf_adds(&rx.body, "left from the last transfer");
	rx.too_big = 1;
	e = http_easy(&lim, "https://api.example.com/x", &owner, &rx);
	ck_assert_ptr_nonnull(e);
	/* The answer starts empty, with the service's cap. */
	ck_assert_uint_eq(rx.body.len, 0);
	ck_assert_int_eq(rx.too_big, 0);
	ck_assert_uint_eq(rx.max, 4096);
	ck_assert_int_eq(curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv), CURLE_OK);
	ck_assert_ptr_eq(priv, (char *)&owner);
	curl_easy_cleanup(e);
	http_rx_free(&rx);
}
END_TEST

START_TEST(test_error)
{
	struct http_rx rx = {.max = 4096};
	char *s;

	ck_assert_ptr_null(http_error(&lim, CURLE_OK, &rx));
	rx.too_big = 1;
	s = http_error(&lim, CURLE_WRITE_ERROR, &rx);
	ck_assert_str_eq(s, "answer larger than max_response (4096 bytes)");
	free(s);
	rx.too_big = 0;
	s = http_error(&lim, CURLE_FILESIZE_EXCEEDED, &rx);
	ck_assert_str_eq(s, "answer larger than max_response (4096 bytes)");
	free(s);
	strcpy(rx.errbuf, "Operation timed out after 60000 milliseconds");
	s = http_error(&lim, CURLE_OPERATION_TIMEDOUT, &rx);
	ck_assert_str_eq(s, "no answer within request_timeout (Operation timed out after 60000 "
	                    "milliseconds)");
	free(s);
	/* curl's own words, or its generic text when it wrote none. */
	strcpy(rx.errbuf, "Could not resolve host: nowhere");
	s = http_error(&lim, CURLE_COULDNT_RESOLVE_HOST, &rx);
	ck_assert_str_eq(s, "Could not resolve host: nowhere");
	free(s);
	rx.errbuf[0] = '\0';
	s = http_error(&lim, CURLE_COULDNT_CONNECT, &rx);
	ck_assert_str_eq(s, curl_easy_strerror(CURLE_COULDNT_CONNECT));
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_add_test(tc, test_easy);
	tcase_add_test(tc, test_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed != 0;
}
