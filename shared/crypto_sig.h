/* SPDX-License-Identifier: ISC */
#ifndef ATC_CRYPTO_SIG_H
#define ATC_CRYPTO_SIG_H

#include <stddef.h>
#include <stdint.h>

/*
 * ECDSA verification as atproto requires it: SHA-256 of the message,
 * 64-byte compact r||s signatures in low-S form only (DER and high-S are
 * invalid), public keys as 33-byte compressed points on secp256k1 (via
 * libsecp256k1) or P-256 (via OpenSSL). crypto_sig.c is the only caller of
 * libsecp256k1 and of OpenSSL's EC functions.
 */
#define ATC_SIG_LEN		64
#define ATC_PUBKEY_LEN		33	/* compressed point */

enum atc_key_type {
	ATC_KEY_NONE = 0,	/* as a hint: "the key says it (multicodec)" */
	ATC_KEY_SECP256K1,	/* multicodec e7 01, JWT alg ES256K */
	ATC_KEY_P256,		/* multicodec 80 24, JWT alg ES256 */
};

struct atc_pubkey {
	enum atc_key_type	type;
	uint8_t			point[ATC_PUBKEY_LEN];	/* 02|03, x */
};

/* Parses a publicKeyMultibase value: 'z' + base58btc of multicodec (e7 01 or
 * 80 24) + compressed point. When hint is not ATC_KEY_NONE, a bare point
 * (legacy EcdsaSecp256*VerificationKey2019 documents: 33 bytes compressed,
 * or 65 bytes uncompressed 04||x||y, as the PLC directory still serves) is
 * also accepted as that type. s may be NULL (an absent field). Returns 0, or -1 and err. */
int	atc_pubkey_from_multibase(struct atc_pubkey *out, const char *s,
	    enum atc_key_type hint, char *err, size_t errlen);
/* Parses "did:key:z..." (multicodec required). Returns 0, or -1 and err. */
int	atc_pubkey_from_did_key(struct atc_pubkey *out, const char *did,
	    char *err, size_t errlen);

/* Verifies sig[0..siglen) over the SHA-256 of msg[0..msglen). Returns 0 when
 * the signature is valid, -1 and err otherwise (wrong length such as DER,
 * high S, r or s out of range, point not on the curve, mismatch). */
int	atc_sig_verify(const struct atc_pubkey *, const uint8_t *msg,
	    size_t msglen, const uint8_t *sig, size_t siglen, char *err,
	    size_t errlen);
/* Same, over an already computed 32-byte SHA-256 digest. */
int	atc_sig_verify_digest(const struct atc_pubkey *,
	    const uint8_t digest[32], const uint8_t *sig, size_t siglen,
	    char *err, size_t errlen);

/* "secp256k1", "p256" or "none". */
const char	*atc_key_type_name(enum atc_key_type);

#endif
