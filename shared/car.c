/* SPDX-License-Identifier: ISC */
/*
 * CAR v1 over borrowed bytes. Sections are walked lazily, so finding the
 * few blocks a firehose op needs costs a varint and a memcmp per section,
 * never a hash or a decode. Hashing is the caller's decision (only blocks
 * that are used get verified).
 */
#include <stdlib.h>
#include <string.h>

#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "util.h"

struct atc_car_index {
	struct atc_car_block	*blocks;	/* sorted by CID bytes */
	size_t			 n;
};

int
atc_car_open(struct atc_car *out, const uint8_t *data, size_t len,
    size_t origin, char *err, size_t errlen)
{
	struct atc_cbor		c;
	struct atc_cbor_item	it;
	uint64_t		hlen;
	size_t			n, i, pairs;
	bool			have_version = false, have_roots = false;

	memset(out, 0, sizeof(*out));
	out->data = data;
	out->len = len;
	out->origin = origin;
	if ((n = atc_uvarint(data, len, &hlen)) == 0)
		return atc_seterr(err, errlen,
		    "car: bad header length varint at offset %zu", origin);
	if (hlen == 0 || hlen > len - n)
		return atc_seterr(err, errlen,
		    "car: header length %llu exceeds input at offset %zu",
		    (unsigned long long)hlen, origin);
	atc_cbor_init(&c, data + n, (size_t)hlen, origin + n);
	if (atc_cbor_read(&c, &it, err, errlen) == -1)
		return -1;
	if (it.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen,
		    "car: header is not a map at offset %zu", origin + n);
	pairs = it.count;
	while (pairs-- > 0) {
		if (atc_cbor_read(&c, &it, err, errlen) == -1)
			return -1;
		if (atc_cbor_eq(&it, "version")) {
			if (atc_cbor_read(&c, &it, err, errlen) == -1)
				return -1;
			if (it.type != ATC_CBOR_INT || it.i != 1)
				return atc_seterr(err, errlen,
				    "car: version is not 1 at offset %zu",
				    it.offset);
			have_version = true;
		} else if (atc_cbor_eq(&it, "roots")) {
			if (atc_cbor_read(&c, &it, err, errlen) == -1)
				return -1;
			if (it.type != ATC_CBOR_ARRAY)
				return atc_seterr(err, errlen,
				    "car: roots is not an array at offset %zu",
				    it.offset);
			out->nroots = it.count;
			for (i = 0; i < out->nroots; i++) {
				if (atc_cbor_read(&c, &it, err, errlen) == -1)
					return -1;
				if (it.type != ATC_CBOR_LINK)
					return atc_seterr(err, errlen,
					    "car: root is not a CID at offset "
					    "%zu", it.offset);
				if (i == 0) {
					out->root = it.ptr;
					out->root_len = it.len;
				}
			}
			have_roots = true;
		} else if (atc_cbor_skip(&c, err, errlen) == -1)
			return -1;
	}
	if (!atc_cbor_done(&c) || atc_cbor_offset(&c) != origin + n + hlen)
		return atc_seterr(err, errlen,
		    "car: trailing bytes in header at offset %zu",
		    atc_cbor_offset(&c));
	if (!have_version || !have_roots)
		return atc_seterr(err, errlen, "car: header lacks %s",
		    have_version ? "roots" : "version");
	out->first = n + (size_t)hlen;
	return 0;
}

int
atc_car_next(const struct atc_car *car, size_t *pos,
    struct atc_car_block *out, char *err, size_t errlen)
{
	struct atc_cid	cid;
	uint64_t	slen;
	size_t		n, p = *pos;
	char		cerr[96];

	if (p >= car->len)
		return 0;
	if ((n = atc_uvarint(car->data + p, car->len - p, &slen)) == 0)
		return atc_seterr(err, errlen,
		    "car: bad section length varint at offset %zu",
		    car->origin + p);
	if (slen == 0 || slen > car->len - p - n)
		return atc_seterr(err, errlen,
		    "car: section length %llu exceeds input at offset %zu",
		    (unsigned long long)slen, car->origin + p);
	if (atc_cid_read(&cid, car->data + p + n, (size_t)slen, cerr,
	    sizeof(cerr)) == -1)
		return atc_seterr(err, errlen, "car: %s at offset %zu", cerr,
		    car->origin + p + n);
	out->cid = car->data + p + n;
	out->cid_len = cid.len;
	out->data = out->cid + cid.len;
	out->len = (size_t)slen - cid.len;
	out->offset = car->origin + p + n + cid.len;
	*pos = p + n + (size_t)slen;
	return 1;
}

int
atc_car_find(const struct atc_car *car, const uint8_t *cid, size_t cid_len,
    struct atc_car_block *out, char *err, size_t errlen)
{
	size_t	pos = car->first;
	int	r;

	while ((r = atc_car_next(car, &pos, out, err, errlen)) == 1)
		if (atc_cid_equal(out->cid, out->cid_len, cid, cid_len))
			return 1;
	return r;
}

int
atc_car_block_verify(const struct atc_car_block *b, char *err, size_t errlen)
{
	char	cerr[96];

	if (atc_cid_verify(b->cid, b->cid_len, b->data, b->len, cerr,
	    sizeof(cerr)) == -1)
		return atc_seterr(err, errlen, "car: %s for block at offset %zu",
		    cerr, b->offset);
	return 0;
}

static int
cid_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int	r;

	if ((r = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return r;
	return alen < blen ? -1 : alen > blen;
}

static int
block_cmp(const void *a, const void *b)
{
	const struct atc_car_block	*x = a, *y = b;
	int				 r;

	if ((r = cid_cmp(x->cid, x->cid_len, y->cid, y->cid_len)) != 0)
		return r;
	/* Keep the first occurrence first among duplicates. */
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

struct atc_car_index *
atc_car_index_new(const struct atc_car *car, char *err, size_t errlen)
{
	struct atc_car_index	*idx;
	struct atc_car_block	 b;
	size_t			 pos = car->first, cap = 16, i, o;
	int			 r;

	idx = atc_xcalloc(1, sizeof(*idx));
	idx->blocks = atc_xmalloc(cap * sizeof(*idx->blocks));
	while ((r = atc_car_next(car, &pos, &b, err, errlen)) == 1) {
		if (idx->n == cap) {
			cap *= 2;
			idx->blocks = atc_xrealloc(idx->blocks,
			    cap * sizeof(*idx->blocks));
		}
		idx->blocks[idx->n++] = b;
	}
	if (r == -1) {
		atc_car_index_free(idx);
		return NULL;
	}
	qsort(idx->blocks, idx->n, sizeof(*idx->blocks), block_cmp);
	/* Drop duplicates of the same CID, keeping the first occurrence. */
	for (i = 0, o = 0; i < idx->n; i++) {
		if (o > 0 && atc_cid_equal(idx->blocks[o - 1].cid,
		    idx->blocks[o - 1].cid_len, idx->blocks[i].cid,
		    idx->blocks[i].cid_len))
			continue;
		idx->blocks[o++] = idx->blocks[i];
	}
	idx->n = o;
	return idx;
}

void
atc_car_index_free(struct atc_car_index *idx)
{
	if (idx == NULL)
		return;
	free(idx->blocks);
	free(idx);
}

const struct atc_car_block *
atc_car_index_get(const struct atc_car_index *idx, const uint8_t *cid,
    size_t cid_len)
{
	size_t	lo = 0, hi = idx->n, mid;
	int	r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = cid_cmp(cid, cid_len, idx->blocks[mid].cid,
		    idx->blocks[mid].cid_len);
		if (r == 0)
			return &idx->blocks[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t
atc_car_index_count(const struct atc_car_index *idx)
{
	return idx->n;
}
