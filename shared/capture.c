/* SPDX-License-Identifier: ISC */
/*
 * Capture files of `[u32 LE length][frame]` records. A zstd capture is
 * decompressed once into the capture's own buffer (capped); frames are
 * then borrowed pointers, so iterating costs nothing per record.
 */
#include <string.h>

#include "capture.h"
#include "frame.h"
#include "util.h"
#include "zst.h"

int
atc_capture_open(struct atc_capture *cap, const uint8_t *data, size_t len,
    char *err, size_t errlen)
{
	memset(cap, 0, sizeof(*cap));
	atc_buf_init(&cap->plain, 0);
	if (!atc_zst_is_zstd(data, len)) {
		cap->data = data;
		cap->len = len;
		return 0;
	}
	if (atc_zst_decompress(&cap->plain, data, len, ATC_CAPTURE_MAXLEN, err,
	    errlen) == -1)
		return -1;
	cap->data = cap->plain.data;
	cap->len = cap->plain.len;
	return 0;
}

int
atc_capture_next(struct atc_capture *cap, const uint8_t **frame, size_t *len,
    char *err, size_t errlen)
{
	const uint8_t	*p;
	uint32_t	 n;

	if (cap->pos == cap->len)
		return 0;
	if (cap->len - cap->pos < 4)
		return atc_seterr(err, errlen,
		    "capture: truncated length of record %zu at offset %zu",
		    cap->index, cap->pos);
	p = cap->data + cap->pos;
	n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	if (n > ATC_FRAME_MAXLEN)
		return atc_seterr(err, errlen,
		    "capture: record %zu of %u bytes > %u at offset %zu",
		    cap->index, n, ATC_FRAME_MAXLEN, cap->pos);
	if (n > cap->len - cap->pos - 4)
		return atc_seterr(err, errlen,
		    "capture: truncated record %zu at offset %zu", cap->index,
		    cap->pos);
	*frame = p + 4;
	*len = n;
	cap->pos += 4 + (size_t)n;
	cap->index++;
	return 1;
}

void
atc_capture_cleanup(struct atc_capture *cap)
{
	atc_buf_cleanup(&cap->plain);
	cap->data = NULL;
	cap->len = cap->pos = 0;
}
