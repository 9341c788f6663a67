/* SPDX-License-Identifier: ISC */
/*
 * XRPC GET client over libcurl (the only curl user for XRPC; didres.c keeps
 * its own handle for DID documents). One keep-alive easy handle per client,
 * so a client belongs to one thread; the per-host token buckets live in a
 * limiter behind a mutex so that every thread talking to one host shares
 * its budget. Bodies are capped before they are stored: a server cannot
 * make us allocate more than max_body.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "util.h"
#include "xrpc.h"

#define NHOSTS		64		/* hosts remembered by a limiter */

struct host_bucket {
	char		host[256];		/* "" = free slot */
	double		tokens;
	uint64_t	last_ms;		/* refill time, also LRU */
};

struct atc_xrpc_limiter {
	pthread_mutex_t		mu;
	double			rate;		/* tokens/s; <= 0 unlimited */
	double			burst;
	struct host_bucket	hosts[NHOSTS];
};

struct atc_xrpc {
	struct atc_xrpc_opts	 o;		/* defaults filled in */
	char			*ua;		/* owned */
	CURL			*curl;		/* owned, keep-alive */
	struct atc_xrpc_limiter	*limiter;	/* borrowed or NULL */
	struct atc_buf		*out;		/* body being received */
	bool			 too_big;
	unsigned long long	 requests;
};

static void
sleep_ms(uint64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		;
}

struct atc_xrpc_limiter *
atc_xrpc_limiter_new(double rate, double burst)
{
	struct atc_xrpc_limiter	*l;

	l = atc_xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->rate = rate;
	l->burst = burst >= 1.0 ? burst : 1.0;
	return l;
}

void
atc_xrpc_limiter_free(struct atc_xrpc_limiter *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l);
}

uint64_t
atc_xrpc_limiter_take(struct atc_xrpc_limiter *l, const char *host,
    uint64_t now_ms)
{
	struct host_bucket	*b = NULL, *oldest;
	uint64_t		 wait = 0;
	size_t			 i;

	if (l == NULL || l->rate <= 0)
		return 0;
	pthread_mutex_lock(&l->mu);
	oldest = &l->hosts[0];
	for (i = 0; i < NHOSTS; i++) {
		if (strcmp(l->hosts[i].host, host) == 0) {
			b = &l->hosts[i];
			break;
		}
		if (l->hosts[i].last_ms < oldest->last_ms)
			oldest = &l->hosts[i];
	}
	if (b == NULL) {
		b = oldest;
		(void)snprintf(b->host, sizeof(b->host), "%s", host);
		b->tokens = l->burst;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * l->rate / 1000.0;
		if (b->tokens > l->burst)
			b->tokens = l->burst;
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else
		wait = (uint64_t)((1.0 - b->tokens) * 1000.0 / l->rate) + 1;
	pthread_mutex_unlock(&l->mu);
	return wait;
}

struct atc_xrpc *
atc_xrpc_new(const struct atc_xrpc_opts *opts, struct atc_xrpc_limiter *lim,
    char *err, size_t errlen)
{
	struct atc_xrpc	*c;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		atc_seterr(err, errlen, "xrpc: curl_global_init failed");
		return NULL;
	}
	c = atc_xcalloc(1, sizeof(*c));
	if (opts != NULL)
		c->o = *opts;
#define DEF(f, v)	do { if (c->o.f <= 0) c->o.f = (v); } while (0)
	DEF(timeout_ms, 30000);
	DEF(max_body, 8u * 1024 * 1024);
	DEF(attempts, 3);
	DEF(backoff_ms, 500);
#undef DEF
	c->ua = atc_xstrdup(c->o.user_agent != NULL ? c->o.user_agent :
	    "atcal");
	c->o.user_agent = c->ua;
	c->limiter = lim;
	if ((c->curl = curl_easy_init()) == NULL) {
		atc_seterr(err, errlen, "xrpc: curl_easy_init failed");
		atc_xrpc_free(c);
		return NULL;
	}
	return c;
}

void
atc_xrpc_free(struct atc_xrpc *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->ua);
	free(c);
}

unsigned long long
atc_xrpc_requests(const struct atc_xrpc *c)
{
	return c->requests;
}

int
atc_xrpc_url_host(const char *url, char *out, size_t outlen)
{
	const char	*p, *end;

	p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	if (end == p || (size_t)(end - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

void
atc_xrpc_escape(struct atc_buf *out, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~')
			atc_buf_putc(out, ch);
		else {
			atc_buf_putc(out, '%');
			atc_buf_putc(out, hex[ch >> 4]);
			atc_buf_putc(out, hex[ch & 15]);
		}
	}
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct atc_xrpc	*c = arg;

	if (c->out->len + size * n > c->o.max_body) {
		c->too_big = true;
		return 0;
	}
	atc_buf_append(c->out, data, size * n);
	return size * n;
}

/* Appends the XRPC error name and message of a JSON error body, if any. */
static void
error_detail(const struct atc_buf *body, char *out, size_t outlen)
{
	json_t		*root;
	const char	*e, *m;

	out[0] = '\0';
	if (body->len == 0 || body->len > 64 * 1024 ||
	    (root = json_loadb((const char *)body->data, body->len, 0,
	    NULL)) == NULL)
		return;
	e = json_string_value(json_object_get(root, "error"));
	m = json_string_value(json_object_get(root, "message"));
	if (e != NULL)
		(void)snprintf(out, outlen, " %.64s%s%.100s", e,
		    m != NULL ? ": " : "", m != NULL ? m : "");
	json_decref(root);
}

static enum atc_xrpc_result
get_once(struct atc_xrpc *c, const char *url, struct atc_buf *out,
    long *status, char *err, size_t errlen)
{
	char		ebuf[CURL_ERROR_SIZE], detail[200];
	CURLcode	rc;

	*status = 0;
	atc_buf_reset(out);
	c->out = out;
	c->too_big = false;
	ebuf[0] = '\0';
	curl_easy_reset(c->curl);
	(void)curl_easy_setopt(c->curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS,
	    (long)c->o.timeout_ms);
	(void)curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(c->o.timeout_ms < 10000 ? c->o.timeout_ms : 10000));
	(void)curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)c->o.max_body);
	(void)curl_easy_setopt(c->curl, CURLOPT_USERAGENT, c->o.user_agent);
	(void)curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	(void)curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, ebuf);
	c->requests++;
	rc = curl_easy_perform(c->curl);
	c->out = NULL;
	if (c->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		atc_seterr(err, errlen, "xrpc: body larger than %zu bytes",
		    c->o.max_body);
		return ATC_XRPC_REFUSED;
	}
	if (rc != CURLE_OK) {
		atc_seterr(err, errlen, "xrpc: %s", ebuf[0] != '\0' ? ebuf :
		    curl_easy_strerror(rc));
		return ATC_XRPC_FAIL;
	}
	(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	if (*status == 200)
		return ATC_XRPC_OK;
	error_detail(out, detail, sizeof(detail));
	atc_seterr(err, errlen, "xrpc: HTTP status %ld%s", *status, detail);
	if (*status == 429 || *status == 408 || *status >= 500)
		return ATC_XRPC_FAIL;
	return ATC_XRPC_REFUSED;
}

enum atc_xrpc_result
atc_xrpc_get(struct atc_xrpc *c, const char *base, const char *nsid,
    const char *query, struct atc_buf *out, long *status, char *err,
    size_t errlen)
{
	struct atc_buf		 url;
	enum atc_xrpc_result	 res = ATC_XRPC_FAIL;
	char			 host[256];
	long			 st = 0;
	uint64_t		 wait;
	size_t			 blen;
	int			 i;

	if (strncmp(base, "http://", 7) != 0 &&
	    strncmp(base, "https://", 8) != 0) {
		atc_seterr(err, errlen, "xrpc: base must be http(s)://");
		return ATC_XRPC_REFUSED;
	}
	if (atc_xrpc_url_host(base, host, sizeof(host)) == -1) {
		atc_seterr(err, errlen, "xrpc: base has no host");
		return ATC_XRPC_REFUSED;
	}
	atc_buf_init(&url, 256);
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	atc_buf_append(&url, base, blen);
	atc_buf_appendf(&url, "/xrpc/%s", nsid);
	if (query != NULL && query[0] != '\0')
		atc_buf_appendf(&url, "?%s", query);
	for (i = 0; i < c->o.attempts; i++) {
		if (i > 0)
			sleep_ms((uint64_t)c->o.backoff_ms << (i - 1));
		while ((wait = atc_xrpc_limiter_take(c->limiter, host,
		    atc_mono_ms())) > 0)
			sleep_ms(wait);
		if ((res = get_once(c, atc_buf_cstr(&url), out, &st, err,
		    errlen)) != ATC_XRPC_FAIL)
			break;
	}
	if (status != NULL)
		*status = st;
	atc_buf_cleanup(&url);
	return res;
}
