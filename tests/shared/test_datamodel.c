/* SPDX-License-Identifier: ISC */
/*
 * data-model-fixtures.json (read in place): every cbor_base64 must pass the
 * strict reader, convert to exactly the given atproto JSON (compared as
 * JSON), hash to the given CID, and that CID must round-trip as a string.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "atjson.h"
#include "buf.h"
#include "cbor.h"
#include "cid.h"
#include "util.h"

static const char *
fixtures_dir(void)
{
	const char	*d;

	d = getenv("FIXTURES_DIR");
	return d != NULL && *d != '\0' ? d : "../shared/fixtures";
}

static json_t *
load_fixtures(void)
{
	char		 path[512];
	json_error_t	 jerr;
	json_t		*root;

	snprintf(path, sizeof(path),
	    "%s/atproto-interop/data-model-fixtures.json", fixtures_dir());
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		print_message("fixture %s absent or unreadable (%s): "
		    "skipping\n", path, jerr.text);
		skip();
	}
	assert_true(json_is_array(root));
	return root;
}

/* Decodes standard base64 with or without padding; returns the length or
 * -1. The test's own decoder, independent of the writer under test. */
static int
b64_decode(const char *s, uint8_t *out, size_t cap)
{
	static const char	alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*p;
	uint32_t		 acc = 0;
	size_t			 n = 0;
	int			 bits = 0;

	for (; *s != '\0' && *s != '='; s++) {
		if ((p = strchr(alpha, *s)) == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(p - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)n;
}

static void
test_datamodel_fixtures_decode_to_json(void **state)
{
	json_t		*root, *ent, *want, *got;
	json_error_t	 jerr;
	struct atc_buf	 b;
	uint8_t		 cbor[4096];
	char		 err[ATC_ERRLEN];
	size_t		 i;
	int		 n;

	root = load_fixtures();
	assert_true(json_array_size(root) >= 3);
	atc_buf_init(&b, 0);
	json_array_foreach(root, i, ent) {
		n = b64_decode(json_string_value(json_object_get(ent,
		    "cbor_base64")), cbor, sizeof(cbor));
		assert_true(n > 0);
		atc_buf_reset(&b);
		if (atc_atjson_write(&b, cbor, (size_t)n, 0, err,
		    sizeof(err)) == -1)
			fail_msg("fixture %zu: %s", i, err);
		if ((got = json_loads(atc_buf_cstr(&b), 0, &jerr)) == NULL)
			fail_msg("fixture %zu: output is not JSON (%s): %s", i,
			    jerr.text, atc_buf_cstr(&b));
		want = json_object_get(ent, "json");
		if (!json_equal(got, want))
			fail_msg("fixture %zu: got %s", i, atc_buf_cstr(&b));
		json_decref(got);
	}
	atc_buf_cleanup(&b);
	json_decref(root);
}

static void
test_datamodel_fixtures_hash_to_cid(void **state)
{
	json_t		*root, *ent;
	uint8_t		 cbor[4096], cid[ATC_CID_SHA256_LEN];
	uint8_t		 parsed[ATC_CID_MAXLEN];
	char		 str[ATC_CID_STRLEN], err[ATC_ERRLEN];
	const char	*want;
	size_t		 i, plen;
	int		 n;

	root = load_fixtures();
	json_array_foreach(root, i, ent) {
		n = b64_decode(json_string_value(json_object_get(ent,
		    "cbor_base64")), cbor, sizeof(cbor));
		assert_true(n > 0);
		want = json_string_value(json_object_get(ent, "cid"));
		assert_non_null(want);
		atc_cid_compute(cid, ATC_CID_CODEC_DAGCBOR, cbor, (size_t)n);
		assert_true(atc_cid_format(str, sizeof(str), cid, sizeof(cid),
		    err, sizeof(err)) > 0);
		assert_string_equal(str, want);
		assert_int_equal(atc_cid_from_string(parsed, sizeof(parsed),
		    &plen, want, strlen(want), err, sizeof(err)), 0);
		assert_memory_equal(parsed, cid, sizeof(cid));
		assert_int_equal(atc_cid_verify(parsed, plen, cbor, (size_t)n,
		    err, sizeof(err)), 0);
		/* One flipped byte of the block must fail verification. */
		cbor[n - 1] ^= 1;
		assert_int_equal(atc_cid_verify(parsed, plen, cbor, (size_t)n,
		    err, sizeof(err)), -1);
	}
	json_decref(root);
}

static void
test_datamodel_fixtures_are_strict_dagcbor(void **state)
{
	json_t	*root, *ent;
	uint8_t	 cbor[4096];
	char	 err[ATC_ERRLEN];
	size_t	 i;
	int	 n;

	root = load_fixtures();
	json_array_foreach(root, i, ent) {
		n = b64_decode(json_string_value(json_object_get(ent,
		    "cbor_base64")), cbor, sizeof(cbor));
		if (atc_cbor_validate(cbor, (size_t)n, 0, err,
		    sizeof(err)) == -1)
			fail_msg("fixture %zu: %s", i, err);
		/* Every strict prefix is truncated, never a crash. */
		while (--n > 0)
			assert_int_equal(atc_cbor_validate(cbor, (size_t)n, 0,
			    err, sizeof(err)), -1);
	}
	json_decref(root);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_datamodel_fixtures_decode_to_json),
		cmocka_unit_test(test_datamodel_fixtures_hash_to_cid),
		cmocka_unit_test(test_datamodel_fixtures_are_strict_dagcbor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
