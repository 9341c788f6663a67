/* SPDX-License-Identifier: ISC */
/*
 * The integration API client: the only caller of curl_*. One curl multi
 * handle runs many calls at once over a pool of keep-alive connections; the
 * caller's loop drives it with api_client_poll() and can wake on a few
 * extra descriptors (the RabbitMQ socket, the DID resolver's pipe). Each
 * call owns one struct xfer, freed when its result is handed out. Response
 * bodies are kept only up to a small excerpt, or the caller's bound for
 * answers it reads (batch results), so a misbehaving server cannot make us
 * allocate.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "api_client.h"
#include "buf.h"
#include "outcome.h"
#include "util.h"

#define RESP_KEEP	2048		/* response bytes kept for errors */
#define CONNECT_MAX_MS	5000
/*
 * Kore answers 408 and closes a kept-alive connection that carries no new
 * request within its header timeout (10 s by default) although it
 * advertises keep-alive for 20 s; a request sent as that 408 is written
 * would read it as its own answer. Never reuse a connection idle this long.
 */
#define REUSE_IDLE_MAX_S	4L

struct xfer {
	CURL			*easy;		/* owned */
	struct curl_slist	*hdrs;		/* owned */
	struct atc_buf		 resp;		/* first keep bytes */
	size_t			 keep;		/* max(RESP_KEEP, resp_max) */
	size_t			 resp_max;	/* from the request */
	bool			 cut;		/* more than keep arrived */
	char			 errbuf[CURL_ERROR_SIZE];
	long			 retry_after_s;
	uint64_t		 started_ms;
	void			*udata;
	struct xfer		*next, *prev;	/* in-flight list */
};

struct api_client {
	CURLM		*multi;		/* owned */
	char		*base;		/* owned, no trailing slash */
	char		*auth_hdr;	/* owned "Authorization: Bearer ..." */
	char		*tenant_hdr;	/* owned "x-tenant-id: ..." */
	char		*ca_file;	/* owned PEM CA path, NULL = system */
	long long	 timeout_ms;
	struct xfer	*head;		/* in flight, owned */
	size_t		 ninflight;
};

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = size * n, keep;

	if (x->resp.len < x->keep) {
		keep = x->keep - x->resp.len;
		atc_buf_append(&x->resp, data, len < keep ? len : keep);
		if (len > keep)
			x->cut = true;
	} else if (len > 0)
		x->cut = true;
	return len;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = size * n;
	char		 v[64];
	const char	*name = "retry-after:";
	size_t		 nlen = strlen(name);

	if (len > nlen && len - nlen < sizeof(v) &&
	    strncasecmp(data, name, nlen) == 0) {
		memcpy(v, data + nlen, len - nlen);
		v[len - nlen] = '\0';
		x->retry_after_s = outcome_retry_after(v);
	}
	return len;
}

static char *
header_line(const char *name, const char *value)
{
	struct atc_buf	 b;
	const char	*p;

	atc_buf_init(&b, 64);
	atc_buf_appendf(&b, "%s: ", name);
	/* Never let a value break the header block. */
	for (p = value; *p != '\0'; p++)
		atc_buf_putc(&b, (unsigned char)*p < 0x20 ||
		    (unsigned char)*p == 0x7f ? '?' : *p);
	return atc_buf_release(&b);
}

struct api_client *
api_client_new(const char *base_url, const char *api_key,
    const char *tenant_id, long long timeout_ms, int max_inflight, char *err,
    size_t errlen)
{
	struct api_client	*c;
	size_t			 n;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		atc_seterr(err, errlen, "api: curl_global_init failed");
		return NULL;
	}
	c = atc_xcalloc(1, sizeof(*c));
	if ((c->multi = curl_multi_init()) == NULL) {
		atc_seterr(err, errlen, "api: curl_multi_init failed");
		free(c);
		curl_global_cleanup();
		return NULL;
	}
	c->base = atc_xstrdup(base_url);
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->auth_hdr = atc_xmalloc(strlen(api_key) + 32);
	(void)snprintf(c->auth_hdr, strlen(api_key) + 32,
	    "Authorization: Bearer %s", api_key);
	c->tenant_hdr = header_line("x-tenant-id", tenant_id);
	c->timeout_ms = timeout_ms;
	(void)curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)max_inflight);
	(void)curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
	    (long)max_inflight);
	return c;
}

static void
xfer_free(struct api_client *c, struct xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		c->head = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	c->ninflight--;
	(void)curl_multi_remove_handle(c->multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->hdrs);
	atc_buf_cleanup(&x->resp);
	free(x);
}

void
api_client_abort_all(struct api_client *c,
    void (*fn)(void *udata, void *arg), void *arg)
{
	void	*udata;

	while (c->head != NULL) {
		udata = c->head->udata;
		xfer_free(c, c->head);
		if (fn != NULL)
			fn(udata, arg);
	}
}

void
api_client_free(struct api_client *c)
{
	if (c == NULL)
		return;
	api_client_abort_all(c, NULL, NULL);
	curl_multi_cleanup(c->multi);
	free(c->base);
	free(c->auth_hdr);
	free(c->tenant_hdr);
	free(c->ca_file);
	free(c);
	curl_global_cleanup();
}

int
api_client_set_ca_file(struct api_client *c, const char *path, char *err,
    size_t errlen)
{
	if (access(path, R_OK) == -1) {
		atc_seterr(err, errlen, "api: API_CA_FILE %s: %s", path,
		    strerror(errno));
		return -1;
	}
	free(c->ca_file);
	c->ca_file = atc_xstrdup(path);
	return 0;
}

static struct curl_slist *
slist_add(struct curl_slist *l, const char *line, bool *ok)
{
	struct curl_slist	*n;

	if ((n = curl_slist_append(l, line)) == NULL)
		*ok = false;
	return n != NULL ? n : l;
}

int
api_client_start(struct api_client *c, const struct api_request *req,
    char *err, size_t errlen)
{
	struct xfer	*x;
	struct atc_buf	 url;
	char		*rid = NULL;
	bool		 ok = true;
	int		 ret = -1;

	atc_buf_init(&url, 256);
	x = atc_xcalloc(1, sizeof(*x));
	atc_buf_init(&x->resp, 0);
	x->retry_after_s = -1;
	x->resp_max = req->resp_max;
	x->keep = req->resp_max > RESP_KEEP ? req->resp_max : RESP_KEEP;
	x->udata = req->udata;
	if ((x->easy = curl_easy_init()) == NULL) {
		atc_seterr(err, errlen, "api: curl_easy_init failed");
		goto out;
	}
	atc_buf_appendf(&url, "%s%s", c->base, req->path);
	rid = header_line("X-Request-Id", req->request_id ?
	    req->request_id : "");
	x->hdrs = slist_add(x->hdrs, c->auth_hdr, &ok);
	x->hdrs = slist_add(x->hdrs, c->tenant_hdr, &ok);
	x->hdrs = slist_add(x->hdrs, rid, &ok);
	x->hdrs = slist_add(x->hdrs, "Accept: application/json", &ok);
	/* Kore never answers 100-continue: never wait for it. */
	x->hdrs = slist_add(x->hdrs, "Expect:", &ok);
	if (req->body != NULL)
		x->hdrs = slist_add(x->hdrs,
		    "Content-Type: application/json", &ok);
	if (!ok) {
		atc_seterr(err, errlen, "api: out of memory for headers");
		goto out;
	}
	ok = curl_easy_setopt(x->easy, CURLOPT_URL, atc_buf_cstr(&url)) ==
	    CURLE_OK;
	(void)curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, req->method);
	/* https is always verified (peer and host name); a private CA only
	 * replaces the system bundle. */
	(void)curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL)
		ok = ok && curl_easy_setopt(x->easy, CURLOPT_CAINFO,
		    c->ca_file) == CURLE_OK;
	if (req->body != NULL) {
		(void)curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, req->body);
		(void)curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(req->body));
	}
	(void)curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	(void)curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
	    (long)c->timeout_ms);
	(void)curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(c->timeout_ms < CONNECT_MAX_MS ? c->timeout_ms :
	    CONNECT_MAX_MS));
	(void)curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	(void)curl_easy_setopt(x->easy, CURLOPT_MAXAGE_CONN, REUSE_IDLE_MAX_S);
	(void)curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	(void)curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	(void)curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	(void)curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	if (!ok) {
		atc_seterr(err, errlen, "api: bad URL");
		goto out;
	}
	if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
		atc_seterr(err, errlen, "api: curl_multi_add_handle failed");
		goto out;
	}
	x->started_ms = atc_mono_ms();
	x->next = c->head;
	if (c->head != NULL)
		c->head->prev = x;
	c->head = x;
	c->ninflight++;
	x = NULL;
	ret = 0;
out:
	if (x != NULL) {
		if (x->easy != NULL)
			curl_easy_cleanup(x->easy);
		curl_slist_free_all(x->hdrs);
		atc_buf_cleanup(&x->resp);
		free(x);
	}
	free(rid);
	atc_buf_cleanup(&url);
	return ret;
}

int
api_client_poll(struct api_client *c, const int *fds, size_t nfds,
    int timeout_ms, char *err, size_t errlen)
{
	struct curl_waitfd	 wfd[API_POLL_MAXFDS];
	CURLMcode		 mc;
	unsigned int		 n = 0;
	size_t			 i;
	int			 running, nready;

	if ((mc = curl_multi_perform(c->multi, &running)) != CURLM_OK)
		return atc_seterr(err, errlen, "api: %s",
		    curl_multi_strerror(mc));
	memset(wfd, 0, sizeof(wfd));
	for (i = 0; i < nfds && n < API_POLL_MAXFDS; i++) {
		if (fds[i] < 0)
			continue;
		wfd[n].fd = fds[i];
		wfd[n].events = CURL_WAIT_POLLIN;
		n++;
	}
	if ((mc = curl_multi_poll(c->multi, n > 0 ? wfd : NULL, n,
	    timeout_ms, &nready)) != CURLM_OK)
		return atc_seterr(err, errlen, "api: %s",
		    curl_multi_strerror(mc));
	if ((mc = curl_multi_perform(c->multi, &running)) != CURLM_OK)
		return atc_seterr(err, errlen, "api: %s",
		    curl_multi_strerror(mc));
	return 0;
}

int
api_client_next(struct api_client *c, struct api_result *out)
{
	struct xfer	*x = NULL;
	CURLMsg		*m;
	CURLcode	 rc;
	int		 left;
	size_t		 i;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE)
			break;
	}
	if (m == NULL)
		return 0;
	rc = m->data.result;
	(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
	memset(out, 0, sizeof(*out));
	out->udata = x->udata;
	out->retry_after_s = x->retry_after_s;
	out->elapsed_ms = atc_mono_ms() - x->started_ms;
	if (rc != CURLE_OK) {
		out->status = 0;
		(void)snprintf(out->error, sizeof(out->error), "%.100s%s%.150s",
		    curl_easy_strerror(rc), x->errbuf[0] ? ": " : "",
		    x->errbuf);
	} else {
		(void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE,
		    &out->status);
		if (out->status >= 200 && out->status <= 299 &&
		    x->resp_max > 0) {
			out->body_len = x->resp.len;
			out->body_cut = x->cut || x->resp.len > x->resp_max;
			out->body = atc_buf_release(&x->resp);
		} else if (out->status < 200 || out->status > 299) {
			/* A one-line excerpt: control bytes flattened. */
			(void)snprintf(out->error, sizeof(out->error), "%s",
			    atc_buf_cstr(&x->resp));
			for (i = 0; out->error[i] != '\0'; i++)
				if ((unsigned char)out->error[i] < 0x20)
					out->error[i] = ' ';
		}
	}
	xfer_free(c, x);
	return 1;
}

size_t
api_client_inflight(const struct api_client *c)
{
	return c->ninflight;
}
