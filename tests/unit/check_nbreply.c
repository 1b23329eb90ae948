/* check_nbreply.c: unit tests for NetBox's error answers as people read them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nbreply.h"

static void
expect(long status, const char *body, const char *text)
{
	json_t *j = body != NULL ? json_loads(body, 0, NULL) : NULL;
	char *s;

	ck_assert(body == NULL || j != NULL);
	s = nbreply_error(status, j);
	ck_assert_str_eq(s, text);
	free(s);
	json_decref(j);
}

START_TEST(test_fields)
{
	/* DRF's lists of messages, field by field. */
	expect(400,
	       "{\"address\":[\"Duplicate IP address found in VRF ts: 100.64.0.1/32\"],"
	       "\"status\":[\"\\\"x\\\" is not a valid choice.\"]}",
	       "HTTP 400 (NetBox refused the data): address: Duplicate IP address found in VRF "
	       "ts: 100.64.0.1/32; status: \"x\" is not a valid choice.");
	/* A custom field NetBox lacks: a nested object (extras/api/customfields.py). */
	expect(400,
	       "{\"custom_fields\":{\"last_seen\":\"Custom field 'last_seen' does not exist for "
	       "this object type.\"}}",
	       "HTTP 400 (NetBox refused the data): custom_fields: last_seen: Custom field "
	       "'last_seen' does not exist for this object type.");
	/* A bulk create: one object per item, only the failed ones named. */
	expect(400, "[{}, {\"dns_name\":[\"bad\"]}]",
	       "HTTP 400 (NetBox refused the data): item 2: dns_name: bad");
	/* detail and non_field_errors carry no field name. */
	expect(403, "{\"detail\":\"Invalid v1 token\"}",
	       "HTTP 403 (the token was refused, or may not do this): Invalid v1 token");
	expect(500, "{\"error\":\"boom\",\"exception\":\"X\"}",
	       "HTTP 500 (NetBox server error): boom");
	expect(404, NULL, "HTTP 404 (not found: is url NetBox's base URL?)");
}
END_TEST

START_TEST(test_clean)
{
	char body[1200], want[600];
	json_t *j;
	char *s;

	/* Control characters become spaces; a long message stops before a whole character. */
	strcpy(body, "{\"detail\":\"a\\nb");
	for (int i = 0; i < 300; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}");
	j = json_loads(body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	s = nbreply_error(418, j);
	strcpy(want, "HTTP 418 (unexpected answer): a b");
	for (int i = 0; i < 198; i++)
		strcat(want, "\xc3\xa9");
	ck_assert_str_eq(s, want);
	free(s);
	json_decref(j);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("nbreply");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_clean);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
