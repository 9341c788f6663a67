/* SPDX-License-Identifier: ISC */
/*
 * Several sources in one process: each source gets a thread running its
 * own ingester (WebSocket, broker connections, database connections,
 * replica lock and cursor, all per host), so a slow or dead host never
 * stalls another. Duplicates between hosts carrying the same repos are
 * absorbed downstream (the API orders writes per record by rev).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "config.h"
#include "ingest.h"
#include "labels.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "ops_http.h"
#include "settings.h"
#include "telemetry.h"
#include "util.h"

#define SERIES_PER_HOST	256

struct source {
	char			 url[2048];
	char			 host[256];
	struct consumer_metrics	 m;
	const struct consumer_config *cfg;
	struct atc_metrics	*metrics;
	pthread_t		 thread;
	int			 started;
	int			 rc;
};

struct live {
	struct source	*src;
	size_t		 n;
};

/* A side task (labels, backfill) running beside the live sources. */
struct task {
	int			(*run)(const struct consumer_config *,
				    struct atc_metrics *);
	const struct consumer_config *cfg;
	struct atc_metrics	*metrics;
	pthread_t		 thread;
	int			 started;
	int			 rc;
};

static int
run_backfill(const struct consumer_config *cfg, struct atc_metrics *m)
{
	return backfill_run(cfg, m, 0);
}

static void *
task_main(void *arg)
{
	struct task	*t = arg;

	t->rc = t->run(t->cfg, t->metrics);
	return NULL;
}

static int
task_start(struct task *t, int (*run)(const struct consumer_config *,
    struct atc_metrics *), const struct consumer_config *cfg,
    struct atc_metrics *metrics)
{
	t->run = run;
	t->cfg = cfg;
	t->metrics = metrics;
	if (pthread_create(&t->thread, NULL, task_main, t) != 0)
		return -1;
	t->started = 1;
	return 0;
}

void
live_request_stop(void)
{
	ingest_request_stop();
	labels_request_stop();
	backfill_request_stop();
}

int
live_source_url(const char *entry, char *out, size_t outlen)
{
	int	n;

	if (strncmp(entry, "ws://", 5) == 0 || strncmp(entry, "wss://", 6) == 0)
		n = snprintf(out, outlen, "%s", entry);
	else if (strstr(entry, "://") != NULL || strchr(entry, '/') != NULL ||
	    *entry == '\0')
		return -1;
	else
		n = snprintf(out, outlen,
		    "wss://%s/xrpc/com.atproto.sync.subscribeRepos", entry);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* Ready when every source's replica can work: database and broker up. */
static bool
live_ready(void *arg, char *why, size_t whylen)
{
	struct live	*l = arg;
	size_t		 i;

	for (i = 0; i < l->n; i++) {
		if (atc_metric_value(l->src[i].m.database_up) < 1) {
			(void)snprintf(why, whylen, "%s: database unreachable",
			    l->src[i].host);
			return false;
		}
		if (atc_metric_value(l->src[i].m.queue_connected) < 1) {
			(void)snprintf(why, whylen, "%s: broker unreachable",
			    l->src[i].host);
			return false;
		}
	}
	return true;
}

static void *
source_main(void *arg)
{
	struct source	*s = arg;

	s->rc = ingest_run(s->cfg, s->url, s->metrics, &s->m);
	if (s->rc != 0)
		live_request_stop();
	return NULL;
}

int
live_run(const struct consumer_config *cfg)
{
	struct live		 l;
	struct task		 labels, backfill;
	struct atc_metrics	*metrics = NULL;
	struct atc_ops_http	*ops = NULL;
	char			**list = NULL, err[ATC_ERRLEN];
	size_t			 i, n = 0;
	int			 ret = -1, live, want_labels, want_backfill;

	memset(&l, 0, sizeof(l));
	memset(&labels, 0, sizeof(labels));
	memset(&backfill, 0, sizeof(backfill));
	live = strcmp(cfg->mode, "backfill") != 0 &&
	    strcmp(cfg->mode, "labeler") != 0;
	want_labels = (strcmp(cfg->mode, "labeler") == 0 ||
	    strcmp(cfg->mode, "all") == 0) && cfg->labeler_hosts != NULL &&
	    *cfg->labeler_hosts != '\0';
	want_backfill = strcmp(cfg->mode, "backfill") == 0 ||
	    strcmp(cfg->mode, "all") == 0;
	if (cfg->relay_hosts != NULL && *cfg->relay_hosts != '\0')
		list = atc_config_list(cfg->relay_hosts, &n);
	else {
		list = atc_config_list(cfg->source_url, &n);
		n = 1;
	}
	l.src = atc_xcalloc(n, sizeof(*l.src));
	l.n = n;
	if ((metrics = atc_metrics_new(SERIES_PER_HOST * n + 128,
	    false)) == NULL) {
		atc_log_err("startup_failed", "cause=\"metrics registry\"");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct source *s = &l.src[i];

		if (live_source_url(list[i], s->url, sizeof(s->url)) == -1 ||
		    ingest_source_host(s->url, s->host, sizeof(s->host)) == -1) {
			atc_log_err("startup_failed", "cause=\"bad source %s\"",
			    list[i]);
			goto out;
		}
		s->cfg = cfg;
		s->metrics = metrics;
		telemetry_init(&s->m, metrics, s->host);
	}
	/* Ingestion matters more than its dashboard: a busy port is loud
	 * but not fatal. */
	if (cfg->metrics_listen != NULL &&
	    strcmp(cfg->metrics_listen, "off") != 0 &&
	    (ops = atc_ops_http_start(cfg->metrics_listen, metrics,
	    cfg->metrics_token, live_ready, &l, err, sizeof(err))) == NULL)
		atc_log_err("metrics_unavailable", "cause=\"%s\"", err);
	ret = 0;
	if (want_labels && task_start(&labels, labels_run, cfg, metrics) == -1)
		ret = -1;
	if (want_backfill &&
	    task_start(&backfill, run_backfill, cfg, metrics) == -1)
		ret = -1;
	for (i = 0; live && ret == 0 && i < n; i++) {
		if (pthread_create(&l.src[i].thread, NULL, source_main,
		    &l.src[i]) != 0) {
			atc_log_err("startup_failed", "cause=\"thread\"");
			live_request_stop();
			ret = -1;
			break;
		}
		l.src[i].started = 1;
	}
	for (i = 0; i < n; i++) {
		if (!l.src[i].started)
			continue;
		pthread_join(l.src[i].thread, NULL);
		if (l.src[i].rc != 0)
			ret = -1;
	}
	if (backfill.started) {
		/* INGESTER_MODE=backfill ends when the history is in. */
		pthread_join(backfill.thread, NULL);
		if (backfill.rc != 0)
			ret = -1;
		if (!live)
			labels_request_stop();
	}
	if (labels.started) {
		pthread_join(labels.thread, NULL);
		if (labels.rc != 0)
			ret = -1;
	}
out:
	atc_ops_http_free(ops);
	atc_metrics_free(metrics);
	atc_config_list_free(list);
	free(l.src);
	return ret;
}
