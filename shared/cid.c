/* SPDX-License-Identifier: ISC */
/*
 * CIDv1: <version 1><codec><multihash code><digest length><digest>, all
 * unsigned varints (minimal encoding required). Parsing borrows the input;
 * the string form is multibase 'b' (lowercase base32, no padding), the only
 * form atproto uses.
 */
#include <assert.h>
#include <string.h>

#include "cid.h"
#include "crypto_hash.h"
#include "util.h"

static const char	b32_alpha[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t
atc_uvarint(const uint8_t *p, size_t avail, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < avail && i < 9; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (i > 0 && p[i] == 0)
				return 0;
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

int
atc_cid_read(struct atc_cid *out, const uint8_t *p, size_t avail, char *err,
    size_t errlen)
{
	uint64_t	version, codec, hash, dlen;
	size_t		n, pos = 0;

	if (avail >= 2 && p[0] == 0x12 && p[1] == 0x20)
		return atc_seterr(err, errlen, "cid: version 0 not supported");
	if ((n = atc_uvarint(p, avail, &version)) == 0)
		return atc_seterr(err, errlen, "cid: bad version varint");
	pos += n;
	if (version != 1)
		return atc_seterr(err, errlen, "cid: version %llu not supported",
		    (unsigned long long)version);
	if ((n = atc_uvarint(p + pos, avail - pos, &codec)) == 0)
		return atc_seterr(err, errlen, "cid: bad codec varint");
	pos += n;
	if ((n = atc_uvarint(p + pos, avail - pos, &hash)) == 0)
		return atc_seterr(err, errlen, "cid: bad multihash code");
	pos += n;
	if ((n = atc_uvarint(p + pos, avail - pos, &dlen)) == 0)
		return atc_seterr(err, errlen, "cid: bad digest length");
	pos += n;
	if (dlen > ATC_CID_MAXLEN || pos + dlen > ATC_CID_MAXLEN)
		return atc_seterr(err, errlen, "cid: longer than %d bytes",
		    ATC_CID_MAXLEN);
	if (dlen > avail - pos)
		return atc_seterr(err, errlen, "cid: truncated digest");
	if (hash == ATC_CID_HASH_SHA256 && dlen != ATC_SHA256_LEN)
		return atc_seterr(err, errlen,
		    "cid: sha2-256 digest of %llu bytes",
		    (unsigned long long)dlen);
	if (out != NULL) {
		out->codec = codec;
		out->hash = hash;
		out->digest = p + pos;
		out->digest_len = (size_t)dlen;
		out->len = pos + (size_t)dlen;
	}
	return 0;
}

int
atc_cid_parse(struct atc_cid *out, const uint8_t *p, size_t len, char *err,
    size_t errlen)
{
	struct atc_cid	c;

	if (atc_cid_read(&c, p, len, err, errlen) == -1)
		return -1;
	if (c.len != len)
		return atc_seterr(err, errlen, "cid: %zu trailing bytes",
		    len - c.len);
	if (out != NULL)
		*out = c;
	return 0;
}

int
atc_cid_format(char *out, size_t outlen, const uint8_t *cid, size_t len,
    char *err, size_t errlen)
{
	uint32_t	acc = 0;
	size_t		i, o = 0, need;
	int		bits = 0;

	if (atc_cid_parse(NULL, cid, len, err, errlen) == -1)
		return -1;
	need = 1 + (len * 8 + 4) / 5 + 1;
	if (outlen < need)
		return atc_seterr(err, errlen, "cid: string buffer too small");
	out[o++] = 'b';
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | cid[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alpha[(acc >> bits) & 0x1f];
		}
	}
	if (bits > 0)
		out[o++] = b32_alpha[(acc << (5 - bits)) & 0x1f];
	out[o] = '\0';
	return (int)o;
}

int
atc_cid_from_string(uint8_t *out, size_t outcap, size_t *outlen,
    const char *s, size_t slen, char *err, size_t errlen)
{
	uint32_t	acc = 0;
	size_t		i, o = 0;
	int		bits = 0, v;
	char		ch;

	if (slen < 2 || s[0] != 'b')
		return atc_seterr(err, errlen,
		    "cid: not a base32 ('b') multibase string");
	for (i = 1; i < slen; i++) {
		ch = s[i];
		if (ch >= 'a' && ch <= 'z')
			v = ch - 'a';
		else if (ch >= '2' && ch <= '7')
			v = ch - '2' + 26;
		else
			return atc_seterr(err, errlen,
			    "cid: invalid base32 character at %zu", i);
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outcap)
				return atc_seterr(err, errlen,
				    "cid: longer than %zu bytes", outcap);
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero padding of the last character only. */
	if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0)
		return atc_seterr(err, errlen, "cid: non-canonical base32");
	if (atc_cid_parse(NULL, out, o, err, errlen) == -1)
		return -1;
	*outlen = o;
	return 0;
}

int
atc_cid_verify(const uint8_t *cid, size_t cidlen, const uint8_t *block,
    size_t blocklen, char *err, size_t errlen)
{
	struct atc_cid	c;
	uint8_t		digest[ATC_SHA256_LEN];

	if (atc_cid_parse(&c, cid, cidlen, err, errlen) == -1)
		return -1;
	if (c.hash != ATC_CID_HASH_SHA256)
		return atc_seterr(err, errlen,
		    "cid: unsupported multihash 0x%llx",
		    (unsigned long long)c.hash);
	atc_sha256(digest, block, blocklen);
	if (memcmp(digest, c.digest, ATC_SHA256_LEN) != 0)
		return atc_seterr(err, errlen, "cid: hash mismatch");
	return 0;
}

void
atc_cid_compute(uint8_t out[ATC_CID_SHA256_LEN], uint64_t codec,
    const uint8_t *block, size_t blocklen)
{
	assert(codec < 0x80);
	out[0] = 0x01;
	out[1] = (uint8_t)codec;	/* 0x55 and 0x71 are one-byte varints */
	out[2] = ATC_CID_HASH_SHA256;
	out[3] = ATC_SHA256_LEN;
	atc_sha256(out + 4, block, blocklen);
}

bool
atc_cid_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}
