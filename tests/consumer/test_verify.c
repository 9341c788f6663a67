/* SPDX-License-Identifier: ISC */
/*
 * Commit signature verification over the real relay capture: all 148
 * commits of frames.bin.zst verify with the keys of did_docs.json.zst
 * (seeded into the resolver, so no network); a tampered commit block, a
 * frame whose repo differs from its commit, a key from another account
 * and an unresolvable DID are rejected with every kept op turned FAILED
 * ("signature: ..."); a rotated key is picked up by the one forced
 * refresh (loopback PLC from tests/lib/tiny_httpd.h); a commit whose kept
 * ops are all profiles is not checked (no key lookup).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "didres.h"
#include "frame.h"
#include "util.h"
#include "verify.h"
#include "zst.h"

#include "../lib/tiny_httpd.h"

struct corpus {
	struct atc_buf	 frames;	/* [u32 le len][frame]... */
	struct atc_buf	 docs;		/* JSON text */
	json_t		*docj;
};

static const char *
fixtures_dir(void)
{
	const char	*d;

	d = getenv("FIXTURES_DIR");
	return d != NULL && *d != '\0' ? d : "../shared/fixtures";
}

static bool
load_zst(struct atc_buf *out, const char *name)
{
	char		 path[512], err[ATC_ERRLEN];
	FILE		*fp;
	struct atc_buf	 raw;
	uint8_t		 chunk[65536];
	size_t		 n;

	snprintf(path, sizeof(path), "%s/jetstream-corpus/%s", fixtures_dir(),
	    name);
	if ((fp = fopen(path, "rb")) == NULL)
		return false;
	atc_buf_init(&raw, 1 << 16);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		atc_buf_append(&raw, chunk, n);
	fclose(fp);
	if (atc_zst_decompress(out, raw.data, raw.len, 256u << 20, err,
	    sizeof(err)) == -1)
		fail_msg("%s: %s", name, err);
	atc_buf_cleanup(&raw);
	return true;
}

static int
setup(void **state)
{
	struct corpus	*c;
	json_error_t	 jerr;

	c = atc_xcalloc(1, sizeof(*c));
	atc_buf_init(&c->frames, 1 << 20);
	atc_buf_init(&c->docs, 1 << 16);
	if (load_zst(&c->frames, "frames.bin.zst") &&
	    load_zst(&c->docs, "did_docs.json.zst"))
		c->docj = json_loadb((const char *)c->docs.data, c->docs.len,
		    0, &jerr);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct corpus	*c = *state;

	atc_buf_cleanup(&c->frames);
	atc_buf_cleanup(&c->docs);
	json_decref(c->docj);
	free(c);
	return 0;
}

static struct corpus *
corpus_or_skip(void **state)
{
	struct corpus	*c = *state;

	if (c->docj == NULL) {
		print_message("corpus absent under %s: skipping\n",
		    fixtures_dir());
		skip();
	}
	return c;
}

/* Walks the capture: *off is the next frame; returns its bytes or NULL at
 * the end. */
static const uint8_t *
next_frame(const struct corpus *c, size_t *off, uint32_t *flen)
{
	const uint8_t	*p;

	if (*off + 4 > c->frames.len)
		return NULL;
	p = c->frames.data + *off;
	*flen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	assert_true(*flen <= c->frames.len - *off - 4);
	*off += 4 + *flen;
	return p + 4;
}

/* A resolver that can only answer from its seed (the PLC is dead). */
static struct atc_didres *
seeded(const struct corpus *c, const char *plc)
{
	struct atc_didres_opts	 o;
	struct atc_didres	*r;
	char			 err[ATC_ERRLEN];

	memset(&o, 0, sizeof(o));
	o.plc_url = plc != NULL ? plc : "http://127.0.0.1:1";
	o.attempts = 1;
	o.timeout_ms = 500;
	o.refresh_min_ms = 1;
	assert_non_null(r = atc_didres_new(&o, NULL, err, sizeof(err)));
	assert_int_equal(atc_didres_seed_json(r, (const char *)c->docs.data,
	    c->docs.len, err, sizeof(err)), 148);
	return r;
}

/* Decodes the first commit with ops (all collections kept) into f, from
 * a private copy of its bytes (*copy, free()). */
static void
first_commit(const struct corpus *c, struct atc_frame *f, uint8_t **copy)
{
	struct atc_frame_opts	 opts = { .verify = true };
	const uint8_t		*p;
	size_t			 off = 0;
	uint32_t		 flen;
	char			 err[ATC_ERRLEN];

	while ((p = next_frame(c, &off, &flen)) != NULL) {
		*copy = atc_xmalloc(flen);
		memcpy(*copy, p, flen);
		if (atc_frame_decode(f, *copy, flen, &opts, err,
		    sizeof(err)) == -1)
			fail_msg("%s", err);
		if (f->kind == ATC_FRAME_COMMIT && f->nkept > 0)
			return;
		free(*copy);
	}
	fail_msg("no commit with ops in the capture");
}

static void
assert_all_ops_failed(const struct atc_frame *f, size_t nkept)
{
	size_t	i, n = 0;

	assert_int_equal(f->nkept, 0);
	for (i = 0; i < f->nops; i++) {
		if (f->ops[i].status != ATC_OP_FAILED)
			continue;
		assert_non_null(f->ops[i].error);
		assert_memory_equal(f->ops[i].error, "signature: ", 11);
		n++;
	}
	assert_int_equal(n, nkept);
}

/* All 148 commits verify; nothing is dropped. Prints the cost. */
static void
test_verify_corpus_commits(void **state)
{
	struct corpus		*c = corpus_or_skip(state);
	struct atc_frame_opts	 opts = { .verify = true };
	struct atc_frame	 f;
	struct atc_didres	*r;
	struct verify		*v;
	struct timespec		 t0, t1;
	const uint8_t		*p;
	size_t			 off = 0, ncommits = 0, nops = 0;
	uint32_t		 flen;
	char			 err[ATC_ERRLEN];
	double			 secs = 0;

	r = seeded(c, NULL);
	v = verify_new(r, NULL);
	atc_frame_init(&f);
	while ((p = next_frame(c, &off, &flen)) != NULL) {
		if (atc_frame_decode(&f, p, flen, &opts, err, sizeof(err)) ==
		    -1)
			fail_msg("%s", err);
		if (f.kind != ATC_FRAME_COMMIT)
			continue;
		ncommits++;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (verify_commit(v, &f, err, sizeof(err)) != VERIFY_OK)
			fail_msg("seq %lld %s: %s", (long long)f.seq, f.did,
			    err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs += (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		nops += f.nkept;
		assert_false(verify_frame(v, &f));
		assert_int_equal(f.nfailed, 0);
	}
	assert_int_equal(ncommits, 148);
	assert_true(nops > 100);
	print_message("verified %zu commits, %.1f us per commit (key "
	    "cached)\n", ncommits, secs * 1e6 / (double)ncommits);
	atc_frame_cleanup(&f);
	verify_free(v);
	atc_didres_free(r);
}

/* One flipped byte in the commit block: its hash no longer matches. */
static void
test_verify_tampered_commit_rejected(void **state)
{
	struct corpus		*c = corpus_or_skip(state);
	struct atc_frame	 f;
	struct atc_didres	*r;
	struct verify		*v;
	const uint8_t		*block;
	uint8_t			*copy;
	size_t			 blen, nkept;
	char			 err[ATC_ERRLEN];

	r = seeded(c, NULL);
	v = verify_new(r, NULL);
	atc_frame_init(&f);
	first_commit(c, &f, &copy);
	assert_int_equal(atc_frame_block(&f, f.commit, f.commit_len, true,
	    &block, &blen, err, sizeof(err)), 0);
	copy[(size_t)(block - copy) + blen - 1] ^= 1;
	assert_int_equal(verify_commit(v, &f, err, sizeof(err)),
	    VERIFY_REJECTED);
	assert_non_null(strstr(err, "commit block"));
	nkept = f.nkept;
	assert_true(verify_frame(v, &f));
	assert_all_ops_failed(&f, nkept);
	free(copy);
	atc_frame_cleanup(&f);
	verify_free(v);
	atc_didres_free(r);
}

/* A frame claiming another repo than its signed commit. */
static void
test_verify_repo_mismatch_rejected(void **state)
{
	struct corpus		*c = corpus_or_skip(state);
	struct atc_frame	 f;
	struct atc_didres	*r;
	struct verify		*v;
	uint8_t			*copy;
	char			 err[ATC_ERRLEN];

	r = seeded(c, NULL);
	v = verify_new(r, NULL);
	atc_frame_init(&f);
	first_commit(c, &f, &copy);
	f.did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
	assert_int_equal(verify_commit(v, &f, err, sizeof(err)),
	    VERIFY_REJECTED);
	assert_non_null(strstr(err, "did differs"));
	free(copy);
	atc_frame_cleanup(&f);
	verify_free(v);
	atc_didres_free(r);
}

/* Seeds did with the document of another account (id rewritten). */
static void
seed_foreign_key(struct corpus *c, struct atc_didres *r, const char *did)
{
	json_t		*doc, *other = NULL, *vm;
	const char	*k;
	char		 err[ATC_ERRLEN];
	size_t		 i;

	json_object_foreach(c->docj, k, doc) {
		if (strcmp(k, did) != 0) {
			other = doc;
			break;
		}
	}
	assert_non_null(other);
	doc = json_deep_copy(other);
	json_object_set_new(doc, "id", json_string(did));
	json_array_foreach(json_object_get(doc, "verificationMethod"), i, vm)
		json_object_set_new(vm, "id", json_string("#atproto"));
	assert_int_equal(atc_didres_seed(r, did, doc, err, sizeof(err)), 0);
	json_decref(doc);
}

/* Signed by a key that is not the account's, and the refresh cannot
 * help (PLC unreachable): rejected as a mismatch. */
static void
test_verify_foreign_key_rejected(void **state)
{
	struct corpus		*c = corpus_or_skip(state);
	struct atc_frame	 f;
	struct atc_didres	*r;
	struct verify		*v;
	uint8_t			*copy;
	size_t			 nkept;
	char			 err[ATC_ERRLEN];

	r = seeded(c, NULL);
	v = verify_new(r, NULL);
	atc_frame_init(&f);
	first_commit(c, &f, &copy);
	seed_foreign_key(c, r, f.did);
	usleep(5000);
	assert_int_equal(verify_commit(v, &f, err, sizeof(err)),
	    VERIFY_REJECTED);
	if (strstr(err, "not signed by the #atproto key") == NULL)
		fail_msg("%s", err);
	nkept = f.nkept;
	assert_true(verify_frame(v, &f));
	assert_all_ops_failed(&f, nkept);
	free(copy);
	atc_frame_cleanup(&f);
	verify_free(v);
	atc_didres_free(r);
}

/* A DID whose document cannot be fetched: the commit is unresolved and
 * its ops go on unverified (the relay checked them; dropping would lose
 * them), counted and logged. */
static void
test_verify_unresolvable_did(void **state)
{
	struct corpus		*c = corpus_or_skip(state);
	struct atc_didres_opts	 o;
	struct atc_frame	 f;
	struct atc_didres	*r;
	struct verify		*v;
	uint8_t			*copy;
	char			 err[ATC_ERRLEN];

	memset(&o, 0, sizeof(o));
	o.plc_url = "http://127.0.0.1:1";
	o.attempts = 1;
	assert_non_null(r = atc_didres_new(&o, NULL, err, sizeof(err)));
	v = verify_new(r, NULL);
	atc_frame_init(&f);
	first_commit(c, &f, &copy);
	assert_int_equal(verify_commit(v, &f, err, sizeof(err)),
	    VERIFY_UNRESOLVED);
	assert_non_null(strstr(err, "unavailable"));
	{
		size_t kept = f.nkept;

		assert_false(verify_frame(v, &f));
		assert_int_equal(f.nkept, kept);
		assert_int_equal(f.nfailed, 0);
	}
	free(copy);
	atc_frame_cleanup(&f);
	verify_free(v);
	atc_didres_free(r);
}

/* The cached key is stale (rotated); the forced refresh fetches the
 * current document from the PLC and the commit verifies. */
static void
test_verify_rotated_key_refreshed(void **state)
{
	struct corpus		*c = corpus_or_skip(state);
	struct tiny_route	 route;
	struct tiny_httpd	 h;
	struct atc_frame	 f;
	struct atc_didres	*r;
	struct verify		*v;
	uint8_t			*copy;
	char			 err[ATC_ERRLEN], url[64], path[128], *body;

	atc_frame_init(&f);
	first_commit(c, &f, &copy);
	body = json_dumps(json_object_get(c->docj, f.did), 0);
	assert_non_null(body);
	snprintf(path, sizeof(path), "/%s", f.did);
	memset(&route, 0, sizeof(route));
	route.path = path;
	route.status = 200;
	route.body = body;
	assert_int_equal(tiny_start(&h, &route, 1), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", h.port);
	r = seeded(c, url);
	seed_foreign_key(c, r, f.did);
	v = verify_new(r, NULL);
	usleep(5000);
	assert_int_equal(verify_commit(v, &f, err, sizeof(err)), VERIFY_OK);
	assert_int_equal(atomic_load(&h.nrequests), 1);
	/* Now cached: no further request. */
	assert_int_equal(verify_commit(v, &f, err, sizeof(err)), VERIFY_OK);
	assert_int_equal(atomic_load(&h.nrequests), 1);
	tiny_stop(&h);
	free(body);
	free(copy);
	atc_frame_cleanup(&f);
	verify_free(v);
	atc_didres_free(r);
}

/* Profiles come for the whole network: a commit with nothing but kept
 * profile ops is passed without a key lookup; one other kept op in it is
 * enough for the check (here unresolved: the PLC is dead, nothing seeded). */
static void
test_verify_profile_only_commit_unchecked(void **state)
{
	struct corpus		*c = corpus_or_skip(state);
	struct atc_didres_opts	 o;
	struct atc_didres_stats	 st;
	struct atc_frame	 f;
	struct atc_didres	*r;
	struct verify		*v;
	uint8_t			*copy;
	const char		*first = NULL;
	char			 err[ATC_ERRLEN];
	size_t			 i, kept;

	memset(&o, 0, sizeof(o));
	o.plc_url = "http://127.0.0.1:1";
	o.attempts = 1;
	assert_non_null(r = atc_didres_new(&o, NULL, err, sizeof(err)));
	v = verify_new(r, NULL);
	atc_frame_init(&f);
	first_commit(c, &f, &copy);
	kept = f.nkept;
	for (i = 0; i < f.nops; i++) {
		if (f.ops[i].status != ATC_OP_OK)
			continue;
		if (first == NULL)
			first = f.ops[i].collection;
		f.ops[i].collection = "app.bsky.actor.profile";
	}
	assert_false(verify_frame(v, &f));
	assert_int_equal(f.nkept, kept);
	assert_int_equal(f.nfailed, 0);
	atc_didres_stats(r, &st);
	assert_int_equal(st.hits + st.misses, 0);
	for (i = 0; i < f.nops; i++)
		if (f.ops[i].status == ATC_OP_OK) {
			f.ops[i].collection = first;
			break;
		}
	assert_false(verify_frame(v, &f));
	assert_int_equal(f.nkept, kept);
	atc_didres_stats(r, &st);
	assert_int_equal(st.misses, 1);
	free(copy);
	atc_frame_cleanup(&f);
	verify_free(v);
	atc_didres_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_corpus_commits),
		cmocka_unit_test(test_verify_tampered_commit_rejected),
		cmocka_unit_test(test_verify_repo_mismatch_rejected),
		cmocka_unit_test(test_verify_foreign_key_rejected),
		cmocka_unit_test(test_verify_unresolvable_did),
		cmocka_unit_test(test_verify_rotated_key_refreshed),
		cmocka_unit_test(test_verify_profile_only_commit_unchecked),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
