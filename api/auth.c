/* SPDX-License-Identifier: ISC */
/*
 * Service key set and request credential parsing. Every check compares the
 * presented key against all configured keys with atc_ct_equal() and never
 * stops early, so timing reveals neither which key nor how much of one
 * matched (OpenMeet failure 14). Tenants are matched exactly.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "config.h"
#include "input.h"
#include "util.h"

#define KEYS_MAX	64
#define KEY_LEN_MAX	256

struct api_key {
	char	 *key;		/* owned */
	size_t	  keylen;
	char	**tenants;	/* owned, NULL-terminated; NULL = any tenant */
};

struct api_keys {
	struct api_key	*keys;	/* owned, nkeys entries */
	size_t		 nkeys;
};

void
api_keys_free(struct api_keys *ks)
{
	size_t	i, j;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->nkeys; i++) {
		if (ks->keys[i].key != NULL)
			explicit_bzero(ks->keys[i].key, ks->keys[i].keylen);
		free(ks->keys[i].key);
		for (j = 0; ks->keys[i].tenants != NULL &&
		    ks->keys[i].tenants[j] != NULL; j++)
			free(ks->keys[i].tenants[j]);
		free(ks->keys[i].tenants);
	}
	free(ks->keys);
	free(ks);
}

size_t
api_keys_count(const struct api_keys *ks)
{
	return ks->nkeys;
}

/* Splits "t1|t2" into a new NULL-terminated array of new strings. */
static char **
split_tenants(const char *s, size_t n, char *err, size_t errlen)
{
	char		**out;
	const char	 *p = s, *bar, *end = s + n;
	size_t		  cnt = 0, len;

	out = atc_xcalloc(n / 2 + 2, sizeof(*out));
	while (p <= end) {
		bar = memchr(p, '|', (size_t)(end - p));
		len = bar != NULL ? (size_t)(bar - p) : (size_t)(end - p);
		out[cnt] = atc_xstrndup(p, len);
		if (!api_tenant_ok(out[cnt++])) {
			atc_seterr(err, errlen, "bad tenant id in key entry");
			goto fail;
		}
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return out;
fail:
	while (cnt > 0)
		free(out[--cnt]);
	free(out);
	return NULL;
}

int
api_keys_parse(const char *spec, struct api_keys **out, char *err,
    size_t errlen)
{
	struct api_keys	 *ks;
	struct api_key	 *k;
	char		**entries = NULL;
	const char	 *eq;
	size_t		  n = 0, i, klen;
	int		  ret = -1;

	ks = atc_xcalloc(1, sizeof(*ks));
	entries = atc_config_list(spec != NULL ? spec : "", &n);
	if (n == 0) {
		atc_seterr(err, errlen, "no service key configured");
		goto out;
	}
	if (n > KEYS_MAX) {
		atc_seterr(err, errlen, "more than %d keys", KEYS_MAX);
		goto out;
	}
	ks->keys = atc_xcalloc(n, sizeof(*ks->keys));
	for (i = 0; i < n; i++) {
		k = &ks->keys[ks->nkeys++];
		eq = strchr(entries[i], '=');
		klen = eq != NULL ? (size_t)(eq - entries[i]) :
		    strlen(entries[i]);
		if (klen == 0 || klen > KEY_LEN_MAX) {
			atc_seterr(err, errlen, "key entry %zu: key empty or "
			    "longer than %d bytes", i + 1, KEY_LEN_MAX);
			goto out;
		}
		k->key = atc_xstrndup(entries[i], klen);
		k->keylen = klen;
		if (eq != NULL && (k->tenants = split_tenants(eq + 1,
		    strlen(eq + 1), err, errlen)) == NULL)
			goto out;
	}
	*out = ks;
	ks = NULL;
	ret = 0;
out:
	if (entries != NULL) {
		for (i = 0; i < n; i++)
			explicit_bzero(entries[i], strlen(entries[i]));
		atc_config_list_free(entries);
	}
	api_keys_free(ks);
	return ret;
}

enum api_auth
api_keys_check(const struct api_keys *ks, const char *key, size_t len,
    const char *tenant)
{
	const struct api_key	*match = NULL;
	size_t			 i, j;
	int			 eq;

	if (key == NULL || len == 0 || len > KEY_LEN_MAX)
		return API_AUTH_BAD_KEY;
	for (i = 0; i < ks->nkeys; i++) {
		eq = atc_ct_equal(key, len, ks->keys[i].key,
		    ks->keys[i].keylen);
		if (eq && match == NULL)
			match = &ks->keys[i];
	}
	if (match == NULL)
		return API_AUTH_BAD_KEY;
	if (match->tenants == NULL)
		return API_AUTH_OK;
	for (j = 0; tenant != NULL && match->tenants[j] != NULL; j++)
		if (strcmp(match->tenants[j], tenant) == 0)
			return API_AUTH_OK;
	return API_AUTH_FORBIDDEN;
}

int
api_bearer_token(const char *hdr, const char **tok, size_t *len)
{
	const char	*p;
	size_t		 n;

	if (hdr == NULL || strncasecmp(hdr, "Bearer", 6) != 0 ||
	    (hdr[6] != ' ' && hdr[6] != '\t'))
		return -1;
	for (p = hdr + 6; *p == ' ' || *p == '\t'; p++)
		;
	n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n == 0)
		return -1;
	*tok = p;
	*len = n;
	return 0;
}
