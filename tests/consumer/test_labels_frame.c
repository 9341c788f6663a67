/* SPDX-License-Identifier: ISC */
/*
 * subscribeLabels frame decoder: frames built here byte by byte in
 * DAG-CBOR (header + payload) for #labels (apply and negation), #info,
 * error frames and unknown types, plus every structural failure; the JSON
 * body and routing key of a label.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "labels_frame.h"
#include "util.h"

#define SRC	"did:plc:ar7c4by46qjdydhdevvrndac"
#define URI	"at://did:plc:2a7ygipkrbh544aqhcav53oy/" \
		"community.lexicon.calendar.event/3lbfm7k2kkc2a"
#define CTS	"2026-01-02T03:04:05.000Z"

/* Minimal DAG-CBOR writer: callers emit map keys in canonical order. */
static void
head(struct atc_buf *b, int major, uint64_t v)
{
	uint8_t	m = (uint8_t)(major << 5);
	int	i;

	if (v < 24)
		atc_buf_putc(b, m | (uint8_t)v);
	else if (v < 256) {
		atc_buf_putc(b, m | 24);
		atc_buf_putc(b, (int)v);
	} else if (v < 65536) {
		atc_buf_putc(b, m | 25);
		atc_buf_putc(b, (int)(v >> 8));
		atc_buf_putc(b, (int)(v & 255));
	} else {
		atc_buf_putc(b, m | 26);
		for (i = 3; i >= 0; i--)
			atc_buf_putc(b, (int)((v >> (8 * i)) & 255));
	}
}

static void
text(struct atc_buf *b, const char *s)
{
	head(b, 3, strlen(s));
	atc_buf_puts(b, s);
}

/* Header {t, op}: DAG-CBOR sorts keys length first, so "t" leads. */
static void
header(struct atc_buf *b, int op, const char *t)
{
	head(b, 5, t != NULL ? 2 : 1);
	if (t != NULL) {
		text(b, "t");
		text(b, t);
	}
	text(b, "op");
	if (op < 0)
		head(b, 1, (uint64_t)(-1 - op));
	else
		head(b, 0, (uint64_t)op);
}

/* A label map in canonical key order: cid cts exp neg sig src uri val
 * ver (3-letter keys sort bytewise). */
static void
label(struct atc_buf *b, const char *src, const char *val, bool neg,
    const char *cid, const char *exp)
{
	head(b, 5, 6 + (cid != NULL) + (exp != NULL));
	if (cid != NULL) {
		text(b, "cid");
		text(b, cid);
	}
	text(b, "cts");
	text(b, CTS);
	if (exp != NULL) {
		text(b, "exp");
		text(b, exp);
	}
	text(b, "neg");
	atc_buf_putc(b, neg ? 0xf5 : 0xf4);
	text(b, "sig");
	head(b, 2, 3);
	atc_buf_append(b, "\x01\x02\x03", 3);
	text(b, "src");
	text(b, src);
	text(b, "uri");
	text(b, URI);
	text(b, "val");
	text(b, val);
}

static void
labels_frame(struct atc_buf *b, uint64_t seq, int n)
{
	header(b, 1, "#labels");
	head(b, 5, 2);
	text(b, "seq");
	head(b, 0, seq);
	text(b, "labels");
	head(b, 4, (uint64_t)n);
}

static void
test_labels_frame_decodes_apply_and_negate(void **state)
{
	struct labels_frame	f;
	struct atc_buf		b, js;
	char			err[ATC_ERRLEN];

	(void)state;
	atc_buf_init(&b, 256);
	labels_frame(&b, 300, 2);
	label(&b, SRC, "!hide", false, NULL, NULL);
	label(&b, SRC, "!hide", true,
	    "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
	    "2027-01-01T00:00:00Z");
	labels_frame_init(&f);
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), 0);
	assert_int_equal(f.kind, LABELS_FRAME_LABELS);
	assert_int_equal(f.seq, 300);
	assert_int_equal(f.nlabels, 2);
	assert_int_equal(f.nvalid, 2);
	assert_string_equal(f.labels[0].src, SRC);
	assert_string_equal(f.labels[0].uri, URI);
	assert_string_equal(f.labels[0].val, "!hide");
	assert_false(f.labels[0].neg);
	assert_null(f.labels[0].cid);
	assert_null(f.labels[0].exp);
	assert_true(f.labels[0].has_sig);
	assert_null(f.labels[0].error);
	assert_true(f.labels[1].neg);
	assert_string_equal(f.labels[1].exp, "2027-01-01T00:00:00Z");
	assert_string_equal(labels_frame_routing_key(&f.labels[0]),
	    "label.apply");
	assert_string_equal(labels_frame_routing_key(&f.labels[1]),
	    "label.negate");

	atc_buf_init(&js, 256);
	labels_frame_json(&js, &f.labels[0], f.seq, "127.0.0.1:7000");
	assert_string_equal(atc_buf_cstr(&js), "{\"src\":\"" SRC "\",\"uri\":"
	    "\"" URI "\",\"cid\":null,\"val\":\"!hide\",\"neg\":false,"
	    "\"cts\":\"" CTS "\",\"exp\":null,\"seq\":300,\"source\":"
	    "\"127.0.0.1:7000\"}");
	atc_buf_reset(&js);
	labels_frame_json(&js, &f.labels[1], f.seq, "h");
	assert_non_null(strstr(atc_buf_cstr(&js), "\"neg\":true"));
	assert_non_null(strstr(atc_buf_cstr(&js),
	    "\"exp\":\"2027-01-01T00:00:00Z\""));
	assert_non_null(strstr(atc_buf_cstr(&js), "\"cid\":\"bafyrei"));
	atc_buf_cleanup(&js);
	labels_frame_cleanup(&f);
	atc_buf_cleanup(&b);
}

static void
test_labels_frame_invalid_label_kept_with_error(void **state)
{
	struct labels_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];

	(void)state;
	atc_buf_init(&b, 256);
	labels_frame(&b, 7, 3);
	label(&b, "not-a-did", "!hide", false, NULL, NULL);
	label(&b, SRC, "", false, NULL, NULL);
	label(&b, SRC, "spam", false, NULL, "yesterday");
	labels_frame_init(&f);
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), 0);
	assert_int_equal(f.nlabels, 3);
	assert_int_equal(f.nvalid, 0);
	assert_non_null(strstr(f.labels[0].error, "src"));
	assert_non_null(strstr(f.labels[1].error, "val"));
	assert_non_null(strstr(f.labels[2].error, "exp"));
	labels_frame_cleanup(&f);
	atc_buf_cleanup(&b);
}

static void
test_labels_frame_info_and_error(void **state)
{
	struct labels_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];

	(void)state;
	labels_frame_init(&f);
	atc_buf_init(&b, 128);
	header(&b, 1, "#info");
	head(&b, 5, 2);
	text(&b, "name");
	text(&b, "OutdatedCursor");
	text(&b, "message");
	text(&b, "too old");
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), 0);
	assert_int_equal(f.kind, LABELS_FRAME_INFO);
	assert_string_equal(f.name, "OutdatedCursor");
	assert_string_equal(f.message, "too old");

	atc_buf_reset(&b);
	header(&b, -1, NULL);
	head(&b, 5, 1);
	text(&b, "error");
	text(&b, "FutureCursor");
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), 0);
	assert_int_equal(f.kind, LABELS_FRAME_ERROR);
	assert_string_equal(f.name, "FutureCursor");
	assert_null(f.message);

	atc_buf_reset(&b);
	header(&b, 1, "#future");
	head(&b, 5, 1);
	text(&b, "x");
	head(&b, 0, 1);
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), 0);
	assert_int_equal(f.kind, LABELS_FRAME_IGNORED);
	labels_frame_cleanup(&f);
	atc_buf_cleanup(&b);
}

static void
test_labels_frame_rejects_malformed(void **state)
{
	struct labels_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];
	size_t			full;
	int			i;

	(void)state;
	labels_frame_init(&f);
	atc_buf_init(&b, 256);
	labels_frame(&b, 1, 1);
	label(&b, SRC, "!hide", false, NULL, NULL);
	full = b.len;
	/* Truncated anywhere. */
	assert_int_equal(labels_frame_decode(&f, b.data, full - 1, err,
	    sizeof(err)), -1);
	assert_int_equal(labels_frame_decode(&f, b.data, 5, err,
	    sizeof(err)), -1);
	/* Trailing garbage. */
	atc_buf_putc(&b, 0x01);
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "trailing"));
	/* Header only. */
	atc_buf_reset(&b);
	header(&b, 1, "#labels");
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), -1);
	/* A label that is not a map. */
	atc_buf_reset(&b);
	labels_frame(&b, 1, 1);
	text(&b, "!hide");
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), -1);
	/* Too many labels for one frame. */
	atc_buf_reset(&b);
	labels_frame(&b, 1, LABELS_MAXLABELS + 1);
	for (i = 0; i < LABELS_MAXLABELS + 1; i++)
		label(&b, SRC, "spam", false, NULL, NULL);
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "labels in one frame"));
	/* #labels without seq. */
	atc_buf_reset(&b);
	header(&b, 1, "#labels");
	head(&b, 5, 1);
	text(&b, "labels");
	head(&b, 4, 0);
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), -1);
	/* Not CBOR at all, and a float (forbidden in DAG-CBOR). */
	assert_int_equal(labels_frame_decode(&f, (const uint8_t *)"{}", 2,
	    err, sizeof(err)), -1);
	atc_buf_reset(&b);
	header(&b, 1, "#labels");
	head(&b, 5, 1);
	text(&b, "seq");
	atc_buf_append(&b, "\xf9\x3c\x00", 3);
	assert_int_equal(labels_frame_decode(&f, b.data, b.len, err,
	    sizeof(err)), -1);
	labels_frame_cleanup(&f);
	atc_buf_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels_frame_decodes_apply_and_negate),
		cmocka_unit_test(test_labels_frame_invalid_label_kept_with_error),
		cmocka_unit_test(test_labels_frame_info_and_error),
		cmocka_unit_test(test_labels_frame_rejects_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
