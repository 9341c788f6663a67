/* SPDX-License-Identifier: ISC */
/*
 * CID binary <-> string and hash verification: known vectors from the
 * interop fixtures, every rejection path, and a hash mismatch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cid.h"
#include "crypto_hash.h"
#include "util.h"

static const char	link_str[] =
    "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a";
static const char	blob_str[] =
    "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity";

static void
test_cid_string_round_trip(void **state)
{
	const char	*v[] = { link_str, blob_str };
	uint8_t		 bin[ATC_CID_MAXLEN];
	char		 str[ATC_CID_STRLEN], err[ATC_ERRLEN];
	struct atc_cid	 c;
	size_t		 n, i;

	for (i = 0; i < ATC_NELEM(v); i++) {
		assert_int_equal(atc_cid_from_string(bin, sizeof(bin), &n,
		    v[i], strlen(v[i]), err, sizeof(err)), 0);
		assert_int_equal(n, ATC_CID_SHA256_LEN);
		assert_int_equal(atc_cid_parse(&c, bin, n, err, sizeof(err)),
		    0);
		assert_int_equal(c.codec, i == 0 ? ATC_CID_CODEC_DAGCBOR :
		    ATC_CID_CODEC_RAW);
		assert_int_equal(c.hash, ATC_CID_HASH_SHA256);
		assert_int_equal(c.digest_len, 32);
		assert_int_equal(atc_cid_format(str, sizeof(str), bin, n, err,
		    sizeof(err)), (int)strlen(v[i]));
		assert_string_equal(str, v[i]);
	}
}

static void
test_cid_rejects_bad_strings(void **state)
{
	static const char *const	bad[] = {
		"",
		"b",
		"Bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a",
		"zafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a",
		"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2A",
		"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2",
		"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2b",
		"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2aaa",
		"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludir=2a",
		"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
		".",
	};
	uint8_t	bin[ATC_CID_MAXLEN];
	char	err[ATC_ERRLEN];
	size_t	n, i;

	for (i = 0; i < ATC_NELEM(bad); i++) {
		err[0] = '\0';
		if (atc_cid_from_string(bin, sizeof(bin), &n, bad[i],
		    strlen(bad[i]), err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(strncmp(err, "cid: ", 5) == 0);
	}
}

static void
test_cid_rejects_bad_binary(void **state)
{
	static const uint8_t	v0[] = { 0x12, 0x20, 1, 2, 3 };
	static const uint8_t	v2[] = { 0x02, 0x71, 0x12, 0x01, 0x00 };
	static const uint8_t	nonmin[] = { 0x81, 0x00, 0x71, 0x12, 0x01,
				    0x00 };
	static const uint8_t	short_digest[] = { 0x01, 0x71, 0x12, 0x20,
				    0x00 };
	static const uint8_t	sha_len[] = { 0x01, 0x71, 0x12, 0x01, 0x00 };
	static const uint8_t	huge[] = { 0x01, 0x71, 0x13, 0x7f };
	uint8_t			trailing[ATC_CID_SHA256_LEN + 1];
	char			err[ATC_ERRLEN];

	assert_int_equal(atc_cid_parse(NULL, v0, sizeof(v0), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cid: version 0 not supported");
	assert_int_equal(atc_cid_parse(NULL, v2, sizeof(v2), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cid: version 2 not supported");
	assert_int_equal(atc_cid_parse(NULL, nonmin, sizeof(nonmin), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cid: bad version varint");
	assert_int_equal(atc_cid_parse(NULL, short_digest,
	    sizeof(short_digest), err, sizeof(err)), -1);
	assert_string_equal(err, "cid: truncated digest");
	assert_int_equal(atc_cid_parse(NULL, sha_len, sizeof(sha_len), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cid: sha2-256 digest of 1 bytes");
	assert_int_equal(atc_cid_parse(NULL, huge, sizeof(huge), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cid: longer than 100 bytes");
	atc_cid_compute(trailing, ATC_CID_CODEC_DAGCBOR, (const uint8_t *)"x",
	    1);
	trailing[ATC_CID_SHA256_LEN] = 0;
	assert_int_equal(atc_cid_parse(NULL, trailing, sizeof(trailing), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cid: 1 trailing bytes");
	assert_int_equal(atc_cid_read(NULL, trailing, sizeof(trailing), err,
	    sizeof(err)), 0);
}

static void
test_cid_verify_detects_mismatch(void **state)
{
	static const uint8_t	block[] = { 0xa1, 0x61, 'a', 0x01 };
	uint8_t			cid[ATC_CID_SHA256_LEN], other[4];
	char			err[ATC_ERRLEN];

	atc_cid_compute(cid, ATC_CID_CODEC_DAGCBOR, block, sizeof(block));
	assert_int_equal(atc_cid_verify(cid, sizeof(cid), block,
	    sizeof(block), err, sizeof(err)), 0);
	memcpy(other, block, sizeof(other));
	other[3] = 0x02;
	assert_int_equal(atc_cid_verify(cid, sizeof(cid), other,
	    sizeof(other), err, sizeof(err)), -1);
	assert_string_equal(err, "cid: hash mismatch");
	cid[2] = 0x13;		/* sha2-512 code with a 32-byte digest */
	assert_int_equal(atc_cid_verify(cid, sizeof(cid), block,
	    sizeof(block), err, sizeof(err)), -1);
	assert_string_equal(err, "cid: unsupported multihash 0x13");
}

static void
test_cid_sha256_known_vector(void **state)
{
	static const uint8_t	want[ATC_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
		0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
		0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
		0x15, 0xad,
	};
	uint8_t			got[ATC_SHA256_LEN];

	atc_sha256(got, "abc", 3);
	assert_memory_equal(got, want, sizeof(want));
}

static void
test_cid_format_checks_capacity(void **state)
{
	uint8_t	bin[ATC_CID_MAXLEN];
	char	str[20], err[ATC_ERRLEN];
	size_t	n;

	assert_int_equal(atc_cid_from_string(bin, sizeof(bin), &n, link_str,
	    strlen(link_str), err, sizeof(err)), 0);
	assert_int_equal(atc_cid_format(str, sizeof(str), bin, n, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cid: string buffer too small");
	assert_int_equal(atc_cid_from_string(bin, 10, &n, link_str,
	    strlen(link_str), err, sizeof(err)), -1);
	assert_string_equal(err, "cid: longer than 10 bytes");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_cid_string_round_trip),
		cmocka_unit_test(test_cid_rejects_bad_strings),
		cmocka_unit_test(test_cid_rejects_bad_binary),
		cmocka_unit_test(test_cid_verify_detects_mismatch),
		cmocka_unit_test(test_cid_sha256_known_vector),
		cmocka_unit_test(test_cid_format_checks_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
