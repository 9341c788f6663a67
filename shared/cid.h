/* SPDX-License-Identifier: ISC */
#ifndef ATC_CID_H
#define ATC_CID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * CIDv1 in binary and string form (multibase `b`: lowercase RFC 4648
 * base32 without padding). Binary CIDs are never copied: struct atc_cid
 * points into the caller's bytes.
 */
#define ATC_CID_MAXLEN		100	/* binary bytes, protocol limit */
#define ATC_CID_STRLEN		176	/* string form incl. 'b' and NUL */
#define ATC_CID_SHA256_LEN	36	/* 01 <codec> 12 20 + 32 bytes */

#define ATC_CID_CODEC_RAW	0x55
#define ATC_CID_CODEC_DAGCBOR	0x71
#define ATC_CID_HASH_SHA256	0x12

struct atc_cid {
	uint64_t	 codec;		/* multicodec: 0x71 dag-cbor, 0x55 raw */
	uint64_t	 hash;		/* multihash code: 0x12 sha2-256 */
	const uint8_t	*digest;	/* borrowed, points into the input */
	size_t		 digest_len;	/* bytes */
	size_t		 len;		/* bytes of the whole binary CID */
};

/* Parses a binary CIDv1 at the start of p (avail bytes); the CID may be
 * followed by other data (CAR sections). Fills out (borrowing p).
 * Returns 0, or -1 and err (version 0, bad varint, truncated, > 100 bytes). */
int	atc_cid_read(struct atc_cid *out, const uint8_t *p, size_t avail,
	    char *err, size_t errlen);
/* Like atc_cid_read but the CID must span exactly len bytes. out may be
 * NULL. Returns 0 or -1 and err. */
int	atc_cid_parse(struct atc_cid *out, const uint8_t *p, size_t len,
	    char *err, size_t errlen);

/* Writes the string form ("bafy...") of binary CID cid[0..len) to out
 * (capacity outlen, ATC_CID_STRLEN always suffices for a valid CID).
 * Returns the string length, or -1 and err if invalid or it does not fit. */
int	atc_cid_format(char *out, size_t outlen, const uint8_t *cid,
	    size_t len, char *err, size_t errlen);
/* Parses the string form s[0..slen) into binary, written to out (capacity
 * outcap, ATC_CID_MAXLEN suffices); *outlen gets the length. Only the `b`
 * base32 multibase is accepted. Returns 0 or -1 and err. */
int	atc_cid_from_string(uint8_t *out, size_t outcap, size_t *outlen,
	    const char *s, size_t slen, char *err, size_t errlen);

/* Checks that block[0..blocklen) hashes to binary CID cid[0..cidlen)
 * (SHA-256 multihash only). Returns 0, or -1 and err ("cid: hash mismatch",
 * "cid: unsupported hash"). The block's original bytes are hashed. */
int	atc_cid_verify(const uint8_t *cid, size_t cidlen,
	    const uint8_t *block, size_t blocklen, char *err, size_t errlen);
/* Computes the CIDv1 (SHA-256) of block with the given codec (a one-byte
 * multicodec such as 0x71 or 0x55) into out. */
void	atc_cid_compute(uint8_t out[ATC_CID_SHA256_LEN], uint64_t codec,
	    const uint8_t *block, size_t blocklen);
/* Returns true when both binary CIDs are byte-equal. */
bool	atc_cid_equal(const uint8_t *a, size_t alen, const uint8_t *b,
	    size_t blen);

/* Reads a minimal unsigned varint (multiformats) of at most 9 bytes (63
 * bits) from p[0..avail). Returns the bytes used, or 0 when truncated, too
 * long or not minimal. */
size_t	atc_uvarint(const uint8_t *p, size_t avail, uint64_t *out);

#endif
