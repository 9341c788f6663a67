/* SPDX-License-Identifier: ISC */
/*
 * zstd decompression, the only libzstd caller. Output always goes through
 * the streaming API in bounded steps so the declared content size of a
 * hostile frame is never trusted: the cap is checked before the buffer
 * grows past it.
 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "buf.h"
#include "util.h"
#include "zst.h"

#define ZST_STEP	(128 * 1024)

struct atc_zst {
	ZSTD_DCtx	*dctx;
	ZSTD_DDict	*ddict;		/* NULL without a dictionary */
};

bool
atc_zst_is_zstd(const void *data, size_t len)
{
	static const uint8_t	magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	return len >= 4 && memcmp(data, magic, 4) == 0;
}

/* Streams src through dctx into out, adding at most max_out bytes. The
 * input must end on a frame boundary (r == 0 once everything is flushed). */
static int
zst_stream(ZSTD_DCtx *dctx, struct atc_buf *out, const void *src, size_t len,
    size_t max_out, char *err, size_t errlen)
{
	ZSTD_inBuffer	 in = { src, len, 0 };
	ZSTD_outBuffer	 ob;
	size_t		 start = out->len, room, r = 1, inpos;
	uint8_t		 probe;

	if (len == 0)
		return atc_seterr(err, errlen, "zstd: empty input");
	while (in.pos < in.size || r != 0) {
		room = max_out - (out->len - start);
		if (room == 0) {
			/* Full: legal only if nothing more comes out. */
			ob.dst = &probe;
			ob.size = 1;
		} else {
			atc_buf_reserve(out, room < ZST_STEP ? room : ZST_STEP);
			ob.dst = out->data + out->len;
			ob.size = out->cap - out->len - 1;
			if (ob.size > room)
				ob.size = room;
		}
		ob.pos = 0;
		inpos = in.pos;
		r = ZSTD_decompressStream(dctx, &ob, &in);
		if (ZSTD_isError(r))
			return atc_seterr(err, errlen, "zstd: %s",
			    ZSTD_getErrorName(r));
		if (room == 0 && ob.pos > 0)
			return atc_seterr(err, errlen,
			    "zstd: output exceeds %zu bytes", max_out);
		if (room > 0) {
			out->len += ob.pos;
			out->data[out->len] = '\0';
		}
		if (ob.pos == 0 && in.pos == inpos && in.pos == in.size &&
		    r != 0)
			return atc_seterr(err, errlen, "zstd: truncated input");
	}
	return 0;
}

int
atc_zst_decompress(struct atc_buf *out, const void *src, size_t len,
    size_t max_out, char *err, size_t errlen)
{
	ZSTD_DCtx	*dctx;
	size_t		 old = out->len;
	int		 ret = -1;

	if ((dctx = ZSTD_createDCtx()) == NULL)
		return atc_seterr(err, errlen, "zstd: out of memory");
	if (zst_stream(dctx, out, src, len, max_out, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1)
		atc_buf_truncate(out, old);
	ZSTD_freeDCtx(dctx);
	return ret;
}

struct atc_zst *
atc_zst_new(const void *dict, size_t dictlen, char *err, size_t errlen)
{
	struct atc_zst	*z;

	z = atc_xcalloc(1, sizeof(*z));
	if ((z->dctx = ZSTD_createDCtx()) == NULL) {
		atc_seterr(err, errlen, "zstd: out of memory");
		goto fail;
	}
	if (dict != NULL && dictlen > 0) {
		if ((z->ddict = ZSTD_createDDict(dict, dictlen)) == NULL) {
			atc_seterr(err, errlen, "zstd: invalid dictionary");
			goto fail;
		}
		if (ZSTD_isError(ZSTD_DCtx_refDDict(z->dctx, z->ddict))) {
			atc_seterr(err, errlen, "zstd: cannot use dictionary");
			goto fail;
		}
	}
	return z;
fail:
	atc_zst_free(z);
	return NULL;
}

void
atc_zst_free(struct atc_zst *z)
{
	if (z == NULL)
		return;
	ZSTD_freeDCtx(z->dctx);
	ZSTD_freeDDict(z->ddict);
	free(z);
}

int
atc_zst_message(struct atc_zst *z, struct atc_buf *out, const void *src,
    size_t len, size_t max_out, char *err, size_t errlen)
{
	size_t	old = out->len;

	/* A previous failure may have left the context mid-frame. */
	(void)ZSTD_DCtx_reset(z->dctx, ZSTD_reset_session_only);
	if (zst_stream(z->dctx, out, src, len, max_out, err, errlen) == -1) {
		out->len = old;
		if (out->data != NULL)
			out->data[old] = '\0';
		return -1;
	}
	return 0;
}
