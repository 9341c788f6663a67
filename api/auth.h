/* SPDX-License-Identifier: ISC */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stddef.h>

/*
 * Service keys from SERVICE_API_KEYS (comma-separated entries) and
 * SERVICE_API_KEYS_FILE (one entry per line, `#` comments): each entry is
 * `key` (any tenant) or `key=tenant1|tenant2`. Several keys may be valid
 * at once (rotation). Keys are compared in constant time and never
 * printed: logs and metrics name a key by its fingerprint, the first 8 hex
 * digits of its SHA-256.
 */
struct api_keys;

#define API_KEY_FP_LEN	8	/* hex digits of a fingerprint */
#define API_KEYS_MAX	64

enum api_auth {
	API_AUTH_OK,		/* key known and allowed for the tenant */
	API_AUTH_BAD_KEY,	/* missing or unknown key: 401 */
	API_AUTH_FORBIDDEN,	/* key known, tenant not in its list: 403 */
};

/* Parses spec (comma-separated entries) into a new key set in *out (free
 * with api_keys_free()). Returns 0, or -1 with err filled (no key text). */
int	api_keys_parse(const char *spec, struct api_keys **out, char *err,
	    size_t errlen);
/* Same from both sources, either may be NULL: spec (comma-separated) and
 * file_text (one entry per line, blank lines and `#` comments skipped).
 * At least one key in all; a key given twice is an error. */
int	api_keys_load(const char *spec, const char *file_text,
	    struct api_keys **out, char *err, size_t errlen);
/* Reads the key file at path (at most 1 MiB) into *out, a new string
 * (wipe and free with api_keys_text_free()). Returns 0 or -1 with err. */
int	api_keys_read_file(const char *path, char **out, char *err,
	    size_t errlen);
/* Wipes and frees text from api_keys_read_file(); accepts NULL. */
void	api_keys_text_free(char *text);
void	api_keys_free(struct api_keys *);
size_t	api_keys_count(const struct api_keys *);

/* Checks key (len bytes, may be NULL) against every entry, always
 * comparing all of them, then the tenant against the matching entry. */
enum api_auth	api_keys_check(const struct api_keys *, const char *key,
		    size_t len, const char *tenant);
/* Same, and on OK or FORBIDDEN sets *idx to the matching entry's index
 * (0 .. count-1) for api_keys_fingerprint() and the rate limiter. */
enum api_auth	api_keys_match(const struct api_keys *, const char *key,
		    size_t len, const char *tenant, size_t *idx);
/* Returns the fingerprint of entry idx (borrowed, NUL-terminated, valid
 * while the set lives), or "-" when idx is out of range. */
const char	*api_keys_fingerprint(const struct api_keys *, size_t idx);
/* Finds the entry whose fingerprint is fp; returns 0 and sets *idx, or -1. */
int		 api_keys_find(const struct api_keys *, const char *fp,
		    size_t *idx);
/* Writes the fingerprint of key[0..len) into out (8 hex digits + NUL). */
void		 api_key_fingerprint(const char *key, size_t len,
		    char out[API_KEY_FP_LEN + 1]);

/* Finds the token of an "Authorization: Bearer <token>" value (scheme
 * case-insensitive). Returns 0 and sets *tok (borrowed from hdr) and *len,
 * or -1 when hdr is not a non-empty bearer credential. */
int	api_bearer_token(const char *hdr, const char **tok, size_t *len);

#endif
