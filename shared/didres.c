/* SPDX-License-Identifier: ISC */
/*
 * DID resolver: an LRU cache in front of blocking HTTP fetches (libcurl;
 * the only curl user in shared/). Documents are kept ttl_ms, failures
 * error_ttl_ms, at most max_entries of either (least recently used go
 * first). Every fetch passes a token bucket for its host, so one stream of
 * unknown DIDs cannot hammer a PLC directory or a did:web server; transient
 * failures (network, timeout, 5xx, 429) are retried with doubling backoff,
 * and an expired document is served when its refresh fails transiently.
 * One resolver serves one thread; a cache hit does no I/O. Only the cancel
 * flag may be set from another thread (shutdown of a resolver thread).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "didres.h"
#include "metrics.h"
#include "util.h"

#define NHOSTS		32		/* rate-limited hosts remembered */
#define MAX_WAIT_MS	2000		/* longest wait for a host token */
#define ERR_KEEP	160		/* cached failure text */
#define SLEEP_STEP_MS	50		/* cancel checks while waiting */

struct entry {
	char			*did;		/* owned */
	uint64_t		 hash;
	enum atc_didres_result	 result;
	bool			 tombstoned;
	struct atc_did_doc	 doc;		/* result OK */
	char			 err[ERR_KEEP];	/* otherwise */
	uint64_t		 fetched_ms;	/* mono */
	uint64_t		 expires_ms;	/* mono */
	struct entry		*hnext;		/* bucket chain */
	struct entry		*prev, *next;	/* LRU, head = newest */
};

struct host_bucket {
	char		host[256];		/* "" = free slot */
	double		tokens;
	uint64_t	last_ms;		/* refill time, also LRU */
};

struct atc_didres {
	struct atc_didres_opts	 o;		/* defaults filled in */
	char			*plc_url;	/* owned */
	CURL			*curl;		/* owned, keep-alive */
	struct entry		**buckets;	/* owned, nbuckets */
	size_t			 nbuckets;	/* power of two */
	struct entry		*head, *tail;
	struct host_bucket	 hosts[NHOSTS];
	struct atc_buf		 body;
	bool			 body_too_big;
	struct atc_didres_stats	 st;
	atomic_bool		 cancelled;	/* set by any thread */
	struct atc_metric	*m_hits, *m_misses, *m_gone, *m_fail;
	struct atc_histogram	*m_latency;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Sleeps ms, in steps so that a cancel ends the wait early. */
static void
sleep_ms(struct atc_didres *r, uint64_t ms)
{
	struct timespec	ts;
	uint64_t	step;

	while (ms > 0 && !atomic_load(&r->cancelled)) {
		step = ms < SLEEP_STEP_MS ? ms : SLEEP_STEP_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		while (nanosleep(&ts, &ts) == -1)
			;
		ms -= step;
	}
}

static void
lru_unlink(struct atc_didres *r, struct entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		r->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		r->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct atc_didres *r, struct entry *e)
{
	e->prev = NULL;
	e->next = r->head;
	if (r->head != NULL)
		r->head->prev = e;
	r->head = e;
	if (r->tail == NULL)
		r->tail = e;
}

static struct entry *
cache_find(struct atc_didres *r, const char *did, uint64_t h)
{
	struct entry	*e;

	for (e = r->buckets[h & (r->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && strcmp(e->did, did) == 0)
			return e;
	return NULL;
}

static void
cache_remove(struct atc_didres *r, struct entry *e)
{
	struct entry	**pp;

	for (pp = &r->buckets[e->hash & (r->nbuckets - 1)]; *pp != e;
	    pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	lru_unlink(r, e);
	r->st.entries--;
	free(e->did);
	free(e);
}

/* Returns the entry for did, created (evicting the oldest) if absent. */
static struct entry *
cache_put(struct atc_didres *r, const char *did)
{
	struct entry	*e;
	uint64_t	 h = hash_str(did);

	if ((e = cache_find(r, did, h)) != NULL) {
		lru_unlink(r, e);
		lru_push(r, e);
		return e;
	}
	if (r->st.entries >= r->o.max_entries && r->tail != NULL) {
		cache_remove(r, r->tail);
		r->st.evictions++;
	}
	e = atc_xcalloc(1, sizeof(*e));
	e->did = atc_xstrdup(did);
	e->hash = h;
	e->hnext = r->buckets[h & (r->nbuckets - 1)];
	r->buckets[h & (r->nbuckets - 1)] = e;
	lru_push(r, e);
	r->st.entries++;
	return e;
}

struct atc_didres *
atc_didres_new(const struct atc_didres_opts *opts, struct atc_metrics *m,
    char *err, size_t errlen)
{
	struct atc_didres	*r;
	const char		*plc;

	plc = opts != NULL && opts->plc_url != NULL ? opts->plc_url :
	    "https://plc.directory";
	if (strncmp(plc, "https://", 8) != 0 && strncmp(plc, "http://", 7)) {
		atc_seterr(err, errlen, "PLC URL must be http(s)://");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		atc_seterr(err, errlen, "curl_global_init failed");
		return NULL;
	}
	r = atc_xcalloc(1, sizeof(*r));
	if (opts != NULL)
		r->o = *opts;
	r->plc_url = atc_xstrdup(plc);
	r->o.plc_url = r->plc_url;
	atomic_init(&r->cancelled, false);
#define DEF(f, v)	do { if (r->o.f <= 0) r->o.f = (v); } while (0)
	DEF(max_entries, 10000);
	DEF(ttl_ms, 24LL * 3600 * 1000);
	DEF(error_ttl_ms, 2LL * 60 * 1000);
	DEF(timeout_ms, 10000);
	DEF(attempts, 3);
	DEF(backoff_ms, 250);
	DEF(host_rate, 10.0);
	DEF(host_burst, 20.0);
	DEF(refresh_min_ms, 10000);
#undef DEF
	for (r->nbuckets = 16; r->nbuckets < r->o.max_entries * 2;
	    r->nbuckets *= 2)
		;
	r->buckets = atc_xcalloc(r->nbuckets, sizeof(*r->buckets));
	atc_buf_init(&r->body, 4096);
	if ((r->curl = curl_easy_init()) == NULL) {
		atc_seterr(err, errlen, "curl_easy_init failed");
		atc_didres_free(r);
		return NULL;
	}
	r->m_hits = atc_metrics_counter(m, "atcal_didres_cache_hits_total",
	    "DID resolutions answered from the cache", NULL);
	r->m_misses = atc_metrics_counter(m, "atcal_didres_cache_misses_total",
	    "DID resolutions that needed a fetch", NULL);
	r->m_gone = atc_metrics_counter(m, "atcal_didres_errors_total",
	    "DID resolutions that failed", "kind=\"gone\"");
	r->m_fail = atc_metrics_counter(m, "atcal_didres_errors_total",
	    "DID resolutions that failed", "kind=\"transient\"");
	r->m_latency = atc_metrics_histogram(m, "atcal_didres_fetch_seconds",
	    "DID document fetch latency, retries included", NULL,
	    atc_metrics_latency_buckets, atc_metrics_nlatency_buckets);
	return r;
}

void
atc_didres_cancel(struct atc_didres *r)
{
	atomic_store(&r->cancelled, true);
}

void
atc_didres_free(struct atc_didres *r)
{
	if (r == NULL)
		return;
	while (r->head != NULL)
		cache_remove(r, r->head);
	free(r->buckets);
	if (r->curl != NULL)
		curl_easy_cleanup(r->curl);
	atc_buf_cleanup(&r->body);
	free(r->plc_url);
	free(r);
}

/* Waits for a token of the URL's host. Returns 0, or -1 when the wait
 * would exceed MAX_WAIT_MS. */
static int
host_token(struct atc_didres *r, const char *url)
{
	struct host_bucket	*b = NULL, *oldest = &r->hosts[0];
	const char		*p, *end;
	char			 host[256];
	uint64_t		 now, wait;
	size_t			 i, len;

	p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	len = (size_t)(end - p) < sizeof(host) - 1 ? (size_t)(end - p) :
	    sizeof(host) - 1;
	memcpy(host, p, len);
	host[len] = '\0';
	now = atc_mono_ms();
	for (i = 0; i < NHOSTS; i++) {
		if (strcmp(r->hosts[i].host, host) == 0) {
			b = &r->hosts[i];
			break;
		}
		if (r->hosts[i].last_ms < oldest->last_ms)
			oldest = &r->hosts[i];
	}
	if (b == NULL) {
		b = oldest;
		(void)snprintf(b->host, sizeof(b->host), "%s", host);
		b->tokens = r->o.host_burst;
		b->last_ms = now;
	}
	b->tokens += (double)(now - b->last_ms) * r->o.host_rate / 1000.0;
	if (b->tokens > r->o.host_burst)
		b->tokens = r->o.host_burst;
	b->last_ms = now;
	if (b->tokens < 1.0) {
		wait = (uint64_t)((1.0 - b->tokens) * 1000.0 /
		    r->o.host_rate) + 1;
		if (wait > MAX_WAIT_MS)
			return -1;
		sleep_ms(r, wait);
		b->tokens = 1.0;
		b->last_ms = atc_mono_ms();
	}
	b->tokens -= 1.0;
	return 0;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct atc_didres	*r = arg;

	if (r->body.len + size * n > ATC_DID_MAXDOC) {
		r->body_too_big = true;
		return 0;
	}
	atc_buf_append(&r->body, data, size * n);
	return size * n;
}

/* libcurl calls this at least once a second, also while a server is
 * silent: a non-zero answer aborts the transfer. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct atc_didres	*r = arg;

	return atomic_load(&r->cancelled) ? 1 : 0;
}

/* One GET of url into r->body. Returns the result; err says why. */
static enum atc_didres_result
fetch_once(struct atc_didres *r, const char *url, long *status, char *err,
    size_t errlen)
{
	char		 ebuf[CURL_ERROR_SIZE];
	CURLcode	 rc;

	*status = 0;
	atc_buf_reset(&r->body);
	r->body_too_big = false;
	ebuf[0] = '\0';
	curl_easy_reset(r->curl);
	(void)curl_easy_setopt(r->curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR,
	    strncmp(url, "https://", 8) == 0 ? "https" : "http");
	(void)curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS,
	    (long)r->o.timeout_ms);
	(void)curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)r->o.timeout_ms);
	(void)curl_easy_setopt(r->curl, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)ATC_DID_MAXDOC);
	(void)curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "atcal-didres");
	(void)curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, r);
	(void)curl_easy_setopt(r->curl, CURLOPT_NOPROGRESS, 0L);
	(void)curl_easy_setopt(r->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	(void)curl_easy_setopt(r->curl, CURLOPT_XFERINFODATA, r);
	(void)curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, ebuf);
	r->st.fetches++;
	rc = curl_easy_perform(r->curl);
	if (r->body_too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		atc_seterr(err, errlen, "document larger than %u bytes",
		    ATC_DID_MAXDOC);
		return ATC_DIDRES_GONE;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		atc_seterr(err, errlen, "fetch: cancelled");
		return ATC_DIDRES_FAIL;
	}
	if (rc != CURLE_OK) {
		atc_seterr(err, errlen, "fetch: %s", ebuf[0] != '\0' ? ebuf :
		    curl_easy_strerror(rc));
		return ATC_DIDRES_FAIL;
	}
	(void)curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
	if (*status == 200)
		return ATC_DIDRES_OK;
	if (*status == 404)
		atc_seterr(err, errlen, "DID not found (404)");
	else if (*status == 410)
		atc_seterr(err, errlen, "DID tombstoned (410)");
	else
		atc_seterr(err, errlen, "HTTP status %ld", *status);
	if (*status == 429 || *status == 408 || *status >= 500)
		return ATC_DIDRES_FAIL;
	return ATC_DIDRES_GONE;
}

/* Fetches and parses did's document into doc (retries included). */
static enum atc_didres_result
fetch(struct atc_didres *r, const char *did, struct atc_did_doc *doc,
    bool *tombstoned, char *err, size_t errlen)
{
	enum atc_didres_result	 res;
	char			 url[ATC_DID_MAXLEN + ATC_DID_MAXURL + 32];
	long			 status = 0;
	uint64_t		 t0 = atc_mono_ms();
	int			 i;

	*tombstoned = false;
	if (atc_did_doc_url(url, sizeof(url), r->plc_url, did, err,
	    errlen) == -1)
		return ATC_DIDRES_GONE;
	res = ATC_DIDRES_FAIL;
	for (i = 0; i < r->o.attempts; i++) {
		if (i > 0)
			sleep_ms(r, (uint64_t)r->o.backoff_ms << (i - 1));
		if (atomic_load(&r->cancelled)) {
			atc_seterr(err, errlen, "fetch: cancelled");
			res = ATC_DIDRES_FAIL;
			break;
		}
		if (host_token(r, url) == -1) {
			atc_seterr(err, errlen, "rate limit of the DID host");
			continue;
		}
		if ((res = fetch_once(r, url, &status, err, errlen)) !=
		    ATC_DIDRES_FAIL)
			break;
	}
	atc_histogram_observe(r->m_latency,
	    (double)(atc_mono_ms() - t0) / 1000.0);
	*tombstoned = status == 410;
	if (res == ATC_DIDRES_OK && atc_did_doc_parse_text(doc, did,
	    (const char *)r->body.data, r->body.len, err, errlen) == -1)
		return ATC_DIDRES_GONE;
	return res;
}

enum atc_didres_result
atc_didres_resolve(struct atc_didres *r, const char *did, bool force,
    struct atc_did_doc *out, bool *tombstoned, char *err, size_t errlen)
{
	struct entry		*e;
	struct atc_did_doc	 doc;
	enum atc_didres_result	 res;
	uint64_t		 now = atc_mono_ms();
	bool			 had_doc, tomb;
	char			 why[ERR_KEEP];

	if (tombstoned != NULL)
		*tombstoned = false;
	if (strlen(did) > ATC_DID_MAXLEN) {
		atc_seterr(err, errlen, "DID too long");
		return ATC_DIDRES_GONE;
	}
	e = cache_find(r, did, hash_str(did));
	if (e != NULL && now < e->expires_ms &&
	    (!force || now - e->fetched_ms < (uint64_t)r->o.refresh_min_ms)) {
		r->st.hits++;
		atc_metric_inc(r->m_hits);
		lru_unlink(r, e);
		lru_push(r, e);
		goto answer;
	}
	r->st.misses++;
	atc_metric_inc(r->m_misses);
	/* Fetch before touching the cache: the entry may be evicted. */
	why[0] = '\0';
	res = fetch(r, did, &doc, &tomb, why, sizeof(why));
	e = cache_put(r, did);
	had_doc = e->fetched_ms > 0 && e->result == ATC_DIDRES_OK;
	if (res == ATC_DIDRES_FAIL && had_doc) {
		/* Keep serving the document we had; try again later. */
		e->expires_ms = atc_mono_ms() + (uint64_t)r->o.error_ttl_ms;
		goto answer;
	}
	e->result = res;
	e->tombstoned = tomb;
	(void)snprintf(e->err, sizeof(e->err), "%s", why);
	e->fetched_ms = atc_mono_ms();
	if (res == ATC_DIDRES_OK) {
		e->doc = doc;
		e->expires_ms = e->fetched_ms + (uint64_t)r->o.ttl_ms;
	} else
		e->expires_ms = e->fetched_ms + (uint64_t)r->o.error_ttl_ms;
answer:
	if (e->result == ATC_DIDRES_OK) {
		*out = e->doc;
		return ATC_DIDRES_OK;
	}
	r->st.errors++;
	atc_metric_inc(e->result == ATC_DIDRES_GONE ? r->m_gone : r->m_fail);
	if (tombstoned != NULL)
		*tombstoned = e->tombstoned;
	(void)snprintf(err, errlen, "%s", e->err);
	return e->result;
}

int
atc_didres_seed(struct atc_didres *r, const char *did, const json_t *doc,
    char *err, size_t errlen)
{
	struct atc_did_doc	 d;
	struct entry		*e;

	if (strlen(did) > ATC_DID_MAXLEN)
		return atc_seterr(err, errlen, "DID too long");
	if (atc_did_doc_parse(&d, did, doc, err, errlen) == -1)
		return -1;
	e = cache_put(r, did);
	e->result = ATC_DIDRES_OK;
	e->tombstoned = false;
	e->doc = d;
	e->err[0] = '\0';
	e->fetched_ms = atc_mono_ms();
	e->expires_ms = e->fetched_ms + (uint64_t)r->o.ttl_ms;
	return 0;
}

long
atc_didres_seed_json(struct atc_didres *r, const char *text, size_t len,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root, *doc;
	const char	*did;
	char		 why[ATC_ERRLEN];
	long		 n = -1;

	if ((root = json_loadb(text, len, 0, &jerr)) == NULL) {
		atc_seterr(err, errlen, "seed: bad JSON: %s", jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		atc_seterr(err, errlen, "seed: not a JSON object");
		goto out;
	}
	json_object_foreach(root, did, doc) {
		if (atc_didres_seed(r, did, doc, why, sizeof(why)) == -1) {
			atc_seterr(err, errlen, "seed: %.80s: %s", did, why);
			goto out;
		}
	}
	n = (long)json_object_size(root);
out:
	json_decref(root);
	return n;
}

void
atc_didres_stats(const struct atc_didres *r, struct atc_didres_stats *out)
{
	*out = r->st;
}
