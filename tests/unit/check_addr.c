/* check_addr.c: unit tests for address parsing and printing. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"

static const struct {
	const char *in;
	const char *out; /* canonical text */
	int v4;
	uint8_t b[16];
} good[] = {
    {"100.64.0.1", "100.64.0.1", 1, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 64, 0, 1}},
    {"100.64.0.1/32", "100.64.0.1", 1, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 64, 0, 1}},
    {"100.127.255.254",
     "100.127.255.254",
     1,
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 127, 255, 254}},
    {"0.0.0.0", "0.0.0.0", 1, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}},
    {"255.255.255.255",
     "255.255.255.255",
     1,
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255}},
    {"::ffff:100.64.0.1",
     "100.64.0.1",
     1,
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 64, 0, 1}},
    {"fd7a:115c:a1e0::1",
     "fd7a:115c:a1e0::1",
     0,
     {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"fd7a:115c:a1e0::1/128",
     "fd7a:115c:a1e0::1",
     0,
     {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"FD7A:115C:A1E0:0:0:0:0:1",
     "fd7a:115c:a1e0::1",
     0,
     {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"fd7a:115c:a1e0:ab12:4843:cd96:6258:b240",
     "fd7a:115c:a1e0:ab12:4843:cd96:6258:b240",
     0,
     {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0xab, 0x12, 0x48, 0x43, 0xcd, 0x96, 0x62, 0x58, 0xb2,
      0x40}},
    {"::1", "::1", 0, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"::", "::", 0, {0}},
    {"2001:db8:0:0:1:0:0:1",
     "2001:db8::1:0:0:1",
     0,
     {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1}},
};

static const char *bad[] = {
    "",
    " 100.64.0.1",
    "100.64.0.1 ",
    "100.64.0.1\n",
    "100.64.0.1/24",
    "100.64.0.1/",
    "100.64.0.1/128",
    "100.64.0.1/032",
    "100.64.0.1/32/32",
    "100.64.0.1/32 ",
    "/32",
    "fd7a::1/64",
    "fd7a::1/32",
    "fd7a::1/128x",
    "fd7a::1/",
    "::ffff:100.64.0.1/32",
    "100.64.0",
    "100.64.0.256",
    "100.64.0.1.2",
    "100.64.0.-1",
    "fd7a::1%eth0",
    "fd7a:::1",
    "fd7a::1::2",
    "1:2:3:4:5:6:7:8:9",
    "abc",
    "localhost",
    "0x64.0.0.1",
    "[fd7a::1]",
    "100.64.0.1:80",
    "100,64,0,1",
    "１００.64.0.1",
    "0000000000000000000000000000000000000000000000000000000000000000000000100.64.0.1",
};

START_TEST(test_good)
{
	struct tsaddr a;
	char buf[ADDR_STRLEN];

	memset(&a, 0xaa, sizeof a);
	ck_assert_msg(addr_parse(good[_i].in, &a) == 0, "rejected %s", good[_i].in);
	ck_assert_mem_eq(a.b, good[_i].b, 16);
	ck_assert_int_eq(addr_is_v4(&a), good[_i].v4);
	addr_format(&a, buf, sizeof buf);
	ck_assert_str_eq(buf, good[_i].out);
}
END_TEST

START_TEST(test_bad)
{
	struct tsaddr a, before;

	memset(&a, 0xaa, sizeof a);
	before = a;
	ck_assert_msg(addr_parse(bad[_i], &a) == -1, "accepted \"%s\"", bad[_i]);
	ck_assert_mem_eq(a.b, before.b, 16);
}
END_TEST

START_TEST(test_null_and_long)
{
	struct tsaddr a;
	char longs[300];

	ck_assert_int_eq(addr_parse(NULL, &a), -1);
	memset(longs, '1', sizeof longs - 1);
	longs[sizeof longs - 1] = '\0';
	ck_assert_int_eq(addr_parse(longs, &a), -1);
	/* Longest real text: a full IPv6 address with an embedded IPv4 part and /128. */
	ck_assert_int_eq(addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", &a), 0);
	ck_assert_int_eq(addr_is_v4(&a), 0);
}
END_TEST

START_TEST(test_format_small)
{
	struct tsaddr a;
	char buf[6] = "xxxxx", one[1] = {'x'};

	ck_assert_int_eq(addr_parse("100.64.0.1", &a), 0);
	addr_format(&a, buf, sizeof buf);
	ck_assert_str_eq(buf, "100.6");
	addr_format(&a, one, 0);
	ck_assert_int_eq(one[0], 'x');
	addr_format(&a, one, 1);
	ck_assert_int_eq(one[0], '\0');
}
END_TEST

/* Any 16 bytes print as text that parses back to the same bytes. */
START_TEST(test_roundtrip)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct tsaddr a, back;
	char buf[ADDR_STRLEN];
	int i, j;

	for (i = 0; i < 20000; i++) {
		for (j = 0; j < 16; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			a.b[j] = (uint8_t)x;
		}
		/* Runs of zeros and the IPv4-mapped prefix, which random bytes rarely give. */
		if (i % 3 == 1)
			memset(a.b + (i % 7), 0, (size_t)(i % 9));
		if (i % 5 == 2) {
			memset(a.b, 0, 10);
			a.b[10] = a.b[11] = 0xff;
		}
		addr_format(&a, buf, sizeof buf);
		ck_assert_msg(addr_parse(buf, &back) == 0, "rejected own output %s", buf);
		ck_assert_mem_eq(a.b, back.b, 16);
		ck_assert_int_eq(addr_is_v4(&a), addr_is_v4(&back));
		if (addr_is_v4(&a))
			ck_assert_ptr_null(strchr(buf, ':'));
	}
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");

	tcase_add_loop_test(tc, test_good, 0, sizeof good / sizeof good[0]);
	tcase_add_loop_test(tc, test_bad, 0, sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, test_null_and_long);
	tcase_add_test(tc, test_format_small);
	tcase_add_test(tc, test_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
