/* SPDX-License-Identifier: ISC */
/*
 * Service key set and request credential parsing. Every check compares the
 * presented key against all configured keys with atc_ct_equal() and never
 * stops early, so timing reveals neither which key nor how much of one
 * matched (OpenMeet failure 14). Tenants are matched exactly. Keys come
 * from the environment and from a file (a mounted Kubernetes secret); a
 * key is only ever named by its fingerprint, so key text never reaches an
 * error message, a log line or a metric label.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "crypto_hash.h"
#include "input.h"
#include "util.h"

#define KEY_LEN_MAX	256
#define KEYFILE_MAX	(1024 * 1024)

struct api_key {
	char	 *key;		/* owned, wiped on free */
	size_t	  keylen;
	char	**tenants;	/* owned, NULL-terminated; NULL = any tenant */
	char	  fp[API_KEY_FP_LEN + 1];
};

struct api_keys {
	struct api_key	keys[API_KEYS_MAX];
	size_t		nkeys;
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
	free(ks);
}

size_t
api_keys_count(const struct api_keys *ks)
{
	return ks->nkeys;
}

void
api_key_fingerprint(const char *key, size_t len,
    char out[API_KEY_FP_LEN + 1])
{
	static const char	hex[] = "0123456789abcdef";
	uint8_t			md[ATC_SHA256_LEN];
	size_t			i;

	atc_sha256(md, key, len);
	for (i = 0; i < API_KEY_FP_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[API_KEY_FP_LEN] = '\0';
	explicit_bzero(md, sizeof(md));
}

const char *
api_keys_fingerprint(const struct api_keys *ks, size_t idx)
{
	if (ks == NULL || idx >= ks->nkeys)
		return "-";
	return ks->keys[idx].fp;
}

int
api_keys_find(const struct api_keys *ks, const char *fp, size_t *idx)
{
	size_t	i;

	for (i = 0; i < ks->nkeys; i++) {
		if (strcasecmp(ks->keys[i].fp, fp) == 0) {
			*idx = i;
			return 0;
		}
	}
	return -1;
}

/* Splits "t1|t2" into a new NULL-terminated array of new strings. */
static char **
split_tenants(const char *s, size_t n, const char *where, char *err,
    size_t errlen)
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
			atc_seterr(err, errlen, "%s: bad tenant id", where);
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

/* Adds one entry [s, s + n), already trimmed. where names it in errors. */
static int
add_entry(struct api_keys *ks, const char *s, size_t n, const char *where,
    char *err, size_t errlen)
{
	struct api_key	*k;
	const char	*eq;
	size_t		 klen, i;

	if (ks->nkeys == API_KEYS_MAX)
		return atc_seterr(err, errlen, "more than %d keys",
		    API_KEYS_MAX);
	eq = memchr(s, '=', n);
	klen = eq != NULL ? (size_t)(eq - s) : n;
	if (klen == 0 || klen > KEY_LEN_MAX)
		return atc_seterr(err, errlen, "%s: key empty or longer than "
		    "%d bytes", where, KEY_LEN_MAX);
	for (i = 0; i < klen; i++)
		if (!isgraph((unsigned char)s[i]))
			return atc_seterr(err, errlen, "%s: key holds a space "
			    "or control character", where);
	k = &ks->keys[ks->nkeys];
	memset(k, 0, sizeof(*k));
	api_key_fingerprint(s, klen, k->fp);
	for (i = 0; i < ks->nkeys; i++)
		if (strcmp(ks->keys[i].fp, k->fp) == 0)
			return atc_seterr(err, errlen, "%s: key %s given twice",
			    where, k->fp);
	if (eq != NULL && (k->tenants = split_tenants(eq + 1,
	    n - klen - 1, where, err, errlen)) == NULL)
		return -1;
	k->key = atc_xstrndup(s, klen);
	k->keylen = klen;
	ks->nkeys++;
	return 0;
}

/* Adds the entries of text split at sep ('\n' lines allow # comments). */
static int
add_entries(struct api_keys *ks, const char *text, char sep,
    const char *source, char *err, size_t errlen)
{
	const char	*p = text, *start, *end, *next;
	char		 where[64];
	size_t		 nr = 0;

	while (p != NULL && *p != '\0') {
		nr++;
		if ((next = strchr(p, sep)) == NULL)
			next = p + strlen(p);
		start = p;
		end = next;
		p = *next != '\0' ? next + 1 : next;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end == start || (sep == '\n' && *start == '#'))
			continue;
		(void)snprintf(where, sizeof(where), "%s %s %zu", source,
		    sep == '\n' ? "line" : "entry", nr);
		if (add_entry(ks, start, (size_t)(end - start), where, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

int
api_keys_load(const char *spec, const char *file_text, struct api_keys **out,
    char *err, size_t errlen)
{
	struct api_keys	*ks;
	int		 ret = -1;

	ks = atc_xcalloc(1, sizeof(*ks));
	if (add_entries(ks, spec, ',', "SERVICE_API_KEYS", err, errlen) == -1 ||
	    add_entries(ks, file_text, '\n', "SERVICE_API_KEYS_FILE", err,
	    errlen) == -1)
		goto out;
	if (ks->nkeys == 0) {
		atc_seterr(err, errlen, "no service key configured");
		goto out;
	}
	*out = ks;
	ks = NULL;
	ret = 0;
out:
	api_keys_free(ks);
	return ret;
}

int
api_keys_parse(const char *spec, struct api_keys **out, char *err,
    size_t errlen)
{
	return api_keys_load(spec, NULL, out, err, errlen);
}

int
api_keys_read_file(const char *path, char **out, char *err, size_t errlen)
{
	struct stat	 st;
	char		*text = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, ret = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return atc_seterr(err, errlen, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > KEYFILE_MAX) {
		atc_seterr(err, errlen, "%s: not a regular file of at most "
		    "%d bytes", path, KEYFILE_MAX);
		goto out;
	}
	text = atc_xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, text + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			atc_seterr(err, errlen, "%s: short read", path);
			goto out;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		atc_seterr(err, errlen, "%s: holds a NUL byte", path);
		goto out;
	}
	*out = text;
	text = NULL;
	ret = 0;
out:
	if (text != NULL)
		explicit_bzero(text, (size_t)st.st_size + 1);
	free(text);
	close(fd);
	return ret;
}

void
api_keys_text_free(char *text)
{
	if (text == NULL)
		return;
	explicit_bzero(text, strlen(text));
	free(text);
}

enum api_auth
api_keys_match(const struct api_keys *ks, const char *key, size_t len,
    const char *tenant, size_t *idx)
{
	const struct api_key	*match = NULL;
	size_t			 i, j;
	int			 eq;

	if (key == NULL || len == 0 || len > KEY_LEN_MAX)
		return API_AUTH_BAD_KEY;
	for (i = 0; i < ks->nkeys; i++) {
		eq = atc_ct_equal(key, len, ks->keys[i].key,
		    ks->keys[i].keylen);
		if (eq && match == NULL) {
			match = &ks->keys[i];
			*idx = i;
		}
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

enum api_auth
api_keys_check(const struct api_keys *ks, const char *key, size_t len,
    const char *tenant)
{
	size_t	idx;

	return api_keys_match(ks, key, len, tenant, &idx);
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
