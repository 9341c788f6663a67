/* SPDX-License-Identifier: ISC */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stddef.h>

/*
 * Service keys from SERVICE_API_KEYS: comma-separated entries, each `key`
 * (any tenant) or `key=tenant1|tenant2`. Keys are compared in constant
 * time and never printed.
 */
struct api_keys;

enum api_auth {
	API_AUTH_OK,		/* key known and allowed for the tenant */
	API_AUTH_BAD_KEY,	/* missing or unknown key: 401 */
	API_AUTH_FORBIDDEN,	/* key known, tenant not in its list: 403 */
};

/* Parses spec into a new key set in *out (free with api_keys_free()).
 * Returns 0, or -1 with err filled (no key text in it). */
int	api_keys_parse(const char *spec, struct api_keys **out, char *err,
	    size_t errlen);
void	api_keys_free(struct api_keys *);
size_t	api_keys_count(const struct api_keys *);

/* Checks key (len bytes, may be NULL) against every entry, always
 * comparing all of them, then the tenant against the matching entry. */
enum api_auth	api_keys_check(const struct api_keys *, const char *key,
		    size_t len, const char *tenant);

/* Finds the token of an "Authorization: Bearer <token>" value (scheme
 * case-insensitive). Returns 0 and sets *tok (borrowed from hdr) and *len,
 * or -1 when hdr is not a non-empty bearer credential. */
int	api_bearer_token(const char *hdr, const char **tok, size_t *len);

#endif
