/* SPDX-License-Identifier: ISC */
#ifndef ATC_XRPC_H
#define ATC_XRPC_H

#include <stddef.h>
#include <stdint.h>

struct atc_buf;

/*
 * XRPC queries (HTTP GET {base}/xrpc/{nsid}?{params}) over libcurl; xrpc.c
 * is the only curl user for XRPC. A client serves one thread; a limiter
 * (per-host token buckets) may be shared by many clients across threads.
 */

/* Per-host request rate: rate requests/s, bursts of up to burst. */
struct atc_xrpc_limiter;

/* Returns a new limiter; free with atc_xrpc_limiter_free(). rate <= 0
 * means unlimited. Thread-safe. */
struct atc_xrpc_limiter	*atc_xrpc_limiter_new(double rate, double burst);
void			 atc_xrpc_limiter_free(struct atc_xrpc_limiter *);
/* Takes one token of host at time now_ms (monotonic). Returns 0 when the
 * request may go now, else the milliseconds to wait before asking again
 * (nothing taken). Pure apart from the lock; used by atc_xrpc_get(). */
uint64_t	atc_xrpc_limiter_take(struct atc_xrpc_limiter *,
		    const char *host, uint64_t now_ms);

struct atc_xrpc_opts {
	long long	 timeout_ms;	/* one request [30 s] */
	size_t		 max_body;	/* bytes accepted [8 MiB] */
	int		 attempts;	/* tries on transient failures [3] */
	long long	 backoff_ms;	/* first retry delay, doubled [500] */
	const char	*user_agent;	/* ["atcal"] */
};

enum atc_xrpc_result {
	ATC_XRPC_OK = 0,	/* status 200, body in out */
	ATC_XRPC_REFUSED,	/* permanent: 4xx other than 408/429, body
				 * too big; *status and err say which */
	ATC_XRPC_FAIL,		/* transient after every attempt: network,
				 * timeout, 5xx, 429 */
};

struct atc_xrpc;

/* Returns a new client (opts may be NULL); limiter is borrowed (may be
 * NULL) and must outlive the client. Free with atc_xrpc_free(). NULL and
 * err when libcurl cannot start. */
struct atc_xrpc	*atc_xrpc_new(const struct atc_xrpc_opts *,
		    struct atc_xrpc_limiter *limiter, char *err,
		    size_t errlen);
void		 atc_xrpc_free(struct atc_xrpc *);

/* GET base (http(s)://host[:port], no trailing path needed) + /xrpc/ +
 * nsid + ?query (query already escaped, may be NULL or ""). The body is
 * appended to out (reset first). *status (may be NULL) gets the last HTTP
 * status (0 without one). Waits for the host's token, retries transient
 * failures with doubling backoff. Returns the result; err says why when
 * not OK (the XRPC "error" name included when the server sent one). */
enum atc_xrpc_result	atc_xrpc_get(struct atc_xrpc *, const char *base,
			    const char *nsid, const char *query,
			    struct atc_buf *out, long *status, char *err,
			    size_t errlen);
/* Appends s URL-escaped (RFC 3986 unreserved kept) to out. */
void	atc_xrpc_escape(struct atc_buf *out, const char *s);
/* Copies the host[:port] part of an http(s)/ws(s) URL into out. Returns 0
 * or -1 when there is none or it does not fit. */
int	atc_xrpc_url_host(const char *url, char *out, size_t outlen);
/* Number of requests sent by this client (every attempt counts). */
unsigned long long	atc_xrpc_requests(const struct atc_xrpc *);

#endif
