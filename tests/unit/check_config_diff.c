/* check_config_diff.c: unit tests for what a reload sees changed between two configurations. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-diff.h"

static char tmpdir[] = "/tmp/check_config_diff.XXXXXX";

/* Loads TEXT (with each "%D" the temporary directory) from a file; fails the test on an error. */
static struct config *
load(const char *text)
{
	static int n;
	char *path, *errors = NULL;
	struct config *cf;
	FILE *f;

	ck_assert_int_ne(asprintf(&path, "%s/c%d.conf", tmpdir, n++), -1);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (const char *p = text; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'D') {
			fputs(tmpdir, f);
			p++;
		} else
			fputc(*p, f);
	}
	ck_assert_int_eq(fclose(f), 0);
	cf = config_load(path, &errors);
	if (cf == NULL)
		ck_abort_msg("%s", errors);
	free(path);
	return cf;
}

#define BASE                                                                                       \
	"[daemon]\nstate_dir = %D/state\nsocket = %D/s.sock\n"                                     \
	"[tailnet a]\napi_url = http://127.0.0.1:1\napi_key_file = %D/k\npoll_interval = 1h\n"     \
	"[hook h]\nexec = /bin/true\n"

static void
expect(const char *old_text, const char *new_text, const char *summary, const char *restart)
{
	struct config *old = load(old_text), *new = load(new_text);
	char *s = config_diff_summary(old, new), *r = config_diff_restart(old, new);

	ck_assert_str_eq(s, summary);
	if (restart == NULL)
		ck_assert_ptr_null(r);
	else
		ck_assert_str_eq(r, restart);
	free(s);
	free(r);
	config_free(old);
	config_free(new);
}

START_TEST(test_no_change)
{
	/* Comments and blank lines move the sections: the lines do not count. */
	expect(BASE, "# moved\n\n" BASE, "no change", NULL);
}
END_TEST

START_TEST(test_tailnets_and_hooks)
{
	expect(BASE,
	       BASE "[tailnet b]\napi_url = http://127.0.0.1:2\napi_key_file = %D/k\n"
	            "[hook g]\nexec = /bin/true\n",
	       "tailnet b added, hook g added", NULL);
	expect(BASE "[tailnet b]\napi_url = http://127.0.0.1:2\napi_key_file = %D/k\n",
	       "[daemon]\nstate_dir = %D/state\nsocket = %D/s.sock\n"
	       "[tailnet b]\napi_url = http://127.0.0.1:2\napi_key_file = %D/k\n",
	       "tailnet a removed, hook h removed", NULL);
	expect(BASE,
	       "[daemon]\nstate_dir = %D/state\nsocket = %D/s.sock\n"
	       "[tailnet a]\napi_url = http://127.0.0.1:1\napi_key_file = %D/k\n"
	       "poll_interval = 5m\nmax_response = 1M\n"
	       "[hook h]\nexec = /bin/true\nevents = device.*\n",
	       "tailnet a: poll_interval, max_response changed, hook h: events changed", NULL);
}
END_TEST

START_TEST(test_restart_keys)
{
	expect(
	    BASE,
	    "[daemon]\nstate_dir = %D/other\nsocket = %D/s.sock\nlog_level = debug\n"
	    "admin_group = root\n"
	    "[tailnet a]\napi_url = http://127.0.0.1:1\napi_key_file = %D/k\npoll_interval = 1h\n"
	    "[hook h]\nexec = /bin/true\n",
	    "log_level changed", "state_dir, admin_group");
}
END_TEST

START_TEST(test_keep_restart)
{
	struct config *old = load(BASE),
	              *new = load("[daemon]\nstate_dir = %D/other\nsocket = %D/s.sock\n"
	                          "admin_group = root\nmax_clients = 7\nlog_level = debug\n"
	                          "[tailnet a]\napi_url = http://127.0.0.1:1\n"
	                          "api_key_file = %D/k\n");
	char *r;

	struct config *base = load(BASE);

	config_keep_restart(new, old);
	/* NEW now runs as BASE does, in every key a restart applies. */
	r = config_diff_restart(base, new);
	ck_assert_ptr_null(r);
	config_free(base);
	ck_assert_ptr_null(new->admin_group);
	ck_assert_str_eq(old->admin_group, "root");
	ck_assert_int_eq(old->max_clients, 7);
	ck_assert_int_eq(new->verbose, 1); /* log_level applies: it stays */
	ck_assert(strstr(new->state_dir, "/state") != NULL);
	config_free(old);
	config_free(new);
}
END_TEST

START_TEST(test_rebuild)
{
	struct config *a = load(BASE), *b = load(BASE);

	ck_assert(config_tailnet_equal(&a->tailnets[0], &b->tailnets[0]));
	ck_assert(!config_tailnet_rebuild(&a->tailnets[0], &b->tailnets[0]));
	/* Timers and transfers stay for a new interval; not for another server or endpoints. */
	b->tailnets[0].poll_interval = 60000000;
	ck_assert(!config_tailnet_equal(&a->tailnets[0], &b->tailnets[0]));
	ck_assert(!config_tailnet_rebuild(&a->tailnets[0], &b->tailnets[0]));
	b->tailnets[0].endpoints = 1;
	ck_assert(config_tailnet_rebuild(&a->tailnets[0], &b->tailnets[0]));
	ck_assert(config_netbox_equal(&a->netbox, &b->netbox));
	ck_assert(config_hook_equal(&a->hooks[0], &b->hooks[0]));
	b->hooks[0].timeout++;
	ck_assert(!config_hook_equal(&a->hooks[0], &b->hooks[0]));
	config_free(a);
	config_free(b);
}
END_TEST

START_TEST(test_netbox)
{
	expect(BASE, BASE "[netbox]\nvrf = a:blue\n", "[netbox] changed", NULL);
}
END_TEST

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static Suite *
config_diff_suite(void)
{
	Suite *s = suite_create("config_diff");
	TCase *tc = tcase_create("diff");

	tcase_add_test(tc, test_no_change);
	tcase_add_test(tc, test_tailnets_and_hooks);
	tcase_add_test(tc, test_restart_keys);
	tcase_add_test(tc, test_keep_restart);
	tcase_add_test(tc, test_rebuild);
	tcase_add_test(tc, test_netbox);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	sr = srunner_create(config_diff_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
