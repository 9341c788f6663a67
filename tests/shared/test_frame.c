/* SPDX-License-Identifier: ISC */
/*
 * subscribeRepos frame decoding on frames built here with a tiny canonical
 * encoder (so each test controls exactly one defect), plus the Jetstream
 * lines written from them. Hostile frames must fail with a clear error and
 * never crash; per-op defects fail only that op.
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
#include "cbor.h"
#include "cid.h"
#include "frame.h"
#include "jsout.h"
#include "util.h"

#define EVENT	"community.lexicon.calendar.event"
#define RSVP	"community.lexicon.calendar.rsvp"
#define DID	"did:plc:abcdefghijklmnopqrstuvwx"

/* --- a minimal canonical DAG-CBOR encoder ------------------------------ */

static void
enc_head(struct atc_buf *b, int major, uint64_t v)
{
	int	n, i;

	if (v < 24) {
		atc_buf_putc(b, major << 5 | (int)v);
		return;
	}
	n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffULL ? 4 : 8;
	atc_buf_putc(b, major << 5 | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 :
	    27));
	for (i = n - 1; i >= 0; i--)
		atc_buf_putc(b, (int)(v >> (8 * i)) & 0xff);
}

static void
enc_text(struct atc_buf *b, const char *s)
{
	enc_head(b, 3, strlen(s));
	atc_buf_puts(b, s);
}

static void
enc_int(struct atc_buf *b, int64_t v)
{
	if (v < 0)
		enc_head(b, 1, (uint64_t)(-1 - v));
	else
		enc_head(b, 0, (uint64_t)v);
}

static void
enc_link(struct atc_buf *b, const uint8_t *cid, size_t len)
{
	atc_buf_putc(b, 0xd8);
	atc_buf_putc(b, 42);
	enc_head(b, 2, len + 1);
	atc_buf_putc(b, 0);
	atc_buf_append(b, cid, len);
}

/* Map entries are collected then written in DAG-CBOR key order. */
struct kv {
	const char	*key;
	struct atc_buf	 val;
};

struct map {
	struct kv	e[16];
	size_t		n;
};

static struct atc_buf *
map_put(struct map *m, const char *key)
{
	assert_true(m->n < ATC_NELEM(m->e));
	m->e[m->n].key = key;
	atc_buf_init(&m->e[m->n].val, 0);
	return &m->e[m->n++].val;
}

static int
kv_cmp(const void *a, const void *b)
{
	const struct kv	*x = a, *y = b;

	return atc_cbor_keycmp((const uint8_t *)x->key, strlen(x->key),
	    (const uint8_t *)y->key, strlen(y->key));
}

static void
map_emit(struct atc_buf *out, struct map *m)
{
	size_t	i;

	qsort(m->e, m->n, sizeof(m->e[0]), kv_cmp);
	enc_head(out, 5, m->n);
	for (i = 0; i < m->n; i++) {
		enc_text(out, m->e[i].key);
		atc_buf_append(out, m->e[i].val.data, m->e[i].val.len);
		atc_buf_cleanup(&m->e[i].val);
	}
	m->n = 0;
}

static void
enc_header(struct atc_buf *out, int op, const char *t)
{
	struct map	m = { .n = 0 };

	enc_int(map_put(&m, "op"), op);
	if (t != NULL)
		enc_text(map_put(&m, "t"), t);
	map_emit(out, &m);
}

static void
enc_record(struct atc_buf *out, const char *type, const char *name)
{
	struct map	m = { .n = 0 };

	enc_text(map_put(&m, "$type"), type);
	enc_text(map_put(&m, "name"), name);
	map_emit(out, &m);
}

/* {"name" or "n\0me": "a\0b", "$type": type}, or for 3
 * {"name": [{"k\0": 0}], "$type": type}: U+0000 where asked. */
static void
enc_record_nul(struct atc_buf *out, const char *type, int nul)
{
	enc_head(out, 5, 2);
	enc_head(out, 3, 4);
	atc_buf_append(out, nul == 2 ? "n\0me" : "name", 4);
	if (nul == 3) {
		enc_head(out, 4, 1);
		enc_head(out, 5, 1);
		enc_head(out, 3, 2);
		atc_buf_append(out, "k\0", 2);
		enc_int(out, 0);
	} else {
		enc_head(out, 3, 3);
		atc_buf_append(out, "a\0b", 3);
	}
	enc_text(out, "$type");
	enc_text(out, type);
}

/* --- commit frames ------------------------------------------------------ */

struct op_spec {
	const char	*action;
	const char	*collection;
	const char	*rkey;
	bool		 no_block;	/* leave the record out of the CAR */
	bool		 corrupt;	/* flip a byte after computing the CID */
	int		 nul;		/* NUL in 1: a value, 2: a key, 3: a
					 * key of a nested map */
};

static void
car_section(struct atc_buf *car, const uint8_t *cid, size_t cidlen,
    const uint8_t *data, size_t len)
{
	size_t	n = cidlen + len;

	while (n >= 0x80) {
		atc_buf_putc(car, (int)(n & 0x7f) | 0x80);
		n >>= 7;
	}
	atc_buf_putc(car, (int)n);
	atc_buf_append(car, cid, cidlen);
	atc_buf_append(car, data, len);
}

static void
build_commit(struct atc_buf *out, const struct op_spec *ops, size_t nops)
{
	struct map	 m = { .n = 0 }, om = { .n = 0 };
	struct atc_buf	 car, hdr, rec, *v, *ov;
	uint8_t		 root[ATC_CID_SHA256_LEN], cid[ATC_CID_SHA256_LEN];
	char		 path[256];
	size_t		 i;

	atc_buf_init(&car, 0);
	atc_buf_init(&hdr, 0);
	atc_buf_init(&rec, 0);
	atc_cid_compute(root, ATC_CID_CODEC_DAGCBOR, (const uint8_t *)"\xa0",
	    1);
	/* CAR header {roots: [root], version: 1}. */
	v = map_put(&m, "roots");
	enc_head(v, 4, 1);
	enc_link(v, root, sizeof(root));
	enc_int(map_put(&m, "version"), 1);
	map_emit(&hdr, &m);
	atc_buf_putc(&car, (int)hdr.len);
	atc_buf_append(&car, hdr.data, hdr.len);
	car_section(&car, root, sizeof(root), (const uint8_t *)"\xa0", 1);

	enc_header(out, 1, "#commit");
	v = map_put(&m, "ops");
	enc_head(v, 4, nops);
	for (i = 0; i < nops; i++) {
		atc_buf_reset(&rec);
		if (ops[i].nul != 0)
			enc_record_nul(&rec, ops[i].collection, ops[i].nul);
		else
			enc_record(&rec, ops[i].collection, ops[i].rkey);
		atc_cid_compute(cid, ATC_CID_CODEC_DAGCBOR, rec.data, rec.len);
		if (ops[i].corrupt)
			rec.data[rec.len - 1] ^= 0x01;
		if (strcmp(ops[i].action, "delete") != 0 && !ops[i].no_block)
			car_section(&car, cid, sizeof(cid), rec.data, rec.len);
		snprintf(path, sizeof(path), "%s/%s", ops[i].collection,
		    ops[i].rkey);
		enc_text(map_put(&om, "action"), ops[i].action);
		enc_text(map_put(&om, "path"), path);
		ov = map_put(&om, "cid");
		if (strcmp(ops[i].action, "delete") == 0)
			atc_buf_putc(ov, 0xf6);
		else
			enc_link(ov, cid, sizeof(cid));
		if (strcmp(ops[i].action, "create") != 0)
			enc_link(map_put(&om, "prev"), root, sizeof(root));
		map_emit(v, &om);
	}
	enc_text(map_put(&m, "rev"), "3mptbypluud2a");
	enc_int(map_put(&m, "seq"), 42);
	enc_text(map_put(&m, "repo"), DID);
	enc_text(map_put(&m, "time"), "2026-07-04T14:38:07.877Z");
	atc_buf_putc(map_put(&m, "since"), 0xf6);
	v = map_put(&m, "blocks");
	enc_head(v, 2, car.len);
	atc_buf_append(v, car.data, car.len);
	enc_link(map_put(&m, "commit"), root, sizeof(root));
	/* Deprecated and unknown fields must be ignored. */
	atc_buf_putc(map_put(&m, "tooBig"), 0xf4);
	enc_head(map_put(&m, "blobs"), 4, 0);
	enc_link(map_put(&m, "prevData"), root, sizeof(root));
	v = map_put(&m, "zFuture");
	enc_head(v, 5, 1);
	enc_text(v, "x");
	enc_head(v, 4, 1);
	enc_int(v, -5);
	map_emit(out, &m);
	atc_buf_cleanup(&car);
	atc_buf_cleanup(&hdr);
	atc_buf_cleanup(&rec);
}

static const struct op_spec	two_ops[] = {
	{ "create", EVENT, "3kaaaaaaaaaa2", false, false, 0 },
	{ "delete", RSVP, "3kbbbbbbbbbb2", false, false, 0 },
};

static int
decode(struct atc_frame *f, struct atc_buf *b, const struct atc_frame_opts *o,
    char *err)
{
	err[0] = '\0';
	return atc_frame_decode(f, b->data, b->len, o, err, ATC_ERRLEN);
}

static void
test_frame_decodes_commit(void **state)
{
	struct atc_frame	 f;
	struct atc_buf		 b, line;
	json_t			*j;
	json_error_t		 jerr;
	char			 err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	atc_buf_init(&line, 0);
	build_commit(&b, two_ops, 2);
	if (decode(&f, &b, NULL, err) == -1)
		fail_msg("%s", err);
	assert_int_equal(f.kind, ATC_FRAME_COMMIT);
	assert_string_equal(f.type, "#commit");
	assert_true(f.has_seq);
	assert_int_equal(f.seq, 42);
	assert_string_equal(f.did, DID);
	assert_string_equal(f.rev, "3mptbypluud2a");
	assert_null(f.since);
	assert_string_equal(f.time, "2026-07-04T14:38:07.877Z");
	assert_int_equal(f.commit_len, ATC_CID_SHA256_LEN);
	assert_int_equal(f.nops, 2);
	assert_int_equal(f.nkept, 2);
	assert_int_equal(f.ops[0].action, ATC_OP_CREATE);
	assert_string_equal(f.ops[0].collection, EVENT);
	assert_string_equal(f.ops[0].rkey, "3kaaaaaaaaaa2");
	assert_non_null(f.ops[0].record);
	assert_true(f.ops[0].record >= b.data &&
	    f.ops[0].record + f.ops[0].record_len <= b.data + b.len);
	assert_int_equal(f.ops[0].record_offset,
	    (size_t)(f.ops[0].record - b.data));
	assert_int_equal(f.ops[1].action, ATC_OP_DELETE);
	assert_null(f.ops[1].cid);
	assert_null(f.ops[1].record);
	assert_non_null(f.ops[1].prev);

	assert_int_equal(atc_jsout_commit_op(&line, &f, 0, 1783175888085434ULL,
	    "127.0.0.1:2583", err, sizeof(err)), 0);
	if ((j = json_loads(atc_buf_cstr(&line), 0, &jerr)) == NULL)
		fail_msg("not JSON: %s: %s", jerr.text, atc_buf_cstr(&line));
	assert_string_equal(json_string_value(json_object_get(j, "did")), DID);
	assert_int_equal(json_integer_value(json_object_get(j, "time_us")),
	    1783175888085434LL);
	assert_string_equal(json_string_value(json_object_get(j, "kind")),
	    "commit");
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 42);
	assert_string_equal(json_string_value(json_object_get(j, "source")),
	    "127.0.0.1:2583");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "commit"), "record"), "name")), "3kaaaaaaaaaa2");
	assert_int_equal(strncmp(json_string_value(json_object_get(
	    json_object_get(j, "commit"), "cid")), "bafyrei", 7), 0);
	json_decref(j);

	atc_buf_reset(&line);
	assert_int_equal(atc_jsout_commit_op(&line, &f, 1, 7, NULL, err,
	    sizeof(err)), 0);
	assert_string_equal(atc_buf_cstr(&line), "{\"did\":\"" DID "\","
	    "\"time_us\":7,\"kind\":\"commit\",\"commit\":{\"rev\":"
	    "\"3mptbypluud2a\",\"operation\":\"delete\",\"collection\":\""
	    RSVP "\",\"rkey\":\"3kbbbbbbbbbb2\"}}");
	assert_int_equal(atc_jsout_identity(&line, &f, 7, err, sizeof(err)),
	    -1);
	atc_buf_cleanup(&line);
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static void
test_frame_hash_mismatch_fails_op(void **state)
{
	static const struct op_spec	ops[] = {
		{ "create", EVENT, "3kaaaaaaaaaa2", false, true, 0 },
		{ "update", EVENT, "3kccccccccccc", false, false, 0 },
	};
	struct atc_frame_opts	 noverify = { .verify = false };
	struct atc_frame	 f;
	struct atc_buf		 b, line;
	char			 err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	atc_buf_init(&line, 0);
	build_commit(&b, ops, 2);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.ops[0].status, ATC_OP_FAILED);
	assert_non_null(strstr(f.ops[0].error, "cid: hash mismatch"));
	assert_null(f.ops[0].record);
	assert_int_equal(f.ops[1].status, ATC_OP_OK);
	assert_int_equal(f.nkept, 1);
	assert_int_equal(f.nfailed, 1);
	assert_int_equal(atc_jsout_commit_op(&line, &f, 0, 1, NULL, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "jsout: op 0 is failed");
	assert_int_equal(line.len, 0);
	/* Without verification the (valid CBOR) block is accepted. */
	assert_int_equal(decode(&f, &b, &noverify, err), 0);
	assert_int_equal(f.ops[0].status, ATC_OP_OK);
	atc_buf_cleanup(&line);
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

/* U+0000 is valid in DAG-CBOR text, but jansson refuses it in object
 * keys: such a record fails (one drop line), a NUL in a value stays valid
 * and parses with JSON_ALLOW_NUL. */
static void
test_frame_nul_in_map_key_fails_op(void **state)
{
	static const struct op_spec	ops[] = {
		{ "create", EVENT, "3kaaaaaaaaaa2", false, false, 2 },
		{ "create", EVENT, "3kccccccccccc", false, false, 1 },
		{ "create", EVENT, "3kddddddddddd", false, false, 3 },
	};
	struct atc_frame	 f;
	struct atc_buf		 b, line;
	json_error_t		 jerr;
	json_t			*v, *name;
	char			 err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	atc_buf_init(&line, 0);
	build_commit(&b, ops, 3);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.ops[0].status, ATC_OP_FAILED);
	assert_non_null(strstr(f.ops[0].error,
	    "record: NUL in a map key at offset"));
	assert_int_equal(f.ops[1].status, ATC_OP_OK);
	assert_int_equal(f.ops[2].status, ATC_OP_FAILED);
	assert_non_null(strstr(f.ops[2].error,
	    "record: NUL in a map key at offset"));
	assert_int_equal(f.nkept, 1);
	assert_int_equal(f.nfailed, 2);
	assert_int_equal(atc_jsout_commit_op(&line, &f, 1, 1, NULL, err,
	    sizeof(err)), 0);
	assert_non_null(strstr((char *)line.data, "\"a\\u0000b\""));
	v = json_loadb((char *)line.data, line.len, JSON_ALLOW_NUL, &jerr);
	assert_non_null(v);
	name = json_object_get(json_object_get(json_object_get(v, "commit"),
	    "record"), "name");
	assert_int_equal(json_string_length(name), 3);
	assert_memory_equal(json_string_value(name), "a\0b", 3);
	json_decref(v);
	atc_buf_cleanup(&line);
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static void
test_frame_missing_block_fails_op(void **state)
{
	static const struct op_spec	ops[] = {
		{ "create", EVENT, "3kaaaaaaaaaa2", true, false, 0 },
	};
	struct atc_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	build_commit(&b, ops, 1);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.ops[0].status, ATC_OP_FAILED);
	assert_string_equal(f.ops[0].error, "record block missing from CAR");
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static bool
want_rsvp(void *arg, const char *collection)
{
	(*(int *)arg)++;
	return strcmp(collection, RSVP) == 0;
}

static void
test_frame_filter_skips_without_hashing(void **state)
{
	static const struct op_spec	ops[] = {
		{ "create", "app.bsky.feed.like", "3kaaaaaaaaaa2", false, true, 0 },
		{ "create", EVENT, "3kbbbbbbbbbb2", false, false, 0 },
		{ "create", RSVP, "3kcccccccccc2", false, false, 0 },
	};
	static const char *const	keep[] = { EVENT, NULL };
	struct atc_frame_opts		list = { .verify = true,
					    .collections = keep };
	struct atc_frame_opts		cb = { .verify = true,
					    .want = want_rsvp };
	struct atc_frame		f;
	struct atc_buf			b;
	char				err[ATC_ERRLEN];
	int				calls = 0;

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	build_commit(&b, ops, 3);
	assert_int_equal(decode(&f, &b, &list, err), 0);
	/* The corrupt block of the unwanted op is never hashed. */
	assert_int_equal(f.ops[0].status, ATC_OP_FILTERED);
	assert_int_equal(f.ops[1].status, ATC_OP_OK);
	assert_int_equal(f.ops[2].status, ATC_OP_FILTERED);
	assert_int_equal(f.nkept, 1);
	assert_int_equal(f.nfailed, 0);
	cb.want_arg = &calls;
	assert_int_equal(decode(&f, &b, &cb, err), 0);
	assert_int_equal(calls, 3);
	assert_int_equal(f.ops[0].status, ATC_OP_FILTERED);
	assert_int_equal(f.ops[1].status, ATC_OP_FILTERED);
	assert_int_equal(f.ops[2].status, ATC_OP_OK);
	/* Keeping everything exposes the corrupt block. */
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.ops[0].status, ATC_OP_FAILED);
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static void
test_frame_rejects_truncated(void **state)
{
	struct atc_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];
	size_t			n;

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	build_commit(&b, two_ops, 2);
	for (n = 0; n < b.len; n++) {
		err[0] = '\0';
		if (atc_frame_decode(&f, b.data, n, NULL, err,
		    sizeof(err)) != -1)
			fail_msg("prefix of %zu bytes accepted", n);
		assert_true(err[0] != '\0');
		assert_int_equal(f.nops, 0);
	}
	assert_int_equal(atc_frame_decode(&f, b.data, b.len, NULL, err,
	    sizeof(err)), 0);
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static void
test_frame_rejects_oversize(void **state)
{
	struct atc_frame	 f;
	uint8_t			*big;
	char			 err[ATC_ERRLEN];

	atc_frame_init(&f);
	big = atc_xcalloc(1, 6000000);
	assert_int_equal(atc_frame_decode(&f, big, 6000000, NULL, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "frame: size 6000000 > 5242880");
	free(big);
	atc_frame_cleanup(&f);
}

static void
test_frame_rejects_garbage(void **state)
{
	static const char	text[] = "{\"op\":1,\"t\":\"#commit\"}";
	struct atc_frame	f;
	struct atc_buf		b;
	uint8_t			junk[512];
	uint32_t		x = 12345;
	char			err[ATC_ERRLEN];
	size_t			i, k;

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	assert_int_equal(atc_frame_decode(&f, (const uint8_t *)text,
	    strlen(text), NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "cbor: string length 2481325212011932706 "
	    "exceeds input at offset 0");
	assert_int_equal(atc_frame_decode(&f, junk, 0, NULL, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "frame: empty");
	/* Random bytes, and a valid frame with random bytes flipped: errors
	 * or success, never a crash (run under ASan for the full value). */
	build_commit(&b, two_ops, 2);
	for (i = 0; i < 2000; i++) {
		for (k = 0; k < sizeof(junk); k++) {
			x = x * 1103515245 + 12345;
			junk[k] = (uint8_t)(x >> 16);
		}
		assert_int_equal(atc_frame_decode(&f, junk, sizeof(junk), NULL,
		    err, sizeof(err)), -1);
		x = x * 1103515245 + 12345;
		k = (x >> 8) % b.len;
		b.data[k] ^= (uint8_t)(1 + (x & 0x7f));
		(void)atc_frame_decode(&f, b.data, b.len, NULL, err,
		    sizeof(err));
		b.data[k] ^= (uint8_t)(1 + (x & 0x7f));
	}
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static void
test_frame_rejects_extra_object(void **state)
{
	struct atc_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	build_commit(&b, two_ops, 2);
	atc_buf_putc(&b, 0xa0);
	assert_int_equal(decode(&f, &b, NULL, err), -1);
	assert_non_null(strstr(err, "1 trailing bytes after payload"));
	atc_buf_reset(&b);
	enc_header(&b, 1, "#commit");
	assert_int_equal(decode(&f, &b, NULL, err), -1);
	assert_string_equal(err, "frame: no payload after header");
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static void
test_frame_rejects_too_many_ops(void **state)
{
	struct op_spec		*ops;
	struct atc_frame	 f;
	struct atc_buf		 b;
	char			 err[ATC_ERRLEN];
	size_t			 i;

	ops = atc_xcalloc(ATC_FRAME_MAXOPS + 1, sizeof(*ops));
	for (i = 0; i <= ATC_FRAME_MAXOPS; i++) {
		ops[i].action = "delete";
		ops[i].collection = EVENT;
		ops[i].rkey = "3kaaaaaaaaaa2";
	}
	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	build_commit(&b, ops, ATC_FRAME_MAXOPS);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.nops, ATC_FRAME_MAXOPS);
	atc_buf_reset(&b);
	build_commit(&b, ops, ATC_FRAME_MAXOPS + 1);
	assert_int_equal(decode(&f, &b, NULL, err), -1);
	assert_non_null(strstr(err, "frame: 201 ops > 200"));
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
	free(ops);
}

static void
test_frame_bad_path_and_action_fail_op(void **state)
{
	static const struct op_spec	ops[] = {
		{ "create", EVENT, "a/b", false, false, 0 },
		{ "upsert", EVENT, "3kaaaaaaaaaa2", false, false, 0 },
	};
	struct atc_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	build_commit(&b, ops, 2);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.ops[0].status, ATC_OP_FAILED);
	assert_non_null(strstr(f.ops[0].error, "path is not collection/rkey"));
	assert_int_equal(f.ops[1].status, ATC_OP_FAILED);
	assert_non_null(strstr(f.ops[1].error, "unknown action"));
	assert_int_equal(f.nfailed, 2);
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

/* A non-commit frame {seq, did, time, extra...}. */
static void
build_simple(struct atc_buf *b, int op, const char *t, const char *k1,
    const char *v1, const char *k2, int bool2)
{
	struct map	m = { .n = 0 };

	atc_buf_reset(b);
	enc_header(b, op, t);
	if (op == 1 && strcmp(t, "#info") != 0) {
		enc_int(map_put(&m, "seq"), 7);
		enc_text(map_put(&m, "did"), DID);
		enc_text(map_put(&m, "time"), "2026-07-04T14:38:07.877Z");
	}
	if (k1 != NULL)
		enc_text(map_put(&m, k1), v1);
	if (k2 != NULL)
		atc_buf_putc(map_put(&m, k2), bool2 ? 0xf5 : 0xf4);
	map_emit(b, &m);
}

static void
test_frame_decodes_identity_and_account(void **state)
{
	struct atc_frame	f;
	struct atc_buf		b, line;
	char			err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	atc_buf_init(&line, 0);
	build_simple(&b, 1, "#identity", "handle", "alice.test", NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_IDENTITY);
	assert_string_equal(f.handle, "alice.test");
	assert_int_equal(atc_jsout_identity(&line, &f, 5, err, sizeof(err)),
	    0);
	assert_string_equal(atc_buf_cstr(&line), "{\"did\":\"" DID "\","
	    "\"time_us\":5,\"kind\":\"identity\",\"identity\":{\"did\":\""
	    DID "\",\"handle\":\"alice.test\",\"seq\":7,\"time\":"
	    "\"2026-07-04T14:38:07.877Z\"}}");

	build_simple(&b, 1, "#account", "status", "takendown", "active", 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_ACCOUNT);
	assert_false(f.active);
	assert_string_equal(f.status, "takendown");
	atc_buf_reset(&line);
	assert_int_equal(atc_jsout_account(&line, &f, 5, err, sizeof(err)), 0);
	assert_string_equal(atc_buf_cstr(&line), "{\"did\":\"" DID "\","
	    "\"time_us\":5,\"kind\":\"account\",\"account\":{\"active\":false,"
	    "\"did\":\"" DID "\",\"seq\":7,\"status\":\"takendown\",\"time\":"
	    "\"2026-07-04T14:38:07.877Z\"}}");

	build_simple(&b, 1, "#account", NULL, NULL, NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), -1);
	assert_string_equal(err, "frame: #account active is not a boolean");
	build_simple(&b, 1, "#identity", "handle", "x", NULL, 0);
	b.data[b.len - 1] = 0;	/* NUL inside a text field */
	assert_int_equal(decode(&f, &b, NULL, err), -1);
	assert_non_null(strstr(err, "NUL byte in field 'handle'"));
	atc_buf_cleanup(&line);
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static void
test_frame_maps_legacy_and_ignores_unknown(void **state)
{
	struct atc_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	build_simple(&b, 1, "#handle", "handle", "bob.test", NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_IDENTITY);
	assert_string_equal(f.handle, "bob.test");
	build_simple(&b, 1, "#tombstone", NULL, NULL, NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_ACCOUNT);
	assert_false(f.active);
	assert_string_equal(f.status, "deleted");
	build_simple(&b, 1, "#migrate", "migrateTo", "x", NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_IGNORED);
	build_simple(&b, 1, "#somethingNew", "x", "y", NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_IGNORED);
	assert_string_equal(f.type, "#somethingNew");
	build_simple(&b, 2, "#commit", "x", "y", NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_IGNORED);
	assert_int_equal(f.op, 2);
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

static void
test_frame_decodes_info_and_error(void **state)
{
	struct atc_frame	f;
	struct atc_buf		b;
	char			err[ATC_ERRLEN];

	atc_frame_init(&f);
	atc_buf_init(&b, 0);
	build_simple(&b, 1, "#info", "name", "OutdatedCursor", NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_INFO);
	assert_string_equal(f.name, "OutdatedCursor");
	assert_null(f.message);
	assert_false(f.has_seq);
	build_simple(&b, -1, NULL, "error", "FutureCursor", NULL, 0);
	assert_int_equal(decode(&f, &b, NULL, err), 0);
	assert_int_equal(f.kind, ATC_FRAME_ERROR);
	assert_string_equal(f.name, "FutureCursor");
	assert_string_equal(atc_frame_kind_name(f.kind), "error");
	atc_buf_cleanup(&b);
	atc_frame_cleanup(&f);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_frame_decodes_commit),
		cmocka_unit_test(test_frame_hash_mismatch_fails_op),
		cmocka_unit_test(test_frame_missing_block_fails_op),
		cmocka_unit_test(test_frame_nul_in_map_key_fails_op),
		cmocka_unit_test(test_frame_filter_skips_without_hashing),
		cmocka_unit_test(test_frame_rejects_truncated),
		cmocka_unit_test(test_frame_rejects_oversize),
		cmocka_unit_test(test_frame_rejects_garbage),
		cmocka_unit_test(test_frame_rejects_extra_object),
		cmocka_unit_test(test_frame_rejects_too_many_ops),
		cmocka_unit_test(test_frame_bad_path_and_action_fail_op),
		cmocka_unit_test(test_frame_decodes_identity_and_account),
		cmocka_unit_test(test_frame_maps_legacy_and_ignores_unknown),
		cmocka_unit_test(test_frame_decodes_info_and_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
