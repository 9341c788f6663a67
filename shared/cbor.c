/* SPDX-License-Identifier: ISC */
/*
 * Strict DAG-CBOR pull reader. The cursor owns no memory: items borrow the
 * input, and the fixed stack of open containers (depth <= 32) is what lets
 * a flat reader enforce the structural rules (key order, duplicates, key
 * type) without recursion or allocation. Every limit is checked against
 * the declared value before anything is consumed, so hostile lengths fail
 * fast with the offset of the offending head.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cbor.h"
#include "cid.h"
#include "util.h"

static int
cbor_err(const struct atc_cbor *c, const uint8_t *at, char *err,
    size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int
cbor_err(const struct atc_cbor *c, const uint8_t *at, char *err,
    size_t errlen, const char *fmt, ...)
{
	char	msg[160];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return atc_seterr(err, errlen, "cbor: %s at offset %zu", msg,
	    c->origin + (size_t)(at - c->base));
}

void
atc_cbor_init(struct atc_cbor *c, const uint8_t *data, size_t len,
    size_t origin)
{
	c->base = data;
	c->p = data;
	c->end = data + len;
	c->origin = origin;
	c->depth = 0;
	c->started = false;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
 * Returns the offset of the first bad byte, or len when valid. */
static size_t
utf8_check(const uint8_t *s, size_t len)
{
	size_t	i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3; cp = s[i] & 0x07; min = 0x10000;
		} else
			return i;
		if (len - i <= n)
			return i;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

int
atc_cbor_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return alen == 0 ? 0 : memcmp(a, b, alen);
}

/* Reads the argument of a head whose initial byte was ib (p after it).
 * Enforces shortest form and definite lengths. */
static int
cbor_arg(struct atc_cbor *c, const uint8_t *head, uint8_t ib, uint64_t *out,
    char *err, size_t errlen)
{
	uint8_t		ai = ib & 0x1f;
	uint64_t	v = 0;
	size_t		n, i;

	if (ai < 24) {
		*out = ai;
		return 0;
	}
	if (ai == 31)
		return cbor_err(c, head, err, errlen,
		    "indefinite length not allowed");
	if (ai > 27)
		return cbor_err(c, head, err, errlen,
		    "reserved additional info %u", ai);
	n = (size_t)1 << (ai - 24);
	if ((size_t)(c->end - c->p) < n)
		return cbor_err(c, head, err, errlen, "truncated head");
	for (i = 0; i < n; i++)
		v = (v << 8) | c->p[i];
	c->p += n;
	if ((n == 1 && v < 24) || (n == 2 && v <= 0xff) ||
	    (n == 4 && v <= 0xffff) || (n == 8 && v <= 0xffffffffULL))
		return cbor_err(c, head, err, errlen,
		    "non-minimal integer or length");
	*out = v;
	return 0;
}

static int
cbor_link(struct atc_cbor *c, const uint8_t *head, struct atc_cbor_item *out,
    char *err, size_t errlen)
{
	char		cerr[96];
	uint64_t	len;
	const uint8_t	*bhead = c->p;
	uint8_t		ib;

	if (c->p >= c->end)
		return cbor_err(c, head, err, errlen, "truncated tag 42");
	ib = *c->p++;
	if ((ib >> 5) != 2)
		return cbor_err(c, bhead, err, errlen,
		    "tag 42 over a non-byte-string");
	if (cbor_arg(c, bhead, ib, &len, err, errlen) == -1)
		return -1;
	if (len > (uint64_t)(c->end - c->p))
		return cbor_err(c, bhead, err, errlen,
		    "CID length %llu exceeds input", (unsigned long long)len);
	if (len < 2 || c->p[0] != 0x00)
		return cbor_err(c, bhead, err, errlen,
		    "CID link without 0x00 multibase prefix");
	if (len - 1 > ATC_CID_MAXLEN)
		return cbor_err(c, bhead, err, errlen, "CID longer than %d bytes",
		    ATC_CID_MAXLEN);
	if (atc_cid_parse(NULL, c->p + 1, (size_t)len - 1, cerr,
	    sizeof(cerr)) == -1)
		return cbor_err(c, bhead, err, errlen, "invalid link (%s)", cerr);
	out->type = ATC_CBOR_LINK;
	out->ptr = c->p + 1;
	out->len = (size_t)len - 1;
	c->p += len;
	return 0;
}

int
atc_cbor_read(struct atc_cbor *c, struct atc_cbor_item *out, char *err,
    size_t errlen)
{
	struct atc_cbor_level	*lv, *nl;
	const uint8_t		*head = c->p;
	uint64_t		 v;
	uint8_t			 ib, major;
	bool			 is_key;
	size_t			 bad;
	int			 cmp;

	if (c->started && c->depth == 0)
		return cbor_err(c, head, err, errlen, "read past end of value");
	c->started = true;
	lv = c->depth > 0 ? &c->stack[c->depth - 1] : NULL;
	is_key = lv != NULL && lv->map && lv->left % 2 == 0;
	if (c->p >= c->end)
		return cbor_err(c, head, err, errlen, "truncated input");
	ib = *c->p++;
	major = ib >> 5;
	memset(out, 0, sizeof(*out));
	out->offset = c->origin + (size_t)(head - c->base);
	if (is_key && major != 3)
		return cbor_err(c, head, err, errlen,
		    "map key is not a text string");

	if (major == 7) {
		switch (ib & 0x1f) {
		case 20:
		case 21:
			out->type = ATC_CBOR_BOOL;
			out->b = (ib & 0x1f) == 21;
			break;
		case 22:
			out->type = ATC_CBOR_NULL;
			break;
		case 25:
		case 26:
		case 27:
			return cbor_err(c, head, err, errlen,
			    "float not allowed");
		case 31:
			return cbor_err(c, head, err, errlen,
			    "indefinite length not allowed (break)");
		default:
			return cbor_err(c, head, err, errlen,
			    "simple value %u not allowed", ib & 0x1f);
		}
	} else {
		if (cbor_arg(c, head, ib, &v, err, errlen) == -1)
			return -1;
		switch (major) {
		case 0:
			if (v > (uint64_t)ATC_CBOR_MAXINT)
				return cbor_err(c, head, err, errlen,
				    "integer out of range");
			out->type = ATC_CBOR_INT;
			out->i = (int64_t)v;
			break;
		case 1:
			if (v > (uint64_t)ATC_CBOR_MAXINT - 1)
				return cbor_err(c, head, err, errlen,
				    "integer out of range");
			out->type = ATC_CBOR_INT;
			out->i = -1 - (int64_t)v;
			break;
		case 2:
		case 3:
			if (v > (uint64_t)(c->end - c->p))
				return cbor_err(c, head, err, errlen,
				    "string length %llu exceeds input",
				    (unsigned long long)v);
			out->type = major == 2 ? ATC_CBOR_BYTES : ATC_CBOR_TEXT;
			out->ptr = c->p;
			out->len = (size_t)v;
			if (major == 3 &&
			    (bad = utf8_check(c->p, out->len)) != out->len)
				return cbor_err(c, c->p + bad, err, errlen,
				    "invalid UTF-8 in text string");
			if (is_key) {
				if (out->len > ATC_CBOR_MAXKEY)
					return cbor_err(c, head, err, errlen,
					    "map key length %zu > %d",
					    out->len, ATC_CBOR_MAXKEY);
				if (lv->key != NULL) {
					cmp = atc_cbor_keycmp(lv->key,
					    lv->keylen, out->ptr, out->len);
					if (cmp == 0)
						return cbor_err(c, head, err,
						    errlen,
						    "duplicate map key");
					if (cmp > 0)
						return cbor_err(c, head, err,
						    errlen,
						    "map keys not in canonical "
						    "order");
				}
				lv->key = out->ptr;
				lv->keylen = out->len;
			}
			c->p += out->len;
			break;
		case 4:
		case 5:
			if (v > ATC_CBOR_MAXITEMS)
				return cbor_err(c, head, err, errlen,
				    "container length %llu > %d",
				    (unsigned long long)v, ATC_CBOR_MAXITEMS);
			/* Every entry takes at least one byte. */
			if (v * (major == 5 ? 2 : 1) >
			    (uint64_t)(c->end - c->p))
				return cbor_err(c, head, err, errlen,
				    "container length %llu exceeds input",
				    (unsigned long long)v);
			if (c->depth >= ATC_CBOR_MAXDEPTH)
				return cbor_err(c, head, err, errlen,
				    "nesting depth > %d", ATC_CBOR_MAXDEPTH);
			out->type = major == 4 ? ATC_CBOR_ARRAY : ATC_CBOR_MAP;
			out->count = (size_t)v;
			break;
		case 6:
			if (v != 42)
				return cbor_err(c, head, err, errlen,
				    "tag %llu not allowed",
				    (unsigned long long)v);
			if (cbor_link(c, head, out, err, errlen) == -1)
				return -1;
			break;
		}
	}

	/* This item is one entry of its parent; then open it if needed and
	 * close every level that is now complete. */
	if (lv != NULL)
		lv->left--;
	if ((out->type == ATC_CBOR_ARRAY || out->type == ATC_CBOR_MAP) &&
	    out->count > 0) {
		nl = &c->stack[c->depth++];
		nl->map = out->type == ATC_CBOR_MAP;
		nl->left = nl->map ? out->count * 2 : out->count;
		nl->key = NULL;
		nl->keylen = 0;
	}
	while (c->depth > 0 && c->stack[c->depth - 1].left == 0)
		c->depth--;
	return 0;
}

int
atc_cbor_skip(struct atc_cbor *c, char *err, size_t errlen)
{
	struct atc_cbor_item	it;
	int			d0 = c->depth;

	do {
		if (atc_cbor_read(c, &it, err, errlen) == -1)
			return -1;
	} while (c->depth > d0);
	return 0;
}

bool
atc_cbor_done(const struct atc_cbor *c)
{
	return c->started && c->depth == 0;
}

size_t
atc_cbor_offset(const struct atc_cbor *c)
{
	return c->origin + (size_t)(c->p - c->base);
}

int
atc_cbor_value_len(const uint8_t *data, size_t len, size_t origin,
    size_t *used, char *err, size_t errlen)
{
	struct atc_cbor	c;

	atc_cbor_init(&c, data, len, origin);
	if (atc_cbor_skip(&c, err, errlen) == -1)
		return -1;
	*used = (size_t)(c.p - c.base);
	return 0;
}

int
atc_cbor_validate(const uint8_t *data, size_t len, size_t origin, char *err,
    size_t errlen)
{
	size_t	used;

	if (atc_cbor_value_len(data, len, origin, &used, err, errlen) == -1)
		return -1;
	if (used != len)
		return atc_seterr(err, errlen,
		    "cbor: %zu trailing bytes at offset %zu", len - used,
		    origin + used);
	return 0;
}

bool
atc_cbor_eq(const struct atc_cbor_item *it, const char *s)
{
	size_t	n = strlen(s);

	return (it->type == ATC_CBOR_TEXT || it->type == ATC_CBOR_BYTES) &&
	    it->len == n && memcmp(it->ptr, s, n) == 0;
}
