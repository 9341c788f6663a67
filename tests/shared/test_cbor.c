/* SPDX-License-Identifier: ISC */
/*
 * The strict DAG-CBOR reader against hostile inputs (one rule per test,
 * each asserting the rule's name and the byte offset in the error) and the
 * atproto JSON writer on hand-made values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "atjson.h"
#include "buf.h"
#include "cbor.h"
#include "util.h"

/* Validates data and returns its error ("" when valid). */
static const char *
check(const uint8_t *data, size_t len)
{
	static char	err[ATC_ERRLEN];

	err[0] = '\0';
	if (atc_cbor_validate(data, len, 0, err, sizeof(err)) == 0)
		return "";
	assert_true(err[0] != '\0');
	return err;
}

#define REJECT(bytes, want) do {					\
	static const uint8_t	in_[] = bytes;				\
	const char		*e_ = check(in_, sizeof(in_));		\
	if (strstr(e_, want) == NULL)					\
		fail_msg("want \"%s\", got \"%s\"", want, e_);		\
} while (0)
#define ACCEPT(bytes) do {						\
	static const uint8_t	in_[] = bytes;				\
	const char		*e_ = check(in_, sizeof(in_));		\
	if (*e_ != '\0')						\
		fail_msg("unexpected error \"%s\"", e_);		\
} while (0)
#define B(...)	{ __VA_ARGS__ }

static void
test_cbor_accepts_canonical_values(void **state)
{
	ACCEPT(B(0x00));
	ACCEPT(B(0x17));
	ACCEPT(B(0x18, 0x18));
	ACCEPT(B(0x19, 0x01, 0x00));
	ACCEPT(B(0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe));
	ACCEPT(B(0x1b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
	ACCEPT(B(0xf4));
	ACCEPT(B(0xf5));
	ACCEPT(B(0xf6));
	ACCEPT(B(0xa2, 0x61, 'a', 0x01, 0x62, 'a', 'a', 0x80));
	ACCEPT(B(0xa2, 0x61, 'b', 0x01, 0x62, 'a', 'a', 0xa0));
	ACCEPT(B(0x63, 0xe2, 0x82, 0xac));
}

static void
test_cbor_rejects_deep_nesting(void **state)
{
	uint8_t	buf[64];
	char	err[ATC_ERRLEN];

	memset(buf, 0x81, sizeof(buf));
	/* 32 nested arrays around 0 are fine, 33 are not. */
	buf[32] = 0x00;
	assert_int_equal(atc_cbor_validate(buf, 33, 0, err, sizeof(err)), 0);
	buf[32] = 0x81;
	buf[33] = 0x00;
	assert_int_equal(atc_cbor_validate(buf, 34, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "cbor: nesting depth > 32 at offset 32");
	/* Also for an empty innermost container. */
	buf[32] = 0x80;
	assert_int_equal(atc_cbor_validate(buf, 33, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nesting depth"));
	memset(buf, 0x81, sizeof(buf));
	assert_int_equal(atc_cbor_validate(buf, sizeof(buf), 100, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cbor: nesting depth > 32 at offset 132");
}

static void
test_cbor_rejects_huge_lengths(void **state)
{
	REJECT(B(0x5a, 0xff, 0xff, 0xff, 0xff, 0x00),
	    "string length 4294967295 exceeds input at offset 0");
	REJECT(B(0x7b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	    "exceeds input at offset 0");
	REJECT(B(0x9a, 0x00, 0x02, 0x00, 0x01), "container length 131073 > "
	    "131072 at offset 0");
	REJECT(B(0xba, 0x7f, 0xff, 0xff, 0xff), "container length");
	REJECT(B(0x99, 0x10, 0x00, 0x00), "container length 4096 exceeds "
	    "input");
	REJECT(B(0x81, 0x59, 0x10, 0x00, 0x00), "exceeds input at offset 1");
}

static void
test_cbor_rejects_truncated(void **state)
{
	REJECT(B(0x82, 0x61, 'a'), "truncated input at offset 3");
	REJECT(B(0x82, 0x01), "container length 2 exceeds input at offset 0");
	REJECT(B(0x19, 0x01), "truncated head at offset 0");
	REJECT(B(0xa1, 0x61, 'a'), "truncated input at offset 3");
	REJECT(B(0x62, 'a'), "exceeds input at offset 0");
	REJECT(B(0xd8), "truncated head");
	REJECT(B(0xd8, 0x2a), "truncated tag 42");
}

static void
test_cbor_rejects_non_minimal(void **state)
{
	REJECT(B(0x18, 0x17), "non-minimal integer or length at offset 0");
	REJECT(B(0x19, 0x00, 0xff), "non-minimal");
	REJECT(B(0x1a, 0x00, 0x00, 0xff, 0xff), "non-minimal");
	REJECT(B(0x1b, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff),
	    "non-minimal");
	REJECT(B(0x38, 0x00), "non-minimal");
	REJECT(B(0x81, 0x78, 0x01, 'a'), "non-minimal integer or length at "
	    "offset 1");
	REJECT(B(0x98, 0x01, 0x00), "non-minimal");
	REJECT(B(0xb8, 0x00), "non-minimal");
}

static void
test_cbor_rejects_out_of_range_ints(void **state)
{
	REJECT(B(0x1b, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
	    "integer out of range at offset 0");
	REJECT(B(0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	    "integer out of range");
	REJECT(B(0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
	    "integer out of range");
}

static void
test_cbor_rejects_wrong_tags(void **state)
{
	REJECT(B(0xc1, 0x00), "tag 1 not allowed at offset 0");
	REJECT(B(0xd9, 0x01, 0x00, 0x00), "tag 256 not allowed");
	REJECT(B(0xd8, 0x2a, 0x61, 'a'), "tag 42 over a non-byte-string at "
	    "offset 2");
	REJECT(B(0xd8, 0x2a, 0x42, 0x01, 0x71), "without 0x00 multibase");
	REJECT(B(0xd8, 0x2a, 0x45, 0x00, 0x01, 0x71, 0x12, 0x20),
	    "invalid link (cid: truncated digest)");
	REJECT(B(0xd8, 0x2a, 0x43, 0x00, 0x12, 0x20),
	    "cid: version 0 not supported");
}

static void
test_cbor_rejects_indefinite_lengths(void **state)
{
	REJECT(B(0x9f, 0x01, 0xff), "indefinite length not allowed at offset 0");
	REJECT(B(0xbf, 0xff), "indefinite length");
	REJECT(B(0x5f, 0x41, 0x00, 0xff), "indefinite length");
	REJECT(B(0x7f, 0x61, 'a', 0xff), "indefinite length");
	REJECT(B(0x81, 0xff), "indefinite length not allowed (break) at "
	    "offset 1");
}

static void
test_cbor_rejects_floats_and_simple_values(void **state)
{
	REJECT(B(0xf9, 0x3c, 0x00), "float not allowed at offset 0");
	REJECT(B(0xfa, 0x3f, 0x80, 0x00, 0x00), "float not allowed");
	REJECT(B(0xa1, 0x61, 'a', 0xfb, 0, 0, 0, 0, 0, 0, 0, 0),
	    "float not allowed at offset 3");
	REJECT(B(0xf7), "simple value 23 not allowed");
	REJECT(B(0xf0), "simple value 16 not allowed");
	REJECT(B(0xf8, 0x20), "simple value 24 not allowed");
	REJECT(B(0x1c), "reserved additional info 28");
}

static void
test_cbor_rejects_unsorted_and_duplicate_keys(void **state)
{
	/* "b" before "a": bytewise order broken. */
	REJECT(B(0xa2, 0x61, 'b', 0x01, 0x61, 'a', 0x02),
	    "map keys not in canonical order at offset 4");
	/* "aa" before "b": length-first order broken. */
	REJECT(B(0xa2, 0x62, 'a', 'a', 0x01, 0x61, 'b', 0x02),
	    "not in canonical order at offset 5");
	REJECT(B(0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02),
	    "duplicate map key at offset 4");
	REJECT(B(0xa1, 0x01, 0x02), "map key is not a text string at offset 1");
	REJECT(B(0xa1, 0x41, 'a', 0x02), "map key is not a text string");
	/* Ordering is per map: an inner map restarts it. */
	ACCEPT(B(0xa2, 0x61, 'a', 0xa1, 0x61, 'z', 0x00, 0x61, 'b', 0x00));
}

static void
test_cbor_rejects_long_keys(void **state)
{
	struct atc_buf	b;
	char		err[ATC_ERRLEN];
	size_t		n;

	for (n = ATC_CBOR_MAXKEY; n <= ATC_CBOR_MAXKEY + 1; n++) {
		atc_buf_init(&b, 0);
		atc_buf_putc(&b, 0xa1);
		atc_buf_putc(&b, 0x79);
		atc_buf_putc(&b, (int)(n >> 8));
		atc_buf_putc(&b, (int)(n & 0xff));
		while (b.len < 4 + n)
			atc_buf_putc(&b, 'k');
		atc_buf_putc(&b, 0x00);
		if (n == ATC_CBOR_MAXKEY)
			assert_int_equal(atc_cbor_validate(b.data, b.len, 0,
			    err, sizeof(err)), 0);
		else {
			assert_int_equal(atc_cbor_validate(b.data, b.len, 0,
			    err, sizeof(err)), -1);
			assert_string_equal(err,
			    "cbor: map key length 8193 > 8192 at offset 1");
		}
		atc_buf_cleanup(&b);
	}
}

static void
test_cbor_rejects_invalid_utf8(void **state)
{
	REJECT(B(0x61, 0xff), "invalid UTF-8 in text string at offset 1");
	REJECT(B(0x62, 0xc0, 0x80), "invalid UTF-8");		/* overlong */
	REJECT(B(0x63, 0xed, 0xa0, 0x80), "invalid UTF-8");	/* surrogate */
	REJECT(B(0x64, 0xf4, 0x90, 0x80, 0x80), "invalid UTF-8"); /* > 10FFFF */
	REJECT(B(0x62, 0xe2, 0x82), "invalid UTF-8");		/* cut */
	REJECT(B(0x63, 'a', 'b', 0x80), "invalid UTF-8 in text string at "
	    "offset 3");
	/* Bytes are not text: anything goes. */
	ACCEPT(B(0x41, 0xff));
}

static void
test_cbor_rejects_trailing_and_garbage(void **state)
{
	static const uint8_t	garbage[] = "GET / HTTP/1.1\r\n\r\n";
	char			err[ATC_ERRLEN];

	REJECT(B(0x01, 0x02), "1 trailing bytes at offset 1");
	assert_int_equal(atc_cbor_validate(garbage, sizeof(garbage) - 1, 0,
	    err, sizeof(err)), -1);
	assert_int_equal(atc_cbor_validate((const uint8_t *)"", 0, 0, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated input at offset 0"));
}

static void
test_cbor_reader_reports_items(void **state)
{
	static const uint8_t	in[] = { 0xa2, 0x61, 'a', 0x38, 0x63, 0x61,
				    'b', 0x82, 0xf5, 0xf6 };
	struct atc_cbor		c;
	struct atc_cbor_item	it;
	char			err[ATC_ERRLEN];

	atc_cbor_init(&c, in, sizeof(in), 0);
	assert_int_equal(atc_cbor_read(&c, &it, err, sizeof(err)), 0);
	assert_int_equal(it.type, ATC_CBOR_MAP);
	assert_int_equal(it.count, 2);
	assert_int_equal(atc_cbor_read(&c, &it, err, sizeof(err)), 0);
	assert_true(atc_cbor_eq(&it, "a"));
	assert_int_equal(atc_cbor_read(&c, &it, err, sizeof(err)), 0);
	assert_int_equal(it.type, ATC_CBOR_INT);
	assert_int_equal(it.i, -100);
	assert_int_equal(atc_cbor_read(&c, &it, err, sizeof(err)), 0);
	assert_true(atc_cbor_eq(&it, "b"));
	assert_int_equal(it.offset, 5);
	assert_false(atc_cbor_done(&c));
	assert_int_equal(atc_cbor_skip(&c, err, sizeof(err)), 0);
	assert_true(atc_cbor_done(&c));
	assert_int_equal(atc_cbor_offset(&c), sizeof(in));
	assert_int_equal(atc_cbor_read(&c, &it, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "read past end of value"));
}

static void
test_cbor_keycmp_is_length_first(void **state)
{
	assert_true(atc_cbor_keycmp((const uint8_t *)"b", 1,
	    (const uint8_t *)"aa", 2) < 0);
	assert_true(atc_cbor_keycmp((const uint8_t *)"ab", 2,
	    (const uint8_t *)"aa", 2) > 0);
	assert_int_equal(atc_cbor_keycmp((const uint8_t *)"", 0,
	    (const uint8_t *)"", 0), 0);
}

static void
json_of(const uint8_t *in, size_t len, const char *want)
{
	struct atc_buf	b;
	char		err[ATC_ERRLEN];

	atc_buf_init(&b, 0);
	atc_buf_puts(&b, "x=");
	if (atc_atjson_write(&b, in, len, 0, err, sizeof(err)) == -1)
		fail_msg("atjson: %s", err);
	assert_string_equal(atc_buf_cstr(&b) + 2, want);
	atc_buf_cleanup(&b);
}

static void
test_cbor_atjson_writes_values(void **state)
{
	static const uint8_t	m[] = { 0xa3, 0x61, 'a', 0x80, 0x61, 'b',
				    0x83, 0x20, 0xf4, 0xf6, 0x62, 'c', 'c',
				    0xa0 };
	static const uint8_t	s[] = { 0x66, '"', '\\', '\n', 0x01, 'x',
				    0x7f };
	static const uint8_t	by[] = { 0x82, 0x41, 0xff, 0x42, 0xfb, 0xef };
	static const uint8_t	big[] = { 0x3b, 0x00, 0x1f, 0xff, 0xff,
				    0xff, 0xff, 0xff, 0xfe };
	static const uint8_t	link[] = { 0xd8, 0x2a, 0x58, 0x25, 0x00, 0x01,
				    0x71, 0x12, 0x20, 0, 0, 0, 0, 0, 0, 0, 0,
				    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	json_of(m, sizeof(m), "{\"a\":[],\"b\":[-1,false,null],\"cc\":{}}");
	json_of(s, sizeof(s), "\"\\\"\\\\\\n\\u0001x\x7f\"");
	/* Unpadded standard base64, '+' and '/' kept. */
	json_of(by, sizeof(by), "[{\"$bytes\":\"/w\"},{\"$bytes\":\"++8\"}]");
	json_of(big, sizeof(big), "-9007199254740991");
	json_of(link, sizeof(link), "{\"$link\":\"bafyreiaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
}

static void
test_cbor_atjson_restores_buffer_on_error(void **state)
{
	static const uint8_t	bad[] = { 0xa2, 0x61, 'a', 0x01, 0x61, 'a',
				    0x02 };
	struct atc_buf		b;
	char			err[ATC_ERRLEN];

	atc_buf_init(&b, 0);
	atc_buf_puts(&b, "keep");
	assert_int_equal(atc_atjson_write(&b, bad, sizeof(bad), 10, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "cbor: duplicate map key at offset 14");
	assert_string_equal(atc_buf_cstr(&b), "keep");
	atc_buf_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_cbor_accepts_canonical_values),
		cmocka_unit_test(test_cbor_rejects_deep_nesting),
		cmocka_unit_test(test_cbor_rejects_huge_lengths),
		cmocka_unit_test(test_cbor_rejects_truncated),
		cmocka_unit_test(test_cbor_rejects_non_minimal),
		cmocka_unit_test(test_cbor_rejects_out_of_range_ints),
		cmocka_unit_test(test_cbor_rejects_wrong_tags),
		cmocka_unit_test(test_cbor_rejects_indefinite_lengths),
		cmocka_unit_test(test_cbor_rejects_floats_and_simple_values),
		cmocka_unit_test(test_cbor_rejects_unsorted_and_duplicate_keys),
		cmocka_unit_test(test_cbor_rejects_long_keys),
		cmocka_unit_test(test_cbor_rejects_invalid_utf8),
		cmocka_unit_test(test_cbor_rejects_trailing_and_garbage),
		cmocka_unit_test(test_cbor_reader_reports_items),
		cmocka_unit_test(test_cbor_keycmp_is_length_first),
		cmocka_unit_test(test_cbor_atjson_writes_values),
		cmocka_unit_test(test_cbor_atjson_restores_buffer_on_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
