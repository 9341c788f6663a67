/* SPDX-License-Identifier: ISC */
/*
 * Backfill enumeration: which hosts (BACKFILL_SOURCE_URL or SOURCE_URL's
 * host), what kind each is (a relay answers listReposByCollection, a PDS
 * refuses it) and which repositories they hold, stored page by page with
 * the next cursor so a restarted run continues where it stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "backfill_priv.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "settings.h"
#include "util.h"
#include "xrpc.h"

/* BACKFILL_SOURCE_URL entries, or the http(s) form of SOURCE_URL's host. */
int
backfill_hosts_setup(struct backfill *bf, char *err, size_t errlen)
{
	const struct consumer_config	*cfg = bf->cfg;
	struct backfill_host		*h;
	char				**list = NULL, host[256];
	size_t				 n = 0, i;
	int				 ret = -1;

	if (cfg->backfill_source_url != NULL &&
	    cfg->backfill_source_url[0] != '\0')
		list = atc_config_list(cfg->backfill_source_url, &n);
	if (n == 0) {
		if (atc_xrpc_url_host(cfg->source_url, host,
		    sizeof(host)) == -1)
			return atc_seterr(err, errlen, "no BACKFILL_SOURCE_URL "
			    "and no host in SOURCE_URL");
		bf->hosts = atc_xcalloc(1, sizeof(*bf->hosts));
		bf->nhosts = 1;
		(void)snprintf(bf->hosts[0].base, sizeof(bf->hosts[0].base),
		    "%s://%s", strncmp(cfg->source_url, "wss://", 6) == 0 ?
		    "https" : "http", host);
	} else {
		bf->hosts = atc_xcalloc(n, sizeof(*bf->hosts));
		bf->nhosts = n;
		for (i = 0; i < n; i++) {
			if (atc_xrpc_url_host(list[i], host,
			    sizeof(host)) == -1) {
				atc_seterr(err, errlen, "bad BACKFILL_SOURCE_URL "
				    "entry");
				goto out;
			}
			(void)snprintf(bf->hosts[i].base,
			    sizeof(bf->hosts[i].base), "%.*s",
			    (int)(strstr(list[i], host) - list[i] +
			    strlen(host)), list[i]);
		}
	}
	for (i = 0; i < bf->nhosts; i++) {
		h = &bf->hosts[i];
		(void)atc_xrpc_url_host(h->base, h->host, sizeof(h->host));
		h->kind = strcmp(cfg->backfill_kind, "relay") == 0 ?
		    BACKFILL_RELAY : BACKFILL_PDS;
	}
	ret = 0;
out:
	atc_config_list_free(list);
	return ret;
}

/* One enumeration (scope) of host h, from its stored cursor to the end. */
static int
enumerate_scope(struct backfill *bf, struct atc_db *db, struct atc_xrpc *x,
    struct backfill_host *h, const char *nsid, const char *scope,
    struct atc_buf *body, char *err, size_t errlen)
{
	struct backfill_page	 page;
	struct atc_buf		 q;
	char			 cursor[1100];
	bool			 done;
	size_t			 pages = 0, repos = 0;
	int			 ret = -1;

	memset(&page, 0, sizeof(page));
	atc_buf_init(&q, 256);
	if (backfill_store_enum_get(db, h->host, scope, cursor,
	    sizeof(cursor), &done, err, errlen) == -1)
		goto out;
	while (!done && !backfill_stopping()) {
		atc_buf_reset(&q);
		if (scope[0] != '\0') {
			atc_buf_puts(&q, "collection=");
			atc_xrpc_escape(&q, scope);
			atc_buf_puts(&q, "&limit=2000");
		} else
			atc_buf_puts(&q, "limit=1000");
		if (cursor[0] != '\0') {
			atc_buf_puts(&q, "&cursor=");
			atc_xrpc_escape(&q, cursor);
		}
		if (atc_xrpc_get(x, h->base, nsid, atc_buf_cstr(&q), body,
		    NULL, err, errlen) != ATC_XRPC_OK)
			goto out;
		atc_metric_inc(bf->m.requests);
		if (backfill_parse_page(&page, (const char *)body->data,
		    body->len, err, errlen) == -1)
			goto out;
		/* The last page has no cursor, no repos or the same cursor. */
		if (page.cursor != NULL && (page.ndids + page.ninactive == 0 ||
		    strcmp(page.cursor, cursor) == 0)) {
			free(page.cursor);
			page.cursor = NULL;
		}
		if (backfill_store_enum_page(db, h->host, scope, page.dids,
		    page.ndids, page.cursor, err, errlen) == -1)
			goto out;
		pages++;
		repos += page.ndids;
		done = page.cursor == NULL;
		if (!done)
			(void)snprintf(cursor, sizeof(cursor), "%s",
			    page.cursor);
		backfill_page_free(&page);
	}
	atc_log_info("backfill_enumerated", "host=%s scope=%s pages=%zu "
	    "repos=%zu done=%s", h->host, scope[0] ? scope : "listRepos",
	    pages, repos, done ? "true" : "false");
	ret = done ? 0 : -1;
	if (!done)
		atc_seterr(err, errlen, "stopped");
out:
	backfill_page_free(&page);
	atc_buf_cleanup(&q);
	return ret;
}

/* auto: a relay answers listReposByCollection, a PDS refuses it. */
static void
detect_kind(struct backfill *bf, struct atc_xrpc *x, struct backfill_host *h,
    struct atc_buf *body)
{
	struct atc_buf	q;
	char		err[ATC_ERRLEN], qq[300];
	long		status = 0;

	if (strcmp(bf->cfg->backfill_kind, "auto") != 0)
		return;
	atc_buf_init(&q, 128);
	atc_buf_puts(&q, "limit=1&collection=");
	atc_xrpc_escape(&q, bf->collections[0]);
	h->kind = atc_xrpc_get(x, h->base,
	    "com.atproto.sync.listReposByCollection", atc_buf_cstr(&q), body,
	    &status, err, sizeof(err)) == ATC_XRPC_OK ? BACKFILL_RELAY :
	    BACKFILL_PDS;
	atc_log_info("backfill_source", "host=%s kind=%s probe=%s", h->host,
	    h->kind == BACKFILL_RELAY ? "relay" : "pds",
	    h->kind == BACKFILL_RELAY ? "ok" : atc_log_quote(qq, sizeof(qq),
	    err));
	atc_buf_cleanup(&q);
}

int
backfill_enumerate_host(struct backfill *bf, struct atc_db *db, struct atc_xrpc *x,
    struct backfill_host *h, char *err, size_t errlen)
{
	struct atc_buf	body;
	size_t		i;
	int		ret = 0;

	atc_buf_init(&body, 4096);
	detect_kind(bf, x, h, &body);
	if (h->kind == BACKFILL_PDS)
		ret = enumerate_scope(bf, db, x, h, "com.atproto.sync.listRepos",
		    "", &body, err, errlen);
	else
		for (i = 0; bf->collections[i] != NULL && ret == 0; i++)
			ret = enumerate_scope(bf, db, x, h,
			    "com.atproto.sync.listReposByCollection",
			    bf->collections[i], &body, err, errlen);
	atc_buf_cleanup(&body);
	return ret;
}

