/* SPDX-License-Identifier: ISC */
#ifndef ATC_CRYPTO_HASH_H
#define ATC_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * SHA-256 through OpenSSL libcrypto. crypto_hash.c is the only caller of
 * libcrypto's digest functions in the project.
 */
#define ATC_SHA256_LEN	32

/* Writes the SHA-256 of data[0..len) to out. Cannot fail (an OpenSSL
 * failure here is an impossible state and aborts). */
void	atc_sha256(uint8_t out[ATC_SHA256_LEN], const void *data, size_t len);

#endif
