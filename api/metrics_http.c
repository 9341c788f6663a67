/* SPDX-License-Identifier: ISC */
/*
 * GET /metrics on the API port: the shared registry (telemetry.c) in the
 * Prometheus text format, rendered by whichever worker Kore picks. With
 * METRICS_TOKEN set, a scrape must present it as a bearer token (compared
 * in constant time); without it the endpoint is open, as the processor's
 * and consumer's ops endpoints are.
 */
#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "auth.h"
#include "buf.h"
#include "telemetry.h"
#include "util.h"

int	api_metrics(struct http_request *);

static int
answer(struct http_request *req, int status, const char *type,
    const void *body, size_t len, uint64_t t0_ms)
{
	http_response_header(req, "content-type", type);
	if (status == 401)
		http_response_header(req, "www-authenticate",
		    "Bearer realm=\"metrics\"");
	http_response(req, status, body, len);
	telemetry_request("api_metrics", http_method_text(req->method), status,
	    (double)(atc_mono_ms() - t0_ms) / 1000);
	return KORE_RESULT_OK;
}

int
api_metrics(struct http_request *req)
{
	static const char	 unauth[] = "{\"status\":401,\"error\":"
	    "\"unauthorized\",\"message\":\"metrics token required\"}";
	static const char	 badm[] = "{\"status\":405,\"error\":"
	    "\"method_not_allowed\",\"message\":\"GET only\"}";
	const char		*token = api_config()->metrics_token;
	const char		*hdr = NULL, *tok = NULL;
	struct atc_buf		 b;
	uint64_t		 t0_ms = atc_mono_ms();
	size_t			 len = 0;
	int			 ret;

	if (req->method != HTTP_METHOD_GET) {
		http_response_header(req, "allow", "GET");
		return answer(req, 405, "application/json", badm,
		    sizeof(badm) - 1, t0_ms);
	}
	if (token != NULL && *token != '\0' &&
	    (!http_request_header(req, "authorization", &hdr) ||
	    api_bearer_token(hdr, &tok, &len) == -1 ||
	    !atc_ct_equal(tok, len, token, strlen(token))))
		return answer(req, 401, "application/json", unauth,
		    sizeof(unauth) - 1, t0_ms);
	atc_buf_init(&b, 16384);
	(void)telemetry_render(&b);
	ret = answer(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len, t0_ms);
	atc_buf_cleanup(&b);
	return ret;
}
