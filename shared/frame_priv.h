/* SPDX-License-Identifier: ISC */
#ifndef ATC_FRAME_PRIV_H
#define ATC_FRAME_PRIV_H

/* Internals shared by frame.c and frame_op.c only. */
#include <stddef.h>
#include <stdint.h>

struct atc_car;
struct atc_cbor;
struct atc_cbor_item;
struct atc_frame;
struct atc_frame_op;
struct atc_frame_opts;

/* Copies s[0..len) into the frame's pre-reserved scratch as a C string
 * (borrowed, valid until the next decode). NULL when s holds a NUL byte. */
const char	*frame_scratch_str(struct atc_frame *, const uint8_t *s,
		    size_t len);
/* Formats a message of at most ATC_ERRLEN bytes into the scratch. */
const char	*frame_scratch_printf(struct atc_frame *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Reads until the cursor is back at depth (skips a container's rest). */
int		 frame_skip_rest(struct atc_cbor *, int depth, char *err,
		    size_t errlen);
/* Parses the ops array whose head is arr into f->ops. Returns 0 or -1. */
int		 frame_parse_ops(struct atc_frame *, struct atc_cbor *,
		    const struct atc_cbor_item *arr, char *err, size_t errlen);
/* Filters, finds, checks and validates the record block of op. */
void		 frame_resolve_op(struct atc_frame *, struct atc_frame_op *,
		    const struct atc_car *, const struct atc_frame_opts *);

#endif
