/* SPDX-License-Identifier: ISC */
/*
 * DAG-CBOR -> atproto JSON in one pass over the strict cursor, written
 * directly into the output buffer: no tree, no per-node allocation. The
 * writer keeps its own small stack (same depth bound as the reader) only to
 * place commas, colons and closing brackets.
 */
#include <string.h>

#include "atjson.h"
#include "buf.h"
#include "cbor.h"
#include "cid.h"
#include "util.h"

struct jlevel {
	size_t	left;	/* entries (maps: keys + values) still to write */
	size_t	done;	/* entries written */
	bool	map;
};

static const char	b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char	hex_digits[] = "0123456789abcdef";

void
atc_atjson_base64(struct atc_buf *out, const uint8_t *d, size_t len)
{
	uint8_t	*o;
	size_t	 i;
	uint32_t v;

	atc_buf_reserve(out, (len + 2) / 3 * 4);
	o = out->data + out->len;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		*o++ = b64_alpha[v >> 18];
		*o++ = b64_alpha[(v >> 12) & 0x3f];
		*o++ = b64_alpha[(v >> 6) & 0x3f];
		*o++ = b64_alpha[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)d[i] << 16;
		*o++ = b64_alpha[v >> 18];
		*o++ = b64_alpha[(v >> 12) & 0x3f];
	} else if (len - i == 2) {
		v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
		*o++ = b64_alpha[v >> 18];
		*o++ = b64_alpha[(v >> 12) & 0x3f];
		*o++ = b64_alpha[(v >> 6) & 0x3f];
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

void
atc_atjson_string(struct atc_buf *out, const char *str, size_t len)
{
	const uint8_t	*s = (const uint8_t *)str;
	size_t		 i, run = 0;
	char		 esc[6];

	atc_buf_reserve(out, len + 2);
	atc_buf_putc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
			continue;
		atc_buf_append(out, s + run, i - run);
		run = i + 1;
		switch (s[i]) {
		case '"':
			atc_buf_append(out, "\\\"", 2);
			break;
		case '\\':
			atc_buf_append(out, "\\\\", 2);
			break;
		case '\n':
			atc_buf_append(out, "\\n", 2);
			break;
		case '\r':
			atc_buf_append(out, "\\r", 2);
			break;
		case '\t':
			atc_buf_append(out, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex_digits[s[i] >> 4];
			esc[5] = hex_digits[s[i] & 0xf];
			atc_buf_append(out, esc, 6);
			break;
		}
	}
	atc_buf_append(out, s + run, len - run);
	atc_buf_putc(out, '"');
}

static void
put_int(struct atc_buf *out, int64_t v)
{
	char		 tmp[24], *p = tmp + sizeof(tmp);
	uint64_t	 u;

	u = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	atc_buf_append(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

static int
put_scalar(struct atc_buf *out, const struct atc_cbor_item *it, char *err,
    size_t errlen)
{
	char	cid[ATC_CID_STRLEN];
	int	n;

	switch (it->type) {
	case ATC_CBOR_INT:
		put_int(out, it->i);
		break;
	case ATC_CBOR_BOOL:
		atc_buf_puts(out, it->b ? "true" : "false");
		break;
	case ATC_CBOR_NULL:
		atc_buf_append(out, "null", 4);
		break;
	case ATC_CBOR_TEXT:
		atc_atjson_string(out, (const char *)it->ptr, it->len);
		break;
	case ATC_CBOR_BYTES:
		atc_buf_append(out, "{\"$bytes\":\"", 11);
		atc_atjson_base64(out, it->ptr, it->len);
		atc_buf_append(out, "\"}", 2);
		break;
	case ATC_CBOR_LINK:
		if ((n = atc_cid_format(cid, sizeof(cid), it->ptr, it->len,
		    err, errlen)) == -1)
			return -1;
		atc_buf_append(out, "{\"$link\":\"", 10);
		atc_buf_append(out, cid, (size_t)n);
		atc_buf_append(out, "\"}", 2);
		break;
	default:
		return atc_seterr(err, errlen, "atjson: unexpected item");
	}
	return 0;
}

int
atc_atjson_write_value(struct atc_buf *out, struct atc_cbor *c, char *err,
    size_t errlen)
{
	struct jlevel		 st[ATC_CBOR_MAXDEPTH + 1], *top;
	struct atc_cbor_item	 it;
	int			 d = 0;

	do {
		if (atc_cbor_read(c, &it, err, errlen) == -1)
			return -1;
		top = d > 0 ? &st[d - 1] : NULL;
		if (top != NULL) {
			if (top->done > 0)
				atc_buf_putc(out, top->map &&
				    top->done % 2 == 1 ? ':' : ',');
			top->done++;
			top->left--;
		}
		if (it.type == ATC_CBOR_ARRAY || it.type == ATC_CBOR_MAP) {
			atc_buf_putc(out, it.type == ATC_CBOR_MAP ? '{' : '[');
			if (it.count == 0)
				atc_buf_putc(out,
				    it.type == ATC_CBOR_MAP ? '}' : ']');
			else {
				/* The reader already bounds the depth. */
				st[d].map = it.type == ATC_CBOR_MAP;
				st[d].left = st[d].map ? it.count * 2 :
				    it.count;
				st[d].done = 0;
				d++;
			}
		} else if (put_scalar(out, &it, err, errlen) == -1)
			return -1;
		while (d > 0 && st[d - 1].left == 0) {
			atc_buf_putc(out, st[d - 1].map ? '}' : ']');
			d--;
		}
	} while (d > 0);
	return 0;
}

int
atc_atjson_write(struct atc_buf *out, const uint8_t *data, size_t len,
    size_t origin, char *err, size_t errlen)
{
	struct atc_cbor	c;
	size_t		old = out->len;
	int		ret = -1;

	atc_cbor_init(&c, data, len, origin);
	if (atc_atjson_write_value(out, &c, err, errlen) == -1)
		goto out;
	if (c.p != c.end) {
		atc_seterr(err, errlen, "cbor: %zu trailing bytes at offset %zu",
		    (size_t)(c.end - c.p), atc_cbor_offset(&c));
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		atc_buf_truncate(out, old);
	return ret;
}
