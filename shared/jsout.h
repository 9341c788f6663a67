/* SPDX-License-Identifier: ISC */
#ifndef ATC_JSOUT_H
#define ATC_JSOUT_H

#include <stddef.h>
#include <stdint.h>

struct atc_buf;
struct atc_frame;

/*
 * Jetstream v1 JSON lines from decoded frames, appended to a buffer without
 * a trailing newline. The commit line with a source is the RabbitMQ
 * message body of the system contract.
 */

/* Appends {"did","time_us","kind":"commit","commit":{"rev","operation",
 * "collection","rkey","record"?,"cid"?}} for f->ops[op_index]; when source
 * is not NULL appends ,"seq":N,"source":"..." at the top level. The op must
 * have status OK (a FAILED/FILTERED op or a non-commit frame gives -1 and
 * err). On error out is restored to its old length. */
int	atc_jsout_commit_op(struct atc_buf *out, const struct atc_frame *f,
	    size_t op_index, uint64_t time_us, const char *source, char *err,
	    size_t errlen);
/* Appends {"did","time_us","kind":"identity","identity":{"did","handle"?,
 * "seq","time"}}. Returns 0, or -1 and err if f is not an identity frame. */
int	atc_jsout_identity(struct atc_buf *out, const struct atc_frame *f,
	    uint64_t time_us, char *err, size_t errlen);
/* Appends {"did","time_us","kind":"account","account":{"active","did",
 * "seq","status"?,"time"}}. Returns 0, or -1 and err. */
int	atc_jsout_account(struct atc_buf *out, const struct atc_frame *f,
	    uint64_t time_us, char *err, size_t errlen);

#endif
