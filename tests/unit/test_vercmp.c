/* test_vercmp.c - dkms's VER() padding and ordering. */
#include <stdlib.h>

#include "common/vercmp.h"
#include "tap.h"

static void check_ver(const char *in, const char *want)
{
	char *got = dkms_ver(in);
	CHECK_STR(got, want);
	free(got);
}

static void test_ver(void)
{
	check_ver("2.6.9-1cvs200409091247", "002.006.009-001cvs200409091247");
	check_ver("6.1.0-56-amd64", "006.001.000-056-amd064");
	check_ver("6.1.0-56-cloud-amd64", "006.001.000-056-cloud-amd064");
	check_ver("5.15", "005.015");
	check_ver("1000", "1000");
	check_ver("", "");
	check_ver("abc", "abc");
	check_ver("v1.2rc3", "v001.002rc003");
	check_ver("a b", "ab");
	check_ver("12.345", "012.345");
}

static void test_order(void)
{
	CHECK(dkms_vercmp("6.1.0-56-amd64", "6.1.0-56-amd64") == 0);
	CHECK(dkms_vercmp("6.1.0-56-amd64", "6.5") < 0);
	CHECK(dkms_vercmp("6.10", "6.9") > 0);
	CHECK(dkms_vercmp("6.1", "6.1.0") < 0);
	CHECK(dkms_vercmp("5.15.0-100-generic", "5.15.0-99-generic") > 0);
	CHECK(dkms_vercmp("6.1.0-56-amd64", "6.1.0-56-cloud-amd64") < 0);
	CHECK(dkms_vercmp("4.19", "5.0") < 0);
	/* dkms's quirk: runs of three or more digits are not padded further. */
	CHECK(dkms_vercmp("1000", "999") < 0);
	CHECK(dkms_vercmp("6.1-1", "6.1.1") < 0);
}

int main(void)
{
	test_ver();
	test_order();
	return tap_done();
}
