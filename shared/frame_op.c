/* SPDX-License-Identifier: ISC */
/*
 * Per-op work of frame decoding: parsing the ops array of a #commit and
 * resolving each op's record block (filter first, then lookup, size limit,
 * hash, strict validation). A failure here marks the op FAILED with a
 * reason in the frame's scratch; it never fails the frame. A record with
 * U+0000 in a map key is valid DAG-CBOR but fails here: JSON parsers
 * (jansson) refuse NUL in object keys, so it could not be published.
 */
#include <stdio.h>
#include <string.h>

#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "frame.h"
#include "frame_priv.h"
#include "util.h"

static bool
op_wanted(const struct atc_frame_opts *o, const char *collection)
{
	const char *const	*c;

	if (o == NULL || (o->collections == NULL && o->want == NULL))
		return true;
	if (o->collections != NULL)
		for (c = o->collections; *c != NULL; c++)
			if (strcmp(*c, collection) == 0)
				return true;
	if (o->want != NULL)
		return o->want(o->want_arg, collection);
	return false;
}

static int
parse_op(struct atc_frame *f, struct atc_cbor *c, char *err, size_t errlen)
{
	struct atc_frame_op	*op = &f->ops[f->nops];
	struct atc_cbor_item	 it, action, path;
	const uint8_t		*slash;
	size_t			 pairs, at;
	int			 d;

	memset(op, 0, sizeof(*op));
	memset(&action, 0, sizeof(action));
	memset(&path, 0, sizeof(path));
	at = atc_cbor_offset(c);
	if (atc_cbor_read(c, &it, err, errlen) == -1)
		return -1;
	if (it.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen,
		    "frame: op is not a map at offset %zu", it.offset);
	for (pairs = it.count; pairs > 0; pairs--) {
		struct atc_cbor_item	key;

		if (atc_cbor_read(c, &key, err, errlen) == -1)
			return -1;
		d = c->depth;
		if (atc_cbor_read(c, &it, err, errlen) == -1)
			return -1;
		if (atc_cbor_eq(&key, "action"))
			action = it;
		else if (atc_cbor_eq(&key, "path"))
			path = it;
		else if (atc_cbor_eq(&key, "cid") &&
		    it.type == ATC_CBOR_LINK) {
			op->cid = it.ptr;
			op->cid_len = it.len;
		} else if (atc_cbor_eq(&key, "prev") &&
		    it.type == ATC_CBOR_LINK) {
			op->prev = it.ptr;
			op->prev_len = it.len;
		} else if ((atc_cbor_eq(&key, "cid") ||
		    atc_cbor_eq(&key, "prev")) && it.type != ATC_CBOR_NULL)
			return atc_seterr(err, errlen,
			    "frame: op field '%.*s' is not a CID at offset %zu",
			    (int)key.len, key.ptr, it.offset);
		if (frame_skip_rest(c, d, err, errlen) == -1)
			return -1;
	}
	if (action.type != ATC_CBOR_TEXT || path.type != ATC_CBOR_TEXT)
		return atc_seterr(err, errlen,
		    "frame: op without text action and path at offset %zu", at);
	f->nops++;
	if (atc_cbor_eq(&action, "create"))
		op->action = ATC_OP_CREATE;
	else if (atc_cbor_eq(&action, "update"))
		op->action = ATC_OP_UPDATE;
	else if (atc_cbor_eq(&action, "delete"))
		op->action = ATC_OP_DELETE;
	else {
		op->status = ATC_OP_FAILED;
		op->error = frame_scratch_printf(f,
		    "unknown action at offset %zu", action.offset);
	}
	slash = memchr(path.ptr, '/', path.len);
	if (slash == NULL || slash == path.ptr ||
	    slash == path.ptr + path.len - 1 ||
	    memchr(slash + 1, '/', path.len - (size_t)(slash - path.ptr) - 1)
	    != NULL ||
	    (op->collection = frame_scratch_str(f, path.ptr,
	    (size_t)(slash - path.ptr))) == NULL ||
	    (op->rkey = frame_scratch_str(f, slash + 1,
	    path.len - (size_t)(slash - path.ptr) - 1)) == NULL) {
		op->collection = op->rkey = NULL;
		op->status = ATC_OP_FAILED;
		op->error = frame_scratch_printf(f,
		    "path is not collection/rkey at offset %zu", path.offset);
	}
	return 0;
}

/*
 * Returns the offset of the first map key holding a NUL byte in the
 * (already validated) record, or -1 when there is none. A NUL character is
 * a 0x00 byte in UTF-8, so records without any 0x00 byte skip the walk.
 */
static long long
record_nul_key(const uint8_t *data, size_t len, size_t origin)
{
	struct atc_cbor		 c;
	struct atc_cbor_item	 it;
	struct atc_cbor_level	*lv;
	char			 e[ATC_ERRLEN];
	bool			 is_key;

	if (memchr(data, 0, len) == NULL)
		return -1;
	atc_cbor_init(&c, data, len, origin);
	do {
		lv = c.depth > 0 ? &c.stack[c.depth - 1] : NULL;
		is_key = lv != NULL && lv->map && lv->left % 2 == 0;
		if (atc_cbor_read(&c, &it, e, sizeof(e)) == -1)
			return -1;
		if (is_key && memchr(it.ptr, 0, it.len) != NULL)
			return (long long)it.offset;
	} while (!atc_cbor_done(&c));
	return -1;
}

int
frame_parse_ops(struct atc_frame *f, struct atc_cbor *c,
    const struct atc_cbor_item *arr, char *err, size_t errlen)
{
	size_t	i;

	if (arr->type != ATC_CBOR_ARRAY)
		return atc_seterr(err, errlen,
		    "frame: ops is not an array at offset %zu", arr->offset);
	if (arr->count > ATC_FRAME_MAXOPS)
		return atc_seterr(err, errlen,
		    "frame: %zu ops > %d at offset %zu", arr->count,
		    ATC_FRAME_MAXOPS, arr->offset);
	for (i = 0; i < arr->count; i++)
		if (parse_op(f, c, err, errlen) == -1)
			return -1;
	return 0;
}

void
frame_resolve_op(struct atc_frame *f, struct atc_frame_op *op,
    const struct atc_car *car, const struct atc_frame_opts *o)
{
	struct atc_car_block	b;
	char			e[ATC_ERRLEN];
	long long		nul;
	int			r;

	if (op->status == ATC_OP_FAILED)
		return;
	if (!op_wanted(o, op->collection)) {
		op->status = ATC_OP_FILTERED;
		return;
	}
	if (op->action == ATC_OP_DELETE)
		return;
	if (op->cid == NULL) {
		op->error = frame_scratch_printf(f, "%s without cid",
		    atc_op_action_name(op->action));
		goto fail;
	}
	if ((r = atc_car_find(car, op->cid, op->cid_len, &b, e,
	    sizeof(e))) != 1) {
		op->error = frame_scratch_printf(f, "%s", r == 0 ?
		    "record block missing from CAR" : e);
		goto fail;
	}
	if (b.len > ATC_FRAME_MAXRECORD) {
		op->error = frame_scratch_printf(f,
		    "record of %zu bytes > %u at offset %zu", b.len,
		    ATC_FRAME_MAXRECORD, b.offset);
		goto fail;
	}
	if ((o == NULL || o->verify) &&
	    atc_car_block_verify(&b, e, sizeof(e)) == -1) {
		op->error = frame_scratch_printf(f, "%s", e);
		goto fail;
	}
	if (atc_cbor_validate(b.data, b.len, b.offset, e, sizeof(e)) == -1) {
		op->error = frame_scratch_printf(f, "record: %s", e);
		goto fail;
	}
	if ((b.data[0] >> 5) != 5) {
		op->error = frame_scratch_printf(f,
		    "record at offset %zu is not a map", b.offset);
		goto fail;
	}
	if ((nul = record_nul_key(b.data, b.len, b.offset)) != -1) {
		op->error = frame_scratch_printf(f,
		    "record: NUL in a map key at offset %lld", nul);
		goto fail;
	}
	op->record = b.data;
	op->record_len = b.len;
	op->record_offset = b.offset;
	return;
fail:
	op->status = ATC_OP_FAILED;
}
