/* SPDX-License-Identifier: ISC */
/*
 * Jetstream v1 event lines. The record is converted from its verified
 * DAG-CBOR block straight into the output buffer (atjson), so a line costs
 * one pass over the record and no intermediate objects. Field names and
 * nesting follow production Jetstream; key order is ours (JSON consumers
 * must not depend on it).
 */
#include <inttypes.h>
#include <string.h>

#include "atjson.h"
#include "buf.h"
#include "cid.h"
#include "frame.h"
#include "jsout.h"
#include "util.h"

static void
put_str(struct atc_buf *out, const char *key, const char *val)
{
	atc_buf_puts(out, key);
	atc_atjson_string(out, val, strlen(val));
}

static void
envelope(struct atc_buf *out, const struct atc_frame *f, uint64_t time_us,
    const char *kind)
{
	put_str(out, "{\"did\":", f->did);
	atc_buf_appendf(out, ",\"time_us\":%" PRIu64 ",\"kind\":\"%s\",\"%s\":{",
	    time_us, kind, kind);
}

int
atc_jsout_commit_op(struct atc_buf *out, const struct atc_frame *f,
    size_t op_index, uint64_t time_us, const char *source, char *err,
    size_t errlen)
{
	const struct atc_frame_op	*op;
	char				 cid[ATC_CID_STRLEN];
	size_t				 old = out->len;
	int				 n, ret = -1;

	if (f->kind != ATC_FRAME_COMMIT || op_index >= f->nops)
		return atc_seterr(err, errlen, "jsout: no such commit op");
	op = &f->ops[op_index];
	if (op->status != ATC_OP_OK)
		return atc_seterr(err, errlen, "jsout: op %zu is %s", op_index,
		    op->status == ATC_OP_FILTERED ? "filtered" : "failed");
	envelope(out, f, time_us, "commit");
	put_str(out, "\"rev\":", f->rev);
	put_str(out, ",\"operation\":", atc_op_action_name(op->action));
	put_str(out, ",\"collection\":", op->collection);
	put_str(out, ",\"rkey\":", op->rkey);
	if (op->action != ATC_OP_DELETE) {
		atc_buf_puts(out, ",\"record\":");
		if (atc_atjson_write(out, op->record, op->record_len,
		    op->record_offset, err, errlen) == -1)
			goto out;
		if ((n = atc_cid_format(cid, sizeof(cid), op->cid, op->cid_len,
		    err, errlen)) == -1)
			goto out;
		atc_buf_puts(out, ",\"cid\":\"");
		atc_buf_append(out, cid, (size_t)n);
		atc_buf_putc(out, '"');
	}
	atc_buf_putc(out, '}');
	if (source != NULL) {
		atc_buf_appendf(out, ",\"seq\":%" PRId64, f->seq);
		put_str(out, ",\"source\":", source);
	}
	atc_buf_putc(out, '}');
	ret = 0;
out:
	if (ret == -1)
		atc_buf_truncate(out, old);
	return ret;
}

int
atc_jsout_identity(struct atc_buf *out, const struct atc_frame *f,
    uint64_t time_us, char *err, size_t errlen)
{
	if (f->kind != ATC_FRAME_IDENTITY)
		return atc_seterr(err, errlen, "jsout: not an identity frame");
	envelope(out, f, time_us, "identity");
	put_str(out, "\"did\":", f->did);
	if (f->handle != NULL)
		put_str(out, ",\"handle\":", f->handle);
	atc_buf_appendf(out, ",\"seq\":%" PRId64, f->seq);
	put_str(out, ",\"time\":", f->time);
	atc_buf_puts(out, "}}");
	return 0;
}

int
atc_jsout_account(struct atc_buf *out, const struct atc_frame *f,
    uint64_t time_us, char *err, size_t errlen)
{
	if (f->kind != ATC_FRAME_ACCOUNT)
		return atc_seterr(err, errlen, "jsout: not an account frame");
	envelope(out, f, time_us, "account");
	atc_buf_puts(out, f->active ? "\"active\":true" : "\"active\":false");
	put_str(out, ",\"did\":", f->did);
	atc_buf_appendf(out, ",\"seq\":%" PRId64, f->seq);
	if (f->status != NULL)
		put_str(out, ",\"status\":", f->status);
	put_str(out, ",\"time\":", f->time);
	atc_buf_puts(out, "}}");
	return 0;
}
