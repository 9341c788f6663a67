/* SPDX-License-Identifier: ISC */
#ifndef ATC_CAPTURE_H
#define ATC_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Capture files: repeated `[u32 little-endian length][frame bytes]`
 * records, either plain or zstd-compressed (detected by magic). Frames are
 * returned as borrowed pointers into the (decompressed) bytes.
 */
#define ATC_CAPTURE_MAXLEN	((size_t)1 << 30)	/* decompressed bytes */

struct atc_capture {
	const uint8_t	*data;		/* records, borrowed or in plain */
	size_t		 len;
	size_t		 pos;		/* next record */
	size_t		 index;		/* records returned so far */
	struct atc_buf	 plain;		/* owned: decompressed storage */
};

/* Opens data[0..len) (borrowed; must outlive cap when not compressed).
 * zstd input is decompressed into cap->plain (at most ATC_CAPTURE_MAXLEN).
 * Returns 0 or -1 and err. Call atc_capture_cleanup() in both cases. */
int	atc_capture_open(struct atc_capture *cap, const uint8_t *data,
	    size_t len, char *err, size_t errlen);
/* Returns 1 and the next frame (borrowed, valid while cap lives), 0 at the
 * end, -1 and err for a truncated record or one over ATC_FRAME_MAXLEN. */
int	atc_capture_next(struct atc_capture *cap, const uint8_t **frame,
	    size_t *len, char *err, size_t errlen);
void	atc_capture_cleanup(struct atc_capture *);

#endif
