/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_API_CLIENT_H
#define PROCESSOR_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct api_client;

/* One call to the integration API. Every pointer is borrowed and must stay
 * valid until the call's result has been returned by api_client_next() (or
 * it was abandoned by api_client_abort_all()). */
struct api_request {
	const char	*method;	/* "POST" or "DELETE" */
	const char	*path;		/* path and query, appended to the base */
	const char	*body;		/* JSON or NULL */
	const char	*request_id;	/* X-Request-Id (the message id) */
	size_t		 resp_max;	/* bytes of a 2xx answer to hand back
					 * in api_result.body; 0 = none */
	void		*udata;		/* handed back in the result */
};

struct api_result {
	void		*udata;
	long		 status;		/* HTTP status; 0 = no answer */
	long		 retry_after_s;		/* Retry-After, -1 when none */
	uint64_t	 elapsed_ms;
	char		 error[ATC_ERRLEN];	/* transport error or excerpt of
						 * a non-2xx body; "" if none */
	char		*body;		/* owned (free()): the 2xx answer, NUL-
					 * terminated, when resp_max > 0; else
					 * NULL */
	size_t		 body_len;
	bool		 body_cut;	/* answer longer than resp_max */
};

/* Returns a new client for base_url (e.g. http://127.0.0.1:8080) sending
 * the key and tenant headers, with per-call timeout_ms and at most
 * max_inflight calls at once over keep-alive connections; free with
 * api_client_free(). NULL and err on failure. */
struct api_client	*api_client_new(const char *base_url,
			    const char *api_key, const char *tenant_id,
			    long long timeout_ms, int max_inflight, char *err,
			    size_t errlen);
/* Trusts the PEM CAs in path (copied) instead of the system bundle for
 * https; verification stays on. 0, or -1 and err when path is unreadable. */
int	api_client_set_ca_file(struct api_client *c, const char *path,
	    char *err, size_t errlen);
/* Abandons calls still in flight (without reporting them) and frees c. */
void	api_client_free(struct api_client *c);
/* Starts one call. 0, or -1 and err (nothing was started). */
int	api_client_start(struct api_client *c, const struct api_request *req,
	    char *err, size_t errlen);
/* Most extra descriptors api_client_poll() waits on. */
#define API_POLL_MAXFDS	4
/* Drives the transfers, waiting up to timeout_ms for network progress or
 * for one of fds[0..nfds) (-1 entries skipped, at most API_POLL_MAXFDS
 * used) to become readable. 0, or -1 and err. */
int	api_client_poll(struct api_client *c, const int *fds, size_t nfds,
	    int timeout_ms, char *err, size_t errlen);
/* Pops one finished call into *out: 1, or 0 when none has finished. The
 * caller owns out->body (free()). */
int	api_client_next(struct api_client *c, struct api_result *out);
/* Number of calls started and not yet returned by api_client_next(). */
size_t	api_client_inflight(const struct api_client *c);
/* Cancels every call in flight, calling fn(udata, arg) for each. */
void	api_client_abort_all(struct api_client *c,
	    void (*fn)(void *udata, void *arg), void *arg);

#endif
