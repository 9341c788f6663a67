/* SPDX-License-Identifier: ISC */
/*
 * SHA-256 through OpenSSL. The algorithm is fetched once per process
 * (pthread_once) because an implicit fetch on every call costs more than
 * hashing a typical 300-byte record; the fetched EVP_MD is read-only and
 * safe to share between threads.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "crypto_hash.h"

static pthread_once_t	 sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD		*sha256_md;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
atc_sha256(uint8_t out[ATC_SHA256_LEN], const void *data, size_t len)
{
	unsigned int	outlen = 0;

	(void)pthread_once(&sha256_once, sha256_fetch);
	/* A missing SHA-256 provider is a broken installation, not input. */
	if (sha256_md == NULL ||
	    EVP_Digest(data, len, out, &outlen, sha256_md, NULL) != 1 ||
	    outlen != ATC_SHA256_LEN)
		abort();
}
