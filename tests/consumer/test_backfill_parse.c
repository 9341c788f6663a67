/* SPDX-License-Identifier: ISC */
/*
 * Pure parts of the backfill: repository list pages (listRepos and
 * listReposByCollection shapes, inactive repos, cursors, bad input),
 * getLatestCommit answers, and the message body of one record, which must
 * read back as the live envelope with operation create and backfill true.
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

#include "backfill_priv.h"
#include "buf.h"
#include "cid.h"
#include "frame.h"
#include "util.h"

#define DID_A	"did:plc:2a7ygipkrbh544aqhcav53oy"
#define DID_B	"did:plc:ar7c4by46qjdydhdevvrndac"
#define EVENT	"community.lexicon.calendar.event"

static int
parse(struct backfill_page *p, const char *json, char *err, size_t errlen)
{
	return backfill_parse_page(p, json, strlen(json), err, errlen);
}

static void
test_backfill_parse_list_repos_page(void **state)
{
	struct backfill_page	p;
	char			err[ATC_ERRLEN];

	(void)state;
	assert_int_equal(parse(&p, "{\"cursor\":\"" DID_B "\",\"repos\":["
	    "{\"did\":\"" DID_A "\",\"head\":\"bafy\",\"rev\":\"3k\","
	    "\"active\":true},{\"did\":\"" DID_B "\",\"active\":false,"
	    "\"status\":\"deactivated\"}]}", err, sizeof(err)), 0);
	assert_int_equal(p.ndids, 1);
	assert_int_equal(p.ninactive, 1);
	assert_string_equal(p.dids[0], DID_A);
	assert_string_equal(p.cursor, DID_B);
	backfill_page_free(&p);

	/* listReposByCollection: just dids; no cursor on the last page. */
	assert_int_equal(parse(&p, "{\"repos\":[{\"did\":\"" DID_A "\"},"
	    "{\"did\":\"" DID_B "\"}]}", err, sizeof(err)), 0);
	assert_int_equal(p.ndids, 2);
	assert_null(p.cursor);
	backfill_page_free(&p);

	assert_int_equal(parse(&p, "{\"repos\":[],\"cursor\":\"\"}", err,
	    sizeof(err)), 0);
	assert_int_equal(p.ndids, 0);
	assert_null(p.cursor);
	backfill_page_free(&p);
}

static void
test_backfill_parse_page_rejects_bad_input(void **state)
{
	struct backfill_page	p;
	char			err[ATC_ERRLEN];

	(void)state;
	assert_int_equal(parse(&p, "{\"repos\":{}}", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "repos"));
	assert_int_equal(parse(&p, "[1,2", err, sizeof(err)), -1);
	assert_int_equal(parse(&p, "{\"repos\":[{\"did\":\"bob\"}]}", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "did"));
	assert_int_equal(parse(&p, "{\"repos\":[{\"head\":\"x\"}]}", err,
	    sizeof(err)), -1);
	assert_null(p.dids);
}

static void
test_backfill_parse_latest_commit(void **state)
{
	char	rev[32], err[ATC_ERRLEN];
	const char *ok = "{\"cid\":\"bafyx\",\"rev\":\"3mptbypluud2a\"}";

	(void)state;
	assert_int_equal(backfill_parse_latest(ok, strlen(ok), rev,
	    sizeof(rev), err, sizeof(err)), 0);
	assert_string_equal(rev, "3mptbypluud2a");
	assert_int_equal(backfill_parse_latest("{\"rev\":\"nope\"}", 14, rev,
	    sizeof(rev), err, sizeof(err)), -1);
	assert_int_equal(backfill_parse_latest("{}", 2, rev, sizeof(rev), err,
	    sizeof(err)), -1);
	assert_int_equal(backfill_parse_latest(ok, strlen(ok), rev, 5, err,
	    sizeof(err)), -1);
}

/* {"name": "Café", "$type": EVENT, "createdAt": "2026-..."} in DAG-CBOR
 * key order (length first). */
static void
record(struct atc_buf *b)
{
	atc_buf_putc(b, 0xa3);
	atc_buf_append(b, "\x64name\x65" "Caf\xc3\xa9", 11);
	atc_buf_append(b, "\x65$type\x78\x20" EVENT, 6 + 2 + 32);
	atc_buf_append(b, "\x69" "createdAt\x78\x18" "2026-01-01T00:00:00.000Z",
	    10 + 2 + 24);
}

static void
test_backfill_msg_build_reads_back(void **state)
{
	struct atc_buf	b, out;
	uint8_t		cid[ATC_CID_SHA256_LEN];
	char		err[ATC_ERRLEN], cidstr[ATC_CID_STRLEN];
	json_t		*root, *commit;
	json_error_t	jerr;

	(void)state;
	atc_buf_init(&b, 128);
	atc_buf_init(&out, 512);
	record(&b);
	atc_cid_compute(cid, ATC_CID_CODEC_DAGCBOR, b.data, b.len);
	assert_int_not_equal(atc_cid_format(cidstr, sizeof(cidstr), cid,
	    sizeof(cid), err, sizeof(err)), -1);
	assert_int_equal(backfill_msg_build(&out, DID_A, "3mptbypluud2a",
	    EVENT, "3lbfm7k2kkc2a", cid, sizeof(cid), b.data, b.len, 1234,
	    "pds.example:2583", err, sizeof(err)), 0);
	root = json_loadb((const char *)out.data, out.len, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "did")),
	    DID_A);
	assert_int_equal(json_integer_value(json_object_get(root, "time_us")),
	    1234);
	assert_string_equal(json_string_value(json_object_get(root, "kind")),
	    "commit");
	assert_true(json_is_true(json_object_get(root, "backfill")));
	assert_string_equal(json_string_value(json_object_get(root,
	    "source")), "pds.example:2583");
	commit = json_object_get(root, "commit");
	assert_string_equal(json_string_value(json_object_get(commit,
	    "operation")), "create");
	assert_string_equal(json_string_value(json_object_get(commit, "rev")),
	    "3mptbypluud2a");
	assert_string_equal(json_string_value(json_object_get(commit,
	    "collection")), EVENT);
	assert_string_equal(json_string_value(json_object_get(commit,
	    "rkey")), "3lbfm7k2kkc2a");
	assert_string_equal(json_string_value(json_object_get(commit, "cid")),
	    cidstr);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    commit, "record"), "name")), "Caf\xc3\xa9");
	json_decref(root);
	atc_buf_cleanup(&out);
	atc_buf_cleanup(&b);
}

static void
test_backfill_msg_build_rejects_bad_records(void **state)
{
	struct atc_buf	out;
	uint8_t		cid[ATC_CID_SHA256_LEN], *big;
	char		err[ATC_ERRLEN];
	const uint8_t	arr[] = { 0x81, 0x01 }, trunc[] = { 0xa1, 0x61 };

	(void)state;
	atc_buf_init(&out, 64);
	atc_buf_puts(&out, "keep");
	atc_cid_compute(cid, ATC_CID_CODEC_DAGCBOR, arr, sizeof(arr));
	assert_int_equal(backfill_msg_build(&out, DID_A, "3mptbypluud2a",
	    EVENT, "k", cid, sizeof(cid), arr, sizeof(arr), 1, "s", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a map"));
	assert_int_equal(backfill_msg_build(&out, DID_A, "3mptbypluud2a",
	    EVENT, "k", cid, sizeof(cid), trunc, sizeof(trunc), 1, "s", err,
	    sizeof(err)), -1);
	assert_string_equal(atc_buf_cstr(&out), "keep");
	big = atc_xcalloc(1, ATC_FRAME_MAXRECORD + 1);
	big[0] = 0xa0;
	assert_int_equal(backfill_msg_build(&out, DID_A, "3mptbypluud2a",
	    EVENT, "k", cid, sizeof(cid), big, ATC_FRAME_MAXRECORD + 1, 1,
	    "s", err, sizeof(err)), -1);
	assert_string_equal(atc_buf_cstr(&out), "keep");
	free(big);
	atc_buf_cleanup(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backfill_parse_list_repos_page),
		cmocka_unit_test(test_backfill_parse_page_rejects_bad_input),
		cmocka_unit_test(test_backfill_parse_latest_commit),
		cmocka_unit_test(test_backfill_msg_build_reads_back),
		cmocka_unit_test(test_backfill_msg_build_rejects_bad_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
