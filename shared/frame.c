/* SPDX-License-Identifier: ISC */
/*
 * subscribeRepos frames: header {op, t} + payload, both strict DAG-CBOR,
 * decoded in one pass with the cursor reader. Byte fields (CIDs, CAR,
 * records) point into the caller's frame; text fields are NUL-terminated
 * copies in the frame's scratch buffer, reserved up front for the whole
 * frame so pointers never move while decoding. Per-op problems (missing
 * block, hash mismatch) fail that op only; a structurally bad frame fails
 * as a whole. Ops the filter rejects are never hashed or decoded.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "frame.h"
#include "frame_priv.h"
#include "util.h"

/* Payload fields we understand; anything else is skipped. */
struct fields {
	struct atc_cbor_item	seq, repo, did, rev, since, time, commit,
				blocks, handle, active, status, name, message,
				error;
	bool			have_ops;
	const uint8_t		*base;		/* the frame's first byte */
};

void
atc_frame_init(struct atc_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->ops = atc_xcalloc(ATC_FRAME_MAXOPS, sizeof(*f->ops));
	atc_buf_init(&f->scratch, 0);
}

void
atc_frame_cleanup(struct atc_frame *f)
{
	free(f->ops);
	f->ops = NULL;
	atc_buf_cleanup(&f->scratch);
}

static void
frame_reset(struct atc_frame *f)
{
	struct atc_frame_op	*ops = f->ops;
	struct atc_buf		 scratch = f->scratch;

	memset(f, 0, sizeof(*f));
	f->ops = ops;
	f->scratch = scratch;
	f->type = "";
}

/* Copies s[0..len) into the pre-reserved scratch; NULL if it holds NUL. */
const char *
frame_scratch_str(struct atc_frame *f, const uint8_t *s, size_t len)
{
	char	*p;

	if (memchr(s, '\0', len) != NULL)
		return NULL;
	assert(f->scratch.len + len + 1 <= f->scratch.cap);
	p = (char *)f->scratch.data + f->scratch.len;
	memcpy(p, s, len);
	p[len] = '\0';
	f->scratch.len += len + 1;
	return p;
}

const char *
frame_scratch_printf(struct atc_frame *f, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	assert(f->scratch.len + ATC_ERRLEN <= f->scratch.cap);
	p = (char *)f->scratch.data + f->scratch.len;
	va_start(ap, fmt);
	n = vsnprintf(p, ATC_ERRLEN, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n >= ATC_ERRLEN)
		n = ATC_ERRLEN - 1;
	f->scratch.len += (size_t)n + 1;
	return p;
}

/* Skips whatever remains of the value just read (a container's entries). */
int
frame_skip_rest(struct atc_cbor *c, int depth, char *err, size_t errlen)
{
	struct atc_cbor_item	it;

	while (c->depth > depth)
		if (atc_cbor_read(c, &it, err, errlen) == -1)
			return -1;
	return 0;
}

static int
text_field(struct atc_frame *f, const struct atc_cbor_item *it,
    const char *name, bool nullable, const char **out, char *err,
    size_t errlen)
{
	if (it->offset == 0) {		/* absent: payload offsets are > 0 */
		*out = NULL;
		return 0;
	}
	if (nullable && it->type == ATC_CBOR_NULL) {
		*out = NULL;
		return 0;
	}
	if (it->type != ATC_CBOR_TEXT)
		return atc_seterr(err, errlen,
		    "frame: field '%s' is not a string at offset %zu", name,
		    it->offset);
	if ((*out = frame_scratch_str(f, it->ptr, it->len)) == NULL)
		return atc_seterr(err, errlen,
		    "frame: NUL byte in field '%s' at offset %zu", name,
		    it->offset);
	return 0;
}

/* Reads the payload map, keeping the fields in flds and the ops in f. */
static int
parse_payload(struct atc_frame *f, struct atc_cbor *c, struct fields *flds,
    bool commit, char *err, size_t errlen)
{
	struct atc_cbor_item	 key, it, *dst;
	size_t			 pairs;
	int			 d;

	if (atc_cbor_read(c, &it, err, errlen) == -1)
		return -1;
	if (it.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen,
		    "frame: payload is not a map at offset %zu", it.offset);
	for (pairs = it.count; pairs > 0; pairs--) {
		if (atc_cbor_read(c, &key, err, errlen) == -1)
			return -1;
		d = c->depth;
		if (atc_cbor_read(c, &it, err, errlen) == -1)
			return -1;
		dst = NULL;
		if (commit && atc_cbor_eq(&key, "ops")) {
			if (frame_parse_ops(f, c, &it, err, errlen) == -1)
				return -1;
			flds->have_ops = true;
		}
#define FIELD(n)	else if (atc_cbor_eq(&key, #n)) dst = &flds->n
		FIELD(seq); FIELD(repo); FIELD(did); FIELD(rev); FIELD(since);
		FIELD(time); FIELD(commit); FIELD(blocks); FIELD(handle);
		FIELD(active); FIELD(status); FIELD(name); FIELD(message);
		FIELD(error);
#undef FIELD
		if (dst != NULL)
			*dst = it;
		if (frame_skip_rest(c, d, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static bool
present(const struct atc_cbor_item *it)
{
	return it->offset != 0;		/* the payload never starts at 0 */
}

static int
require(const struct atc_frame *f, const struct atc_cbor_item *it,
    const char *name, char *err, size_t errlen)
{
	if (!present(it))
		return atc_seterr(err, errlen, "frame: %s lacks field '%s'",
		    f->type, name);
	return 0;
}

static int
common_fields(struct atc_frame *f, struct fields *x, bool need_seq,
    const char *didname, char *err, size_t errlen)
{
	struct atc_cbor_item	*did = strcmp(didname, "repo") == 0 ?
				    &x->repo : &x->did;

	if (need_seq) {
		if (require(f, &x->seq, "seq", err, errlen) == -1)
			return -1;
		if (x->seq.type != ATC_CBOR_INT || x->seq.i < 0)
			return atc_seterr(err, errlen,
			    "frame: seq is not a non-negative integer at "
			    "offset %zu", x->seq.offset);
		f->has_seq = true;
		f->seq = x->seq.i;
	}
	if (require(f, did, didname, err, errlen) == -1 ||
	    text_field(f, did, didname, false, &f->did, err, errlen) == -1 ||
	    require(f, &x->time, "time", err, errlen) == -1 ||
	    text_field(f, &x->time, "time", false, &f->time, err, errlen) == -1)
		return -1;
	return 0;
}

static int
open_blocks(struct atc_frame *f, struct fields *x, struct atc_car *car,
    char *err, size_t errlen)
{
	if (require(f, &x->blocks, "blocks", err, errlen) == -1)
		return -1;
	if (x->blocks.type != ATC_CBOR_BYTES)
		return atc_seterr(err, errlen,
		    "frame: blocks is not a byte string at offset %zu",
		    x->blocks.offset);
	f->blocks = x->blocks.ptr;
	f->blocks_len = x->blocks.len;
	f->blocks_offset = (size_t)(x->blocks.ptr - x->base);
	return atc_car_open(car, f->blocks, f->blocks_len, f->blocks_offset,
	    err, errlen);
}

static int
decode_commit(struct atc_frame *f, struct fields *x,
    const struct atc_frame_opts *o, char *err, size_t errlen)
{
	struct atc_car	car;
	size_t		i;

	if (common_fields(f, x, true, "repo", err, errlen) == -1 ||
	    require(f, &x->rev, "rev", err, errlen) == -1 ||
	    text_field(f, &x->rev, "rev", false, &f->rev, err, errlen) == -1 ||
	    text_field(f, &x->since, "since", true, &f->since, err,
	    errlen) == -1 ||
	    require(f, &x->commit, "commit", err, errlen) == -1)
		return -1;
	if (x->commit.type != ATC_CBOR_LINK)
		return atc_seterr(err, errlen,
		    "frame: commit is not a CID at offset %zu",
		    x->commit.offset);
	f->commit = x->commit.ptr;
	f->commit_len = x->commit.len;
	if (!x->have_ops)
		return atc_seterr(err, errlen, "frame: #commit lacks field "
		    "'ops'");
	if (open_blocks(f, x, &car, err, errlen) == -1)
		return -1;
	for (i = 0; i < f->nops; i++) {
		frame_resolve_op(f, &f->ops[i], &car, o);
		if (f->ops[i].status == ATC_OP_OK)
			f->nkept++;
		else if (f->ops[i].status == ATC_OP_FAILED)
			f->nfailed++;
	}
	return 0;
}

static int
decode_kind(struct atc_frame *f, struct fields *x,
    const struct atc_frame_opts *o, char *err, size_t errlen)
{
	struct atc_car	car;

	switch (f->kind) {
	case ATC_FRAME_COMMIT:
		return decode_commit(f, x, o, err, errlen);
	case ATC_FRAME_SYNC:
		if (common_fields(f, x, true, "did", err, errlen) == -1 ||
		    text_field(f, &x->rev, "rev", false, &f->rev, err,
		    errlen) == -1 ||
		    open_blocks(f, x, &car, err, errlen) == -1)
			return -1;
		f->commit = car.root;
		f->commit_len = car.root_len;
		return 0;
	case ATC_FRAME_IDENTITY:
		return common_fields(f, x, true, "did", err, errlen) == -1 ||
		    text_field(f, &x->handle, "handle", true, &f->handle, err,
		    errlen) == -1 ? -1 : 0;
	case ATC_FRAME_ACCOUNT:
		if (common_fields(f, x, true, "did", err, errlen) == -1 ||
		    text_field(f, &x->status, "status", true, &f->status, err,
		    errlen) == -1)
			return -1;
		if (strcmp(f->type, "#tombstone") == 0) {
			f->active = false;
			f->status = "deleted";
			return 0;
		}
		if (x->active.type != ATC_CBOR_BOOL)
			return atc_seterr(err, errlen,
			    "frame: #account active is not a boolean");
		f->active = x->active.b;
		return 0;
	case ATC_FRAME_INFO:
		return text_field(f, &x->name, "name", false, &f->name, err,
		    errlen) == -1 || text_field(f, &x->message, "message",
		    true, &f->message, err, errlen) == -1 ? -1 : 0;
	case ATC_FRAME_ERROR:
		return text_field(f, &x->error, "error", false, &f->name, err,
		    errlen) == -1 || text_field(f, &x->message, "message",
		    true, &f->message, err, errlen) == -1 ? -1 : 0;
	default:
		return 0;
	}
}

static enum atc_frame_kind
kind_of(int64_t op, const char *t)
{
	if (op == -1)
		return ATC_FRAME_ERROR;
	if (op != 1)
		return ATC_FRAME_IGNORED;
	if (strcmp(t, "#commit") == 0)
		return ATC_FRAME_COMMIT;
	if (strcmp(t, "#sync") == 0)
		return ATC_FRAME_SYNC;
	if (strcmp(t, "#identity") == 0 || strcmp(t, "#handle") == 0)
		return ATC_FRAME_IDENTITY;
	if (strcmp(t, "#account") == 0 || strcmp(t, "#tombstone") == 0)
		return ATC_FRAME_ACCOUNT;
	if (strcmp(t, "#info") == 0)
		return ATC_FRAME_INFO;
	return ATC_FRAME_IGNORED;	/* #migrate and anything newer */
}

int
atc_frame_decode(struct atc_frame *f, const uint8_t *data, size_t len,
    const struct atc_frame_opts *opts, char *err, size_t errlen)
{
	struct atc_cbor		 c;
	struct atc_cbor_item	 it, key;
	struct fields		 x;
	size_t			 hlen, pairs;
	bool			 have_op = false;
	int			 ret = -1;

	frame_reset(f);
	memset(&x, 0, sizeof(x));
	x.base = data;
	if (len == 0)
		return atc_seterr(err, errlen, "frame: empty");
	if (len > ATC_FRAME_MAXLEN)
		return atc_seterr(err, errlen, "frame: size %zu > %u", len,
		    ATC_FRAME_MAXLEN);
	atc_buf_reset(&f->scratch);
	atc_buf_reserve(&f->scratch,
	    len + 64 + (size_t)ATC_FRAME_MAXOPS * (ATC_ERRLEN + 4));

	/* Header {op, t}. */
	atc_cbor_init(&c, data, len, 0);
	if (atc_cbor_read(&c, &it, err, errlen) == -1)
		goto out;
	if (it.type != ATC_CBOR_MAP) {
		atc_seterr(err, errlen, "frame: header is not a map");
		goto out;
	}
	for (pairs = it.count; pairs > 0; pairs--) {
		if (atc_cbor_read(&c, &key, err, errlen) == -1 ||
		    atc_cbor_read(&c, &it, err, errlen) == -1)
			goto out;
		if (atc_cbor_eq(&key, "op") && it.type == ATC_CBOR_INT) {
			f->op = it.i;
			have_op = true;
		} else if (atc_cbor_eq(&key, "t") && it.type == ATC_CBOR_TEXT) {
			f->type = frame_scratch_str(f, it.ptr, it.len);
			if (f->type == NULL) {
				f->type = "";
				atc_seterr(err, errlen,
				    "frame: NUL byte in header t");
				goto out;
			}
		} else if (frame_skip_rest(&c, 1, err, errlen) == -1)
			goto out;
	}
	if (!have_op) {
		atc_seterr(err, errlen, "frame: header lacks integer op");
		goto out;
	}
	hlen = (size_t)(c.p - c.base);
	if (hlen == len) {
		atc_seterr(err, errlen, "frame: no payload after header");
		goto out;
	}

	/* Payload: exactly one more value, then nothing. */
	f->kind = kind_of(f->op, f->type);
	atc_cbor_init(&c, data + hlen, len - hlen, hlen);
	if (parse_payload(f, &c, &x, f->kind == ATC_FRAME_COMMIT, err,
	    errlen) == -1)
		goto out;
	if (c.p != c.end) {
		atc_seterr(err, errlen,
		    "frame: %zu trailing bytes after payload at offset %zu",
		    (size_t)(c.end - c.p), atc_cbor_offset(&c));
		goto out;
	}
	if (decode_kind(f, &x, opts, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1) {
		f->kind = ATC_FRAME_IGNORED;
		f->nops = f->nkept = f->nfailed = 0;
	}
	return ret;
}

int
atc_frame_block(const struct atc_frame *f, const uint8_t *cid,
    size_t cid_len, bool verify, const uint8_t **block, size_t *block_len,
    char *err, size_t errlen)
{
	struct atc_car		car;
	struct atc_car_block	b;
	int			r;

	if (f->blocks == NULL)
		return atc_seterr(err, errlen, "frame: no blocks");
	if (atc_car_open(&car, f->blocks, f->blocks_len, f->blocks_offset,
	    err, errlen) == -1)
		return -1;
	if ((r = atc_car_find(&car, cid, cid_len, &b, err, errlen)) == -1)
		return -1;
	if (r == 0)
		return atc_seterr(err, errlen, "frame: block not in CAR");
	if (verify && atc_car_block_verify(&b, err, errlen) == -1)
		return -1;
	*block = b.data;
	*block_len = b.len;
	return 0;
}

const char *
atc_frame_kind_name(enum atc_frame_kind k)
{
	static const char *const	names[] = {
		[ATC_FRAME_IGNORED] = "ignored",
		[ATC_FRAME_COMMIT] = "commit",
		[ATC_FRAME_SYNC] = "sync",
		[ATC_FRAME_IDENTITY] = "identity",
		[ATC_FRAME_ACCOUNT] = "account",
		[ATC_FRAME_INFO] = "info",
		[ATC_FRAME_ERROR] = "error",
	};

	return (size_t)k < ATC_NELEM(names) ? names[k] : "unknown";
}

const char *
atc_op_action_name(enum atc_op_action a)
{
	switch (a) {
	case ATC_OP_CREATE:
		return "create";
	case ATC_OP_UPDATE:
		return "update";
	case ATC_OP_DELETE:
		return "delete";
	}
	return "unknown";
}
