/* SPDX-License-Identifier: ISC */
/*
 * Synthetic but valid #commit frames for the end-to-end benchmark. The
 * DAG-CBOR is written by hand in canonical form (map keys sorted length
 * first, shortest heads), every CID is the SHA-256 of its block's bytes,
 * revs and rkeys are TIDs that grow with seq. The CAR slice holds the
 * commit object, a one-entry MST node and the record; the commit's
 * signature is placeholder bytes: the consumer neither resolves DIDs nor
 * checks signatures, and signing would only measure libsecp256k1.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto_hash.h"
#include "loadgen.h"
#include "util.h"

#define LG_CID_LEN	36	/* CIDv1 dag-cbor sha2-256 */
#define LG_EVENT_NSID	"community.lexicon.calendar.event"
#define LG_RSVP_NSID	"community.lexicon.calendar.rsvp"

static const char	lg_b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char	lg_s32[] = "234567abcdefghijklmnopqrstuvwxyz";

/* ---- DAG-CBOR writing ---------------------------------------------- */

static void
cb_head(struct atc_buf *b, int major, uint64_t v)
{
	uint8_t	h[9];
	size_t	n, i;

	if (v < 24) {
		h[0] = (uint8_t)(major << 5 | v);
		n = 1;
	} else if (v <= 0xff) {
		h[0] = (uint8_t)(major << 5 | 24);
		h[1] = (uint8_t)v;
		n = 2;
	} else if (v <= 0xffff) {
		h[0] = (uint8_t)(major << 5 | 25);
		n = 3;
	} else if (v <= 0xffffffffULL) {
		h[0] = (uint8_t)(major << 5 | 26);
		n = 5;
	} else {
		h[0] = (uint8_t)(major << 5 | 27);
		n = 9;
	}
	if (n > 2)
		for (i = 1; i < n; i++)
			h[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	atc_buf_append(b, h, n);
}

static void
cb_text(struct atc_buf *b, const char *s)
{
	size_t	len = strlen(s);

	cb_head(b, 3, len);
	atc_buf_append(b, s, len);
}

static void
cb_bytes(struct atc_buf *b, const void *p, size_t len)
{
	cb_head(b, 2, len);
	atc_buf_append(b, p, len);
}

static void
cb_link(struct atc_buf *b, const uint8_t cid[LG_CID_LEN])
{
	cb_head(b, 6, 42);
	cb_head(b, 2, LG_CID_LEN + 1);
	atc_buf_putc(b, 0);
	atc_buf_append(b, cid, LG_CID_LEN);
}

static void
cb_null(struct atc_buf *b)
{
	atc_buf_putc(b, 0xf6);
}

static void
cb_bool(struct atc_buf *b, int v)
{
	atc_buf_putc(b, v ? 0xf5 : 0xf4);
}

static void
lg_cid(uint8_t cid[LG_CID_LEN], const void *data, size_t len)
{
	cid[0] = 0x01;
	cid[1] = 0x71;
	cid[2] = 0x12;
	cid[3] = 0x20;
	atc_sha256(cid + 4, data, len);
}

/* "b" + RFC 4648 base32, lower case, no padding. */
static void
lg_cid_string(char *out, const uint8_t cid[LG_CID_LEN])
{
	uint32_t	acc = 0;
	size_t		i, o = 0;
	int		bits = 0;

	out[o++] = 'b';
	for (i = 0; i < LG_CID_LEN; i++) {
		acc = acc << 8 | cid[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = lg_b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = lg_b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

static void
lg_tid(char out[14], uint64_t us)
{
	uint64_t	v = (us & ((1ULL << 53) - 1)) << 10;
	int		i;

	for (i = 0; i < 13; i++)
		out[i] = lg_s32[(v >> (60 - 5 * i)) & 31];
	out[13] = '\0';
}

static void
lg_iso(char out[32], uint64_t us)
{
	time_t		secs = (time_t)(us / 1000000);
	struct tm	tm;
	size_t		n;

	gmtime_r(&secs, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(out + n, 32 - n, ".%03uZ",
	    (unsigned)(us / 1000 % 1000));
}

/* ---- the plan: which op each seq is ---------------------------------- */

void
loadgen_init(struct loadgen *g, uint64_t base_us, uint64_t ndids,
    uint64_t lag)
{
	uint8_t		md[ATC_SHA256_LEN];
	char		seed[64];
	uint64_t	i;
	int		j;

	g->base_us = base_us;
	g->ndids = ndids;
	g->lag = lag;
	g->dids = atc_xcalloc(ndids, sizeof(*g->dids));
	for (i = 0; i < ndids; i++) {
		(void)snprintf(seed, sizeof(seed), "atcal-bench-did-%llu",
		    (unsigned long long)i);
		atc_sha256(md, seed, strlen(seed));
		memcpy(g->dids[i], "did:plc:", 8);
		for (j = 0; j < 24; j++)
			g->dids[i][8 + j] = lg_b32[md[j] & 31];
		g->dids[i][32] = '\0';
	}
}

void
loadgen_cleanup(struct loadgen *g)
{
	free(g->dids);
	g->dids = NULL;
}

/* Largest k' <= k - lag whose k' % 10 is in want (a bitmask of residues);
 * -1 when there is none. */
static int64_t
lg_pick(const struct loadgen *g, uint64_t k, unsigned want)
{
	int64_t	kk;

	if (k < g->lag)
		return -1;
	for (kk = (int64_t)(k - g->lag); kk >= 0; kk--)
		if (want & (1u << (kk % 10)))
			return kk;
	return -1;
}

#define LG_LIVE_EVENTS	(1u << 0 | 1u << 1 | 1u << 2 | 1u << 7)

struct lg_op {
	enum loadgen_kind	kind;
	uint64_t		d, k;
	uint64_t		rec_seq;	/* seq that created the record written */
	uint64_t		subj_seq;	/* RSVP create: the event's seq */
};

static uint64_t
lg_seq(const struct loadgen *g, uint64_t d, uint64_t k)
{
	return k * g->ndids + d + 1;
}

static void
lg_plan(const struct loadgen *g, uint64_t s, struct lg_op *op)
{
	int64_t		kk;
	uint64_t	e;

	memset(op, 0, sizeof(*op));
	op->d = (s - 1) % g->ndids;
	op->k = (s - 1) / g->ndids;
	op->kind = LOADGEN_EVENT_CREATE;
	op->rec_seq = s;
	switch (op->k % 10) {
	case 4:
	case 6:
		kk = lg_pick(g, op->k, LG_LIVE_EVENTS);
		if (kk < 0)
			break;
		e = (op->d + 1 + (op->k % 10 == 6)) % g->ndids;
		op->kind = LOADGEN_RSVP_CREATE;
		op->subj_seq = lg_seq(g, e, (uint64_t)kk);
		break;
	case 5:
		/* The RSVP at k' % 10 == 4 was a real one iff k' >= lag. */
		kk = lg_pick(g, op->k, 1u << 4);
		if (kk < 0 || (uint64_t)kk < g->lag)
			break;
		op->kind = LOADGEN_RSVP_DELETE;
		op->rec_seq = lg_seq(g, op->d, (uint64_t)kk);
		break;
	case 8:
		if ((kk = lg_pick(g, op->k, 1u << 0)) < 0)
			break;
		op->kind = LOADGEN_EVENT_UPDATE;
		op->rec_seq = lg_seq(g, op->d, (uint64_t)kk);
		break;
	case 9:
		if ((kk = lg_pick(g, op->k, 1u << 3)) < 0)
			break;
		op->kind = LOADGEN_EVENT_DELETE;
		op->rec_seq = lg_seq(g, op->d, (uint64_t)kk);
		break;
	default:
		break;
	}
}

static const char *
lg_nsid(enum loadgen_kind kind)
{
	return kind == LOADGEN_RSVP_CREATE || kind == LOADGEN_RSVP_DELETE ?
	    LG_RSVP_NSID : LG_EVENT_NSID;
}

enum loadgen_kind
loadgen_op(const struct loadgen *g, uint64_t s, char *uri, size_t urilen,
    char rev[14])
{
	struct lg_op	op;
	char		rkey[14];

	lg_plan(g, s, &op);
	lg_tid(rev, g->base_us + s);
	lg_tid(rkey, g->base_us + op.rec_seq);
	(void)snprintf(uri, urilen, "at://%s/%s/%s", g->dids[op.d],
	    lg_nsid(op.kind), rkey);
	return op.kind;
}

/* ---- records and frames -------------------------------------------- */

/* The event record created at seq rec_seq, as written by seq s. */
static void
lg_event(const struct loadgen *g, uint64_t rec_seq, uint64_t s,
    struct atc_buf *b)
{
	char	created[32], text[160];

	lg_iso(created, g->base_us + rec_seq);
	cb_head(b, 5, 8);
	cb_text(b, "mode");
	cb_text(b, LG_EVENT_NSID "#inperson");
	cb_text(b, "name");
	(void)snprintf(text, sizeof(text), "Bench meetup %llu",
	    (unsigned long long)rec_seq);
	cb_text(b, text);
	cb_text(b, "$type");
	cb_text(b, LG_EVENT_NSID);
	cb_text(b, "status");
	cb_text(b, LG_EVENT_NSID "#scheduled");
	cb_text(b, "startsAt");
	cb_text(b, "2031-09-01T18:00:00.000Z");
	cb_text(b, "createdAt");
	cb_text(b, created);
	cb_text(b, "locations");
	cb_head(b, 4, 1);
	cb_head(b, 5, 4);
	cb_text(b, "name");
	cb_text(b, "Community hall");
	cb_text(b, "$type");
	cb_text(b, "community.lexicon.location.address");
	cb_text(b, "country");
	cb_text(b, "FR");
	cb_text(b, "locality");
	cb_text(b, "Lyon");
	cb_text(b, "description");
	(void)snprintf(text, sizeof(text), "Synthetic calendar event for the "
	    "atcal end-to-end benchmark, version %llu.",
	    (unsigned long long)s);
	cb_text(b, text);
}

static void
lg_rsvp(const struct loadgen *g, uint64_t s, uint64_t subj_seq,
    struct atc_buf *b)
{
	struct atc_buf	ev;
	uint8_t		cid[LG_CID_LEN];
	char		created[32], cidstr[80], uri[128], rkey[14];

	atc_buf_init(&ev, 512);
	lg_event(g, subj_seq, subj_seq, &ev);
	lg_cid(cid, ev.data, ev.len);
	atc_buf_cleanup(&ev);
	lg_cid_string(cidstr, cid);
	lg_tid(rkey, g->base_us + subj_seq);
	(void)snprintf(uri, sizeof(uri), "at://%s/%s/%s",
	    g->dids[(subj_seq - 1) % g->ndids], LG_EVENT_NSID, rkey);
	lg_iso(created, g->base_us + s);
	cb_head(b, 5, 4);
	cb_text(b, "$type");
	cb_text(b, LG_RSVP_NSID);
	cb_text(b, "status");
	cb_text(b, s % 3 == 0 ? LG_RSVP_NSID "#interested" :
	    LG_RSVP_NSID "#going");
	cb_text(b, "subject");
	cb_head(b, 5, 2);
	cb_text(b, "cid");
	cb_text(b, cidstr);
	cb_text(b, "uri");
	cb_text(b, uri);
	cb_text(b, "createdAt");
	cb_text(b, created);
}

static void
lg_car_section(struct atc_buf *car, const uint8_t cid[LG_CID_LEN],
    const struct atc_buf *block)
{
	uint8_t		vi[10];
	uint64_t	n = LG_CID_LEN + block->len;
	size_t		k = 0;

	do {
		vi[k] = (uint8_t)(n & 0x7f);
		n >>= 7;
		if (n != 0)
			vi[k] |= 0x80;
		k++;
	} while (n != 0);
	atc_buf_append(car, vi, k);
	atc_buf_append(car, cid, LG_CID_LEN);
	atc_buf_append(car, block->data, block->len);
}

void
loadgen_frame(const struct loadgen *g, uint64_t s, uint64_t time_us,
    struct atc_buf *out)
{
	struct lg_op	op;
	struct atc_buf	rec, mst, commit, car, hdr;
	uint8_t		rec_cid[LG_CID_LEN], mst_cid[LG_CID_LEN];
	uint8_t		commit_cid[LG_CID_LEN], sig[64];
	char		rev[14], since[14], rkey[14], path[96], when[32];
	const char	*did;
	int		has_rec;

	lg_plan(g, s, &op);
	did = g->dids[op.d];
	lg_tid(rev, g->base_us + s);
	lg_tid(rkey, g->base_us + op.rec_seq);
	(void)snprintf(path, sizeof(path), "%s/%s", lg_nsid(op.kind), rkey);
	has_rec = op.kind != LOADGEN_EVENT_DELETE &&
	    op.kind != LOADGEN_RSVP_DELETE;
	atc_buf_init(&rec, 512);
	atc_buf_init(&mst, 128);
	atc_buf_init(&commit, 256);
	atc_buf_init(&car, 1024);
	atc_buf_init(&hdr, 64);

	if (op.kind == LOADGEN_RSVP_CREATE)
		lg_rsvp(g, s, op.subj_seq, &rec);
	else if (has_rec)
		lg_event(g, op.rec_seq, s, &rec);
	if (has_rec)
		lg_cid(rec_cid, rec.data, rec.len);

	/* MST node of a repo holding just this record: {e, l}. */
	cb_head(&mst, 5, 2);
	cb_text(&mst, "e");
	if (has_rec) {
		cb_head(&mst, 4, 1);
		cb_head(&mst, 5, 4);
		cb_text(&mst, "k");
		cb_bytes(&mst, path, strlen(path));
		cb_text(&mst, "p");
		cb_head(&mst, 0, 0);
		cb_text(&mst, "t");
		cb_null(&mst);
		cb_text(&mst, "v");
		cb_link(&mst, rec_cid);
	} else
		cb_head(&mst, 4, 0);
	cb_text(&mst, "l");
	cb_null(&mst);
	lg_cid(mst_cid, mst.data, mst.len);

	atc_sha256(sig, rev, 13);
	atc_sha256(sig + 32, did, strlen(did));
	cb_head(&commit, 5, 6);
	cb_text(&commit, "did");
	cb_text(&commit, did);
	cb_text(&commit, "rev");
	cb_text(&commit, rev);
	cb_text(&commit, "sig");
	cb_bytes(&commit, sig, sizeof(sig));
	cb_text(&commit, "data");
	cb_link(&commit, mst_cid);
	cb_text(&commit, "prev");
	cb_null(&commit);
	cb_text(&commit, "version");
	cb_head(&commit, 0, 3);
	lg_cid(commit_cid, commit.data, commit.len);

	cb_head(&hdr, 5, 2);
	cb_text(&hdr, "roots");
	cb_head(&hdr, 4, 1);
	cb_link(&hdr, commit_cid);
	cb_text(&hdr, "version");
	cb_head(&hdr, 0, 1);
	assert(hdr.len < 128);		/* so its uvarint is one byte */
	atc_buf_putc(&car, (int)hdr.len);
	atc_buf_append(&car, hdr.data, hdr.len);
	lg_car_section(&car, commit_cid, &commit);
	lg_car_section(&car, mst_cid, &mst);
	if (has_rec)
		lg_car_section(&car, rec_cid, &rec);

	/* Header {t, op}, then the payload, keys in canonical order. */
	cb_head(out, 5, 2);
	cb_text(out, "t");
	cb_text(out, "#commit");
	cb_text(out, "op");
	cb_head(out, 0, 1);
	cb_head(out, 5, 11);
	cb_text(out, "ops");
	cb_head(out, 4, 1);
	cb_head(out, 5, 3);
	cb_text(out, "cid");
	if (has_rec)
		cb_link(out, rec_cid);
	else
		cb_null(out);
	cb_text(out, "path");
	cb_text(out, path);
	cb_text(out, "action");
	cb_text(out, op.kind == LOADGEN_EVENT_UPDATE ? "update" :
	    has_rec ? "create" : "delete");
	cb_text(out, "rev");
	cb_text(out, rev);
	cb_text(out, "seq");
	cb_head(out, 0, s);
	cb_text(out, "repo");
	cb_text(out, did);
	cb_text(out, "time");
	lg_iso(when, time_us);
	cb_text(out, when);
	cb_text(out, "blobs");
	cb_head(out, 4, 0);
	cb_text(out, "since");
	if (op.k == 0)
		cb_null(out);
	else {
		lg_tid(since, g->base_us + s - g->ndids);
		cb_text(out, since);
	}
	cb_text(out, "blocks");
	cb_bytes(out, car.data, car.len);
	cb_text(out, "commit");
	cb_link(out, commit_cid);
	cb_text(out, "rebase");
	cb_bool(out, 0);
	cb_text(out, "tooBig");
	cb_bool(out, 0);

	atc_buf_cleanup(&hdr);
	atc_buf_cleanup(&car);
	atc_buf_cleanup(&commit);
	atc_buf_cleanup(&mst);
	atc_buf_cleanup(&rec);
}
