/* SPDX-License-Identifier: ISC */
/*
 * atproto signature checks. Keys arrive as multibase/did:key strings and
 * are decoded here (base58btc, multicodec); signatures must be exactly 64
 * bytes r||s with S in the lower half of the group order, so DER and
 * malleated (high-S) forms are refused before any curve arithmetic.
 * secp256k1 uses libsecp256k1's static context (no global state); P-256
 * builds a transient OpenSSL EVP_PKEY per call and converts r||s to the
 * DER form OpenSSL verifies.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <secp256k1.h>

#include "crypto_hash.h"
#include "crypto_sig.h"
#include "util.h"

#define B58_MAXCHARS	100	/* 65 bytes need at most 89 characters */
#define B58_MAXBYTES	72

static const char	b58_alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Group order of P-256, big-endian. */
static const uint8_t	p256_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* Decodes base58btc s into out (capacity outcap); *outlen gets the length.
 * Leading '1's are leading zero bytes. */
static int
b58_decode(uint8_t *out, size_t outcap, size_t *outlen, const char *s,
    char *err, size_t errlen)
{
	uint8_t		 num[B58_MAXBYTES];
	const char	*pos;
	size_t		 len, i, j, zeros, used;
	unsigned	 carry;

	len = strlen(s);
	if (len == 0 || len > B58_MAXCHARS)
		return atc_seterr(err, errlen, "base58 length %zu out of "
		    "range", len);
	for (zeros = 0; zeros < len && s[zeros] == '1'; zeros++)
		;
	/* num holds the value big-endian in its last `used` bytes. */
	used = 0;
	for (i = zeros; i < len; i++) {
		if ((pos = strchr(b58_alphabet, s[i])) == NULL)
			return atc_seterr(err, errlen, "bad base58 character "
			    "at offset %zu", i);
		carry = (unsigned)(pos - b58_alphabet);
		for (j = 0; j < used; j++) {
			carry += 58u * num[sizeof(num) - 1 - j];
			num[sizeof(num) - 1 - j] = carry & 0xff;
			carry >>= 8;
		}
		while (carry > 0) {
			if (used == sizeof(num))
				return atc_seterr(err, errlen, "base58 value "
				    "too large");
			num[sizeof(num) - 1 - used++] = carry & 0xff;
			carry >>= 8;
		}
	}
	if (zeros + used > outcap)
		return atc_seterr(err, errlen, "base58 value too large");
	memset(out, 0, zeros);
	memcpy(out + zeros, num + sizeof(num) - used, used);
	*outlen = zeros + used;
	return 0;
}

int
atc_pubkey_from_multibase(struct atc_pubkey *out, const char *s,
    enum atc_key_type hint, char *err, size_t errlen)
{
	uint8_t			 raw[B58_MAXBYTES];
	const uint8_t		*point;
	size_t			 len = 0;
	enum atc_key_type	 type;

	if (s == NULL || s[0] != 'z')
		return atc_seterr(err, errlen, "key is not multibase "
		    "base58btc ('z' prefix)");
	if (b58_decode(raw, sizeof(raw), &len, s + 1, err, errlen) == -1)
		return -1;
	if (len == 2 + ATC_PUBKEY_LEN && raw[0] == 0xe7 && raw[1] == 0x01)
		type = ATC_KEY_SECP256K1;
	else if (len == 2 + ATC_PUBKEY_LEN && raw[0] == 0x80 &&
	    raw[1] == 0x24)
		type = ATC_KEY_P256;
	else if ((len == ATC_PUBKEY_LEN || (len == 65 && raw[0] == 0x04)) &&
	    hint != ATC_KEY_NONE)
		type = hint;
	else
		return atc_seterr(err, errlen, "key is not a compressed "
		    "secp256k1 or P-256 point with multicodec prefix "
		    "(%zu bytes)", len);
	if (hint != ATC_KEY_NONE && type != hint)
		return atc_seterr(err, errlen, "key is %s, expected %s",
		    atc_key_type_name(type), atc_key_type_name(hint));
	if (len == 65) {
		/* Uncompressed 04||x||y: keep x with y's parity (the curve
		 * check happens when the key is used). */
		out->type = type;
		out->point[0] = (uint8_t)(0x02 | (raw[64] & 1));
		memcpy(out->point + 1, raw + 1, 32);
		return 0;
	}
	point = raw + (len - ATC_PUBKEY_LEN);
	if (point[0] != 0x02 && point[0] != 0x03)
		return atc_seterr(err, errlen, "key is not a compressed point");
	out->type = type;
	memcpy(out->point, point, ATC_PUBKEY_LEN);
	return 0;
}

int
atc_pubkey_from_did_key(struct atc_pubkey *out, const char *did, char *err,
    size_t errlen)
{
	if (did == NULL || strncmp(did, "did:key:", 8) != 0)
		return atc_seterr(err, errlen, "not a did:key");
	return atc_pubkey_from_multibase(out, did + 8, ATC_KEY_NONE, err,
	    errlen);
}

static int
verify_secp256k1(const struct atc_pubkey *key, const uint8_t digest[32],
    const uint8_t sig[ATC_SIG_LEN], char *err, size_t errlen)
{
	const secp256k1_context		*ctx = secp256k1_context_static;
	secp256k1_pubkey		 pk;
	secp256k1_ecdsa_signature	 s;

	if (!secp256k1_ec_pubkey_parse(ctx, &pk, key->point, ATC_PUBKEY_LEN))
		return atc_seterr(err, errlen, "secp256k1 key is not on the "
		    "curve");
	if (!secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig))
		return atc_seterr(err, errlen, "signature r or s out of range");
	/* normalize() returns 1 when S was in the upper half. */
	if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &s))
		return atc_seterr(err, errlen, "signature has high S");
	if (!secp256k1_ecdsa_verify(ctx, &s, digest, &pk))
		return atc_seterr(err, errlen, "signature does not match");
	return 0;
}

/* Big-endian compare of two 32-byte numbers: <0, 0, >0. */
static int
be32_cmp(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 32);
}

static int
verify_p256(const struct atc_pubkey *key, const uint8_t digest[32],
    const uint8_t sig[ATC_SIG_LEN], char *err, size_t errlen)
{
	static const uint8_t	 zero[32];
	uint8_t			 half[32], der[80], *p;
	OSSL_PARAM		 params[3];
	EVP_PKEY_CTX		*kctx = NULL, *vctx = NULL;
	EVP_PKEY		*pkey = NULL;
	ECDSA_SIG		*esig = NULL;
	BIGNUM			*r = NULL, *s = NULL;
	char			 group[] = "prime256v1";
	uint8_t			 point[ATC_PUBKEY_LEN];
	int			 i, derlen, ret = -1;

	/* half = floor(n / 2): low S means s <= half. */
	for (i = 0; i < 32; i++)
		half[i] = (uint8_t)((p256_order[i] >> 1) |
		    (i > 0 ? (p256_order[i - 1] & 1) << 7 : 0));
	if (be32_cmp(sig, zero) == 0 || be32_cmp(sig, p256_order) >= 0 ||
	    be32_cmp(sig + 32, zero) == 0 ||
	    be32_cmp(sig + 32, p256_order) >= 0) {
		atc_seterr(err, errlen, "signature r or s out of range");
		goto out;
	}
	if (be32_cmp(sig + 32, half) > 0) {
		atc_seterr(err, errlen, "signature has high S");
		goto out;
	}

	memcpy(point, key->point, sizeof(point));
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	if ((kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(kctx) != 1 ||
	    EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		atc_seterr(err, errlen, "P-256 key is not on the curve");
		goto out;
	}

	if ((esig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL) {
		atc_seterr(err, errlen, "out of memory in OpenSSL");
		goto out;
	}
	if (ECDSA_SIG_set0(esig, r, s) != 1) {
		atc_seterr(err, errlen, "ECDSA_SIG_set0 failed");
		goto out;
	}
	r = s = NULL;	/* owned by esig now */
	if (i2d_ECDSA_SIG(esig, NULL) > (int)sizeof(der)) {
		atc_seterr(err, errlen, "DER signature too long");
		goto out;
	}
	p = der;
	if ((derlen = i2d_ECDSA_SIG(esig, &p)) <= 0) {
		atc_seterr(err, errlen, "cannot encode signature");
		goto out;
	}

	if ((vctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL ||
	    EVP_PKEY_verify_init(vctx) != 1) {
		atc_seterr(err, errlen, "cannot set up P-256 verification");
		goto out;
	}
	if (EVP_PKEY_verify(vctx, der, (size_t)derlen, digest, 32) != 1) {
		atc_seterr(err, errlen, "signature does not match");
		goto out;
	}
	ret = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(esig);
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(kctx);
	return ret;
}

int
atc_sig_verify_digest(const struct atc_pubkey *key, const uint8_t digest[32],
    const uint8_t *sig, size_t siglen, char *err, size_t errlen)
{
	if (siglen != ATC_SIG_LEN)
		return atc_seterr(err, errlen, "signature is %zu bytes, not "
		    "64-byte compact r||s (DER is not allowed)", siglen);
	switch (key->type) {
	case ATC_KEY_SECP256K1:
		return verify_secp256k1(key, digest, sig, err, errlen);
	case ATC_KEY_P256:
		return verify_p256(key, digest, sig, err, errlen);
	default:
		return atc_seterr(err, errlen, "unknown key type");
	}
}

int
atc_sig_verify(const struct atc_pubkey *key, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen, char *err,
    size_t errlen)
{
	uint8_t	digest[ATC_SHA256_LEN];

	atc_sha256(digest, msg, msglen);
	return atc_sig_verify_digest(key, digest, sig, siglen, err, errlen);
}

const char *
atc_key_type_name(enum atc_key_type t)
{
	switch (t) {
	case ATC_KEY_SECP256K1:
		return "secp256k1";
	case ATC_KEY_P256:
		return "p256";
	default:
		return "none";
	}
}
