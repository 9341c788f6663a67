/* SPDX-License-Identifier: ISC */
/*
 * DID documents and the resolver: the parser over every real PLC document
 * of the capture (did_docs.json.zst, read in place) and hand-made edge
 * cases; the resolver's URL rules, cache (hits, error caching, LRU bound,
 * forced refresh), HTTP status handling (404, 410, 5xx retried, oversized,
 * timeout) and cancellation from another thread against a loopback HTTP
 * server (tests/lib/tiny_httpd.h).
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

#include "buf.h"
#include "didres.h"
#include "util.h"
#include "zst.h"

#include "../lib/tiny_httpd.h"

#define DID_A	"did:plc:2a7ygipkrbh544aqhcav53oy"
#define DEAD_PLC "http://127.0.0.1:1"

static const char *
fixtures_dir(void)
{
	const char	*d;

	d = getenv("FIXTURES_DIR");
	return d != NULL && *d != '\0' ? d : "../shared/fixtures";
}

/* did_docs.json.zst as text in out; false when the corpus is absent. */
static bool
load_docs(struct atc_buf *out)
{
	char		 path[512], err[ATC_ERRLEN];
	FILE		*fp;
	struct atc_buf	 raw;
	uint8_t		 chunk[65536];
	size_t		 n;
	bool		 ok;

	snprintf(path, sizeof(path), "%s/jetstream-corpus/did_docs.json.zst",
	    fixtures_dir());
	if ((fp = fopen(path, "rb")) == NULL)
		return false;
	atc_buf_init(&raw, 1 << 16);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		atc_buf_append(&raw, chunk, n);
	fclose(fp);
	ok = atc_zst_decompress(out, raw.data, raw.len, 64u << 20, err,
	    sizeof(err)) == 0;
	atc_buf_cleanup(&raw);
	if (!ok)
		fail_msg("did_docs: %s", err);
	return true;
}

static json_t *
docs_or_skip(void)
{
	struct atc_buf	 b;
	json_t		*docs;
	json_error_t	 jerr;

	atc_buf_init(&b, 1 << 16);
	if (!load_docs(&b)) {
		atc_buf_cleanup(&b);
		print_message("corpus absent under %s: skipping\n",
		    fixtures_dir());
		skip();
	}
	docs = json_loadb((const char *)b.data, b.len, 0, &jerr);
	atc_buf_cleanup(&b);
	if (docs == NULL)
		fail_msg("did_docs: %s", jerr.text);
	return docs;
}

/* Every real document yields its handle, PDS and secp256k1 key. */
static void
test_didres_parse_real_documents(void **state)
{
	json_t			*docs, *doc;
	const char		*did;
	struct atc_did_doc	 d;
	char			 err[ATC_ERRLEN];
	size_t			 n = 0, nhandle = 0, npds = 0, nkey = 0;

	docs = docs_or_skip();
	json_object_foreach(docs, did, doc) {
		if (atc_did_doc_parse(&d, did, doc, err, sizeof(err)) == -1)
			fail_msg("%s: %s", did, err);
		n++;
		nhandle += d.handle[0] != '\0';
		npds += strncmp(d.pds, "https://", 8) == 0;
		nkey += d.has_key;
	}
	assert_int_equal(n, 148);
	assert_int_equal(nkey, 148);
	assert_int_equal(npds, 148);
	assert_true(nhandle >= 140);
	assert_int_equal(atc_did_doc_parse(&d, DID_A, json_object_get(docs,
	    DID_A), err, sizeof(err)), 0);
	assert_string_equal(d.handle, "t045t.zmb.cm");
	assert_string_equal(d.pds, "https://elfcup.us-east.host.bsky.network");
	assert_int_equal(d.key.type, ATC_KEY_SECP256K1);
	/* Another DID's document is refused. */
	assert_int_equal(atc_did_doc_parse(&d, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
	    json_object_get(docs, DID_A), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "id is not the DID"));
	json_decref(docs);
}

static void
parse_text(struct atc_did_doc *d, const char *text)
{
	char	err[ATC_ERRLEN];

	if (atc_did_doc_parse_text(d, "did:web:example.com", text,
	    strlen(text), err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

/* First valid at:// alias wins, lower-cased; junk is skipped. */
static void
test_didres_parse_handle_rules(void **state)
{
	struct atc_did_doc	d;

	parse_text(&d, "{\"id\":\"did:web:example.com\",\"alsoKnownAs\":"
	    "[\"https://x.com\",7,\"at://bad_handle\",\"at://Alice.Example.COM\","
	    "\"at://bob.example.com\"]}");
	assert_string_equal(d.handle, "alice.example.com");
	parse_text(&d, "{\"id\":\"did:web:example.com\",\"alsoKnownAs\":"
	    "[\"at://nodots\"]}");
	assert_string_equal(d.handle, "");
	parse_text(&d, "{\"id\":\"did:web:example.com\",\"alsoKnownAs\":{}}");
	assert_string_equal(d.handle, "");
	assert_false(d.has_key);
	assert_string_equal(d.pds, "");
}

/* The PDS needs both the #atproto_pds id and the type; the key needs the
 * #atproto id and a valid multibase value. */
static void
test_didres_parse_service_and_key_rules(void **state)
{
	struct atc_did_doc	d;

	parse_text(&d, "{\"id\":\"did:web:example.com\",\"service\":["
	    "{\"id\":\"#atproto_pds\",\"type\":\"Other\","
	    "\"serviceEndpoint\":\"https://wrong.example\"},"
	    "{\"id\":\"#atproto_pds\",\"type\":\"AtprotoPersonalDataServer\","
	    "\"serviceEndpoint\":{\"uri\":\"https://obj.example\"}},"
	    "{\"id\":\"did:web:other.com#atproto_pds\","
	    "\"type\":\"AtprotoPersonalDataServer\","
	    "\"serviceEndpoint\":\"https://other.example\"},"
	    "{\"id\":\"did:web:example.com#atproto_pds\","
	    "\"type\":\"AtprotoPersonalDataServer\","
	    "\"serviceEndpoint\":\"https://pds.example\"}],"
	    "\"verificationMethod\":[{\"id\":\"#atproto_label\","
	    "\"type\":\"Multikey\",\"publicKeyMultibase\":"
	    "\"zQ3shrc8v5X6ZiANcZxA6JerfT2T4SskeCGxpmtDfMuHF9KRj\"}]}");
	assert_string_equal(d.pds, "https://pds.example");
	assert_false(d.has_key);
	parse_text(&d, "{\"id\":\"did:web:example.com\",\"verificationMethod\":"
	    "[{\"id\":\"did:web:example.com#atproto\",\"type\":\"Multikey\","
	    "\"publicKeyMultibase\":"
	    "\"zQ3shrc8v5X6ZiANcZxA6JerfT2T4SskeCGxpmtDfMuHF9KRj\"}]}");
	assert_true(d.has_key);
	assert_int_equal(d.key.type, ATC_KEY_SECP256K1);
	parse_text(&d, "{\"id\":\"did:web:example.com\",\"verificationMethod\":"
	    "[{\"id\":\"#atproto\",\"type\":\"Multikey\","
	    "\"publicKeyMultibase\":\"zNotAKey\"}]}");
	assert_false(d.has_key);
}

/* The reference PLC (@did-plc/server) serves legacy documents: an
 * uncompressed secp256k1 point without multicodec. It must give the same
 * key as its did:key form (computed with @atproto/crypto). */
static void
test_didres_parse_legacy_uncompressed_key(void **state)
{
	struct atc_did_doc	d;
	struct atc_pubkey	want;
	char			err[ATC_ERRLEN];

	parse_text(&d, "{\"id\":\"did:web:example.com\",\"verificationMethod\":"
	    "[{\"id\":\"#atproto\",\"type\":"
	    "\"EcdsaSecp256k1VerificationKey2019\",\"publicKeyMultibase\":"
	    "\"zPnXFWrr4uUC5AZgiBeAYCZtnmZ8H8vJJkay4rEcYqj59hg1ttU5qHuWB3ivX3"
	    "ELWbkLmEvJugPXmeox5yfknAZFc\"}]}");
	assert_true(d.has_key);
	assert_int_equal(atc_pubkey_from_did_key(&want, "did:key:zQ3shnRUey1ja"
	    "6Bhd2bLwb3zVpcdQ5CiKpFBuevhBmrAjW7dM", err, sizeof(err)), 0);
	assert_int_equal(d.key.type, ATC_KEY_SECP256K1);
	assert_memory_equal(d.key.point, want.point, ATC_PUBKEY_LEN);
	/* The same bytes as Multikey (no curve named) are not a key. */
	parse_text(&d, "{\"id\":\"did:web:example.com\",\"verificationMethod\":"
	    "[{\"id\":\"#atproto\",\"type\":\"Multikey\",\"publicKeyMultibase\":"
	    "\"zPnXFWrr4uUC5AZgiBeAYCZtnmZ8H8vJJkay4rEcYqj59hg1ttU5qHuWB3ivX3"
	    "ELWbkLmEvJugPXmeox5yfknAZFc\"}]}");
	assert_false(d.has_key);
}

static void
test_didres_parse_rejects_bad_json(void **state)
{
	struct atc_did_doc	 d;
	char			 err[ATC_ERRLEN], *big;

	assert_int_equal(atc_did_doc_parse_text(&d, DID_A, "[1]", 3, err,
	    sizeof(err)), -1);
	assert_int_equal(atc_did_doc_parse_text(&d, DID_A, "{\"id\":", 6, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bad JSON"));
	assert_int_equal(atc_did_doc_parse_text(&d, DID_A, "{\"x\":1}", 7,
	    err, sizeof(err)), -1);
	big = atc_xcalloc(1, ATC_DID_MAXDOC + 2);
	memset(big, ' ', ATC_DID_MAXDOC + 1);
	assert_int_equal(atc_did_doc_parse_text(&d, DID_A, big,
	    ATC_DID_MAXDOC + 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger"));
	free(big);
}

static void
test_didres_url_rules(void **state)
{
	char	url[600], err[ATC_ERRLEN];

	assert_int_equal(atc_did_doc_url(url, sizeof(url),
	    "https://plc.directory/", DID_A, err, sizeof(err)), 0);
	assert_string_equal(url, "https://plc.directory/" DID_A);
	assert_int_equal(atc_did_doc_url(url, sizeof(url), "x",
	    "did:web:example.com", err, sizeof(err)), 0);
	assert_string_equal(url, "https://example.com/.well-known/did.json");
	assert_int_equal(atc_did_doc_url(url, sizeof(url), "x",
	    "did:web:example.com%3A8080", err, sizeof(err)), -1);
	assert_int_equal(atc_did_doc_url(url, sizeof(url), "x",
	    "did:web:example.com:u:alice", err, sizeof(err)), -1);
	assert_int_equal(atc_did_doc_url(url, sizeof(url), "x",
	    "did:plc:../../etc/passwd", err, sizeof(err)), -1);
	assert_int_equal(atc_did_doc_url(url, sizeof(url), "x",
	    "did:plc:2a7ygipkrbh544aqhcav53o", err, sizeof(err)), -1);
	assert_int_equal(atc_did_doc_url(url, sizeof(url), "x",
	    "did:key:zQ3sh", err, sizeof(err)), -1);
}

/* Seeded documents answer from memory: no fetch at all. */
static void
test_didres_seeded_cache_hits(void **state)
{
	struct atc_didres_opts	 o = { .plc_url = DEAD_PLC, .attempts = 1 };
	struct atc_didres	*r;
	struct atc_didres_stats	 st;
	struct atc_did_doc	 d;
	struct atc_buf		 b;
	json_t			*docs, *doc;
	const char		*did;
	char			 err[ATC_ERRLEN];

	docs = docs_or_skip();
	atc_buf_init(&b, 1 << 16);
	assert_true(load_docs(&b));
	assert_non_null(r = atc_didres_new(&o, NULL, err, sizeof(err)));
	assert_int_equal(atc_didres_seed_json(r, (const char *)b.data, b.len,
	    err, sizeof(err)), 148);
	json_object_foreach(docs, did, doc)
		assert_int_equal(atc_didres_resolve(r, did, false, &d, NULL,
		    err, sizeof(err)), ATC_DIDRES_OK);
	atc_didres_stats(r, &st);
	assert_int_equal(st.hits, 148);
	assert_int_equal(st.fetches, 0);
	assert_int_equal(st.entries, 148);
	assert_int_equal(atc_didres_seed_json(r, "[]", 2, err, sizeof(err)),
	    -1);
	atc_didres_free(r);
	atc_buf_cleanup(&b);
	json_decref(docs);
}

#define P_OK	"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
#define P_404	"did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
#define P_410	"did:plc:cccccccccccccccccccccccc"
#define P_5XX	"did:plc:dddddddddddddddddddddddd"
#define P_BIG	"did:plc:eeeeeeeeeeeeeeeeeeeeeeee"
#define P_STALL	"did:plc:ffffffffffffffffffffffff"
#define P_LIE	"did:plc:gggggggggggggggggggggggg"
#define DOC(did)	"{\"id\":\"" did "\",\"alsoKnownAs\":[\"at://ok.test\"]}"

static const struct tiny_route routes[] = {
	{ "/" P_OK, 200, DOC(P_OK), 0, 0, 0 },
	{ "/" P_404, 404, "{\"message\":\"DID not registered\"}", 0, 0, 0 },
	{ "/" P_410, 410, "{\"message\":\"DID not available\"}", 0, 0, 0 },
	{ "/" P_5XX, 503, "{}", 0, 2, 0 },
	{ "/" P_5XX, 200, DOC(P_5XX), 0, 0, 0 },
	{ "/" P_BIG, 200, NULL, ATC_DID_MAXDOC + 10, 0, 0 },
	{ "/" P_STALL, 0, NULL, 0, 0, 0 },
	{ "/" P_LIE, 200, DOC(P_OK), 0, 0, 0 },
};

static struct atc_didres *
resolver(struct tiny_httpd *h, size_t max_entries, long long timeout_ms)
{
	struct atc_didres_opts	 o;
	struct atc_didres	*r;
	char			 url[64], err[ATC_ERRLEN];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", h->port);
	memset(&o, 0, sizeof(o));
	o.plc_url = url;
	o.max_entries = max_entries;
	o.timeout_ms = timeout_ms;
	o.backoff_ms = 10;
	o.refresh_min_ms = 1;
	if ((r = atc_didres_new(&o, NULL, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return r;
}

/* 404 and 410 are permanent (410 = tombstoned), 5xx is retried, a
 * document larger than the limit and one naming another DID are refused,
 * a server that never answers times out as a transient failure. */
static void
test_didres_http_statuses(void **state)
{
	struct tiny_httpd	 h;
	struct atc_didres	*r;
	struct atc_did_doc	 d;
	struct atc_didres_stats	 st;
	char			 err[ATC_ERRLEN];
	bool			 tomb;
	uint64_t		 t0;

	assert_int_equal(tiny_start(&h, routes, ATC_NELEM(routes)), 0);
	r = resolver(&h, 100, 5000);
	assert_int_equal(atc_didres_resolve(r, P_OK, false, &d, &tomb, err,
	    sizeof(err)), ATC_DIDRES_OK);
	assert_string_equal(d.handle, "ok.test");
	assert_false(tomb);
	assert_int_equal(atc_didres_resolve(r, P_404, false, &d, &tomb, err,
	    sizeof(err)), ATC_DIDRES_GONE);
	assert_non_null(strstr(err, "404"));
	assert_false(tomb);
	assert_int_equal(atc_didres_resolve(r, P_410, false, &d, &tomb, err,
	    sizeof(err)), ATC_DIDRES_GONE);
	assert_true(tomb);
	assert_int_equal(atc_didres_resolve(r, P_5XX, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_OK);
	assert_int_equal(atc_didres_resolve(r, P_BIG, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_GONE);
	assert_non_null(strstr(err, "larger"));
	assert_int_equal(atc_didres_resolve(r, P_LIE, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_GONE);
	atc_didres_stats(r, &st);
	/* ok 1, 404 1, 410 1, 5xx 3 (two 503 retried), big 1, lie 1. */
	assert_int_equal(st.fetches, 8);
	atc_didres_free(r);
	/* A server that never answers: 3 attempts of 200 ms plus backoff,
	 * far under the 10 s default. */
	r = resolver(&h, 100, 200);
	t0 = atc_mono_ms();
	assert_int_equal(atc_didres_resolve(r, P_STALL, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_FAIL);
	assert_true(atc_mono_ms() - t0 < 3000);
	assert_non_null(strstr(err, "fetch"));
	atc_didres_stats(r, &st);
	assert_int_equal(st.fetches, 3);
	atc_didres_free(r);
	tiny_stop(&h);
}

/* Answers and failures are cached (no new request); a forced refresh
 * fetches again; the cache never holds more than max_entries. */
static void
test_didres_cache_errors_refresh_and_bound(void **state)
{
	struct tiny_httpd	 h;
	struct atc_didres	*r;
	struct atc_did_doc	 d;
	struct atc_didres_stats	 st;
	char			 err[ATC_ERRLEN];
	int			 n;

	assert_int_equal(tiny_start(&h, routes, ATC_NELEM(routes)), 0);
	r = resolver(&h, 2, 5000);
	assert_int_equal(atc_didres_resolve(r, P_OK, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_OK);
	assert_int_equal(atc_didres_resolve(r, P_404, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_GONE);
	n = atomic_load(&h.nrequests);
	assert_int_equal(atc_didres_resolve(r, P_OK, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_OK);
	assert_int_equal(atc_didres_resolve(r, P_404, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_GONE);
	assert_non_null(strstr(err, "404"));
	assert_int_equal(atomic_load(&h.nrequests), n);
	/* Forced: one more request (refresh_min_ms is 1 ms here). */
	usleep(5000);
	assert_int_equal(atc_didres_resolve(r, P_OK, true, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_OK);
	assert_int_equal(atomic_load(&h.nrequests), n + 1);
	/* A third DID evicts the least recently used (P_404). */
	assert_int_equal(atc_didres_resolve(r, P_410, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_GONE);
	atc_didres_stats(r, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.evictions, 1);
	n = atomic_load(&h.nrequests);
	assert_int_equal(atc_didres_resolve(r, P_OK, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_OK);
	assert_int_equal(atomic_load(&h.nrequests), n);
	assert_int_equal(atc_didres_resolve(r, P_404, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_GONE);
	assert_int_equal(atomic_load(&h.nrequests), n + 1);
	atc_didres_free(r);
	tiny_stop(&h);
}

static void *
cancel_later(void *arg)
{
	usleep(200000);
	atc_didres_cancel(arg);
	return NULL;
}

/* A cancel from another thread ends a fetch that would wait 30 s for a
 * silent server, as a transient failure; later fetches fail at once. */
static void
test_didres_cancel_from_another_thread(void **state)
{
	struct tiny_httpd	 h;
	struct atc_didres	*r;
	struct atc_did_doc	 d;
	pthread_t		 t;
	char			 err[ATC_ERRLEN];
	uint64_t		 t0;

	assert_int_equal(tiny_start(&h, routes, ATC_NELEM(routes)), 0);
	r = resolver(&h, 100, 30000);
	t0 = atc_mono_ms();
	assert_int_equal(pthread_create(&t, NULL, cancel_later, r), 0);
	assert_int_equal(atc_didres_resolve(r, P_STALL, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_FAIL);
	assert_true(atc_mono_ms() - t0 < 3000);
	assert_non_null(strstr(err, "cancelled"));
	pthread_join(t, NULL);
	t0 = atc_mono_ms();
	assert_int_equal(atc_didres_resolve(r, P_OK, false, &d, NULL, err,
	    sizeof(err)), ATC_DIDRES_FAIL);
	assert_true(atc_mono_ms() - t0 < 1000);
	atc_didres_free(r);
	tiny_stop(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_didres_parse_real_documents),
		cmocka_unit_test(test_didres_parse_handle_rules),
		cmocka_unit_test(test_didres_parse_service_and_key_rules),
		cmocka_unit_test(test_didres_parse_legacy_uncompressed_key),
		cmocka_unit_test(test_didres_parse_rejects_bad_json),
		cmocka_unit_test(test_didres_url_rules),
		cmocka_unit_test(test_didres_seeded_cache_hits),
		cmocka_unit_test(test_didres_http_statuses),
		cmocka_unit_test(test_didres_cache_errors_refresh_and_bound),
		cmocka_unit_test(test_didres_cancel_from_another_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
