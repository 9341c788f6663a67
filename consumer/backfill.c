/* SPDX-License-Identifier: ISC */
/*
 * The backfill run: enumerate the repositories of every source host into
 * the progress tables (page by page, resumable), then let a pool of
 * BACKFILL_CONCURRENCY worker threads take pending repositories from one
 * list that interleaves the hosts, so several hosts progress at once. Each
 * worker owns its XRPC client, broker connection and database handle; the
 * per-host request budget (BACKFILL_RATE) is one limiter shared by all.
 * The main thread only reports progress: a rewritten line on a terminal,
 * a log line every 10 s otherwise.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"
#include "backfill_priv.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "didres.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "ops_http.h"
#include "settings.h"
#include "util.h"
#include "xrpc.h"

#define REPO_ATTEMPTS	3
#define LOG_EVERY_MS	10000
#define TICK_MS		250

static volatile sig_atomic_t	backfill_stop;

void
backfill_request_stop(void)
{
	backfill_stop = 1;
}

bool
backfill_stopping(void)
{
	return backfill_stop != 0;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	(void)nanosleep(&ts, NULL);
}

static void
worker_job(struct backfill_worker *w, struct backfill_job *job)
{
	enum backfill_outcome	r = BACKFILL_RETRY;
	char			rev[32], err[ATC_ERRLEN], q[300], e2[ATC_ERRLEN];
	long long		nrec = 0;
	int			i;

	for (i = 0; i < REPO_ATTEMPTS && !backfill_stop; i++) {
		if (i > 0)
			sleep_ms(1000ULL << i);
		if ((r = backfill_repo_run(w, job, rev, sizeof(rev), &nrec, err,
		    sizeof(err))) != BACKFILL_RETRY)
			break;
		atc_log_warn("backfill_repo_retry", "did=%s host=%s attempt=%d "
		    "cause=%s", job->did, job->host->host, i + 1,
		    atc_log_quote(q, sizeof(q), err));
	}
	if (r == BACKFILL_RETRY) {
		if (backfill_stop)
			return;
		atomic_store(&w->bf->failed, 1);
		atc_metric_inc(w->bf->m.repos_failed);
		atc_log_warn("backfill_repo_failed", "did=%s host=%s cause=%s",
		    job->did, job->host->host, atc_log_quote(q, sizeof(q), err));
		(void)backfill_store_failed(w->db, job->host->host, job->did,
		    err, e2, sizeof(e2));
	} else if (backfill_store_done(w->db, job->host->host, job->did,
	    r == BACKFILL_DONE ? rev : NULL, nrec, r == BACKFILL_DONE ? NULL :
	    err, e2, sizeof(e2)) == -1) {
		/* Republished by the next run: harmless, ordered by rev. */
		atomic_store(&w->bf->failed, 1);
		atc_log_warn("backfill_progress_failed", "did=%s cause=%s",
		    job->did, atc_log_quote(q, sizeof(q), e2));
	} else if (r == BACKFILL_GONE) {
		atc_metric_inc(w->bf->m.repos_gone);
		atc_log_warn("backfill_repo_skipped", "did=%s host=%s cause=%s",
		    job->did, job->host->host, atc_log_quote(q, sizeof(q), err));
	} else {
		atc_metric_inc(w->bf->m.repos_done);
		atc_metric_add(w->bf->m.records, (double)nrec);
		atomic_fetch_add(&w->bf->records, (unsigned long long)nrec);
		atc_log_info("backfill_repo_done", "did=%s host=%s rev=%s "
		    "records=%lld", job->did, job->host->host, rev, nrec);
	}
	atomic_fetch_add(&w->bf->repos_done, 1);
	atc_metric_add(w->bf->m.pending, -1);
}

static void *
worker_main(void *arg)
{
	struct backfill_worker	*w = arg;
	size_t			 i;

	while (!backfill_stop) {
		i = atomic_fetch_add(&w->bf->next_job, 1);
		if (i >= w->bf->njobs)
			break;
		worker_job(w, &w->bf->jobs[i]);
	}
	return NULL;
}

/* Orders jobs round-robin across hosts (they come grouped by host). */
static void
interleave(struct backfill *bf)
{
	struct backfill_job	*out;
	size_t			*pos, *end, h, k = 0, i;

	if (bf->nhosts < 2 || bf->njobs == 0)
		return;
	out = atc_xcalloc(bf->njobs, sizeof(*out));
	pos = atc_xcalloc(bf->nhosts, sizeof(*pos));
	end = atc_xcalloc(bf->nhosts, sizeof(*end));
	for (h = 0, i = 0; h < bf->nhosts; h++) {
		pos[h] = i;
		while (i < bf->njobs && bf->jobs[i].host == &bf->hosts[h])
			i++;
		end[h] = i;
	}
	while (k < bf->njobs)
		for (h = 0; h < bf->nhosts; h++)
			if (pos[h] < end[h])
				out[k++] = bf->jobs[pos[h]++];
	free(bf->jobs);
	bf->jobs = out;
	free(pos);
	free(end);
}

static void
progress(struct backfill *bf, uint64_t start_ms, bool tty, bool final)
{
	unsigned long long	done = atomic_load(&bf->repos_done);
	unsigned long long	recs = atomic_load(&bf->records);
	double			secs, rate, eta;

	secs = (double)(atc_mono_ms() - start_ms) / 1000.0;
	rate = secs > 0 ? (double)recs / secs : 0;
	eta = done > 0 ? secs * (double)(bf->njobs - done) / (double)done : 0;
	if (tty) {
		fprintf(stderr, "\rbackfill: repos %llu/%zu  records %llu  "
		    "%.0f rec/s  ETA %02d:%02d%s", done, bf->njobs, recs, rate,
		    (int)(eta / 60), (int)eta % 60, final ? "\n" : "   ");
		fflush(stderr);
	} else
		atc_log_info("backfill_progress", "repos_done=%llu repos_total="
		    "%zu records=%llu rate=%.1f eta_s=%.0f", done, bf->njobs,
		    recs, rate, eta);
}

static void
metrics_init(struct backfill *bf, struct atc_metrics *r)
{
	struct backfill_metrics	*m = &bf->m;

	m->repos_done = atc_metrics_counter(r, "atcal_backfill_repos_total",
	    "repositories handled by the backfill", "result=\"done\"");
	m->repos_gone = atc_metrics_counter(r, "atcal_backfill_repos_total",
	    "repositories handled by the backfill", "result=\"gone\"");
	m->repos_failed = atc_metrics_counter(r, "atcal_backfill_repos_total",
	    "repositories handled by the backfill", "result=\"failed\"");
	m->records = atc_metrics_counter(r, "atcal_backfill_records_total",
	    "calendar records published by the backfill", NULL);
	m->records_dropped = atc_metrics_counter(r,
	    "atcal_backfill_records_dropped_total",
	    "calendar records of a snapshot that did not verify", NULL);
	m->requests = atc_metrics_counter(r, "atcal_backfill_requests_total",
	    "enumeration requests made by the backfill", NULL);
	m->bytes = atc_metrics_counter(r, "atcal_backfill_car_bytes_total",
	    "repository CAR bytes fetched", NULL);
	m->pending = atc_metrics_gauge(r, "atcal_backfill_repos_pending",
	    "repositories left in this run", NULL);
	m->batches = atc_metrics_counter(r,
	    "atcal_backfill_publish_batches_total",
	    "publish batches whose confirms the backfill collected", NULL);
}

static int
workers_run(struct backfill *bf, char *err, size_t errlen)
{
	const struct consumer_config	*cfg = bf->cfg;
	struct backfill_worker		*ws;
	struct atc_xrpc_opts		 xo;
	struct atc_didres_opts		 dopts;
	size_t				 n, i, started = 0;
	uint64_t			 start = atc_mono_ms(), last_log;
	bool				 tty = isatty(STDERR_FILENO);
	int				 ret = -1;

	n = (size_t)cfg->backfill_concurrency;
	if (n > bf->njobs)
		n = bf->njobs > 0 ? bf->njobs : 1;
	ws = atc_xcalloc(n, sizeof(*ws));
	memset(&xo, 0, sizeof(xo));
	xo.max_body = (size_t)cfg->backfill_max_repo_len;
	xo.timeout_ms = 300000;
	xo.user_agent = "atcal-backfill";
	memset(&dopts, 0, sizeof(dopts));
	dopts.plc_url = cfg->plc_url;
	for (i = 0; i < n; i++) {
		ws[i].bf = bf;
		ws[i].id = (int)i;
		pubbatch_init(&ws[i].batch, (uint32_t)cfg->batch_size,
		    (uint32_t)cfg->batch_timeout_ms, atc_mono_ms());
		atc_buf_init(&ws[i].body, 4096);
		atc_buf_init(&ws[i].car, 0);
		ws[i].db = atc_db_new(cfg->database_url);
		if ((ws[i].xrpc = atc_xrpc_new(&xo, bf->limiter, err,
		    errlen)) == NULL ||
		    (ws[i].didres = atc_didres_new(&dopts, NULL, err,
		    errlen)) == NULL)
			goto out;
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&ws[i].thread_id, NULL, worker_main,
		    &ws[i]) != 0) {
			atc_seterr(err, errlen, "pthread_create failed");
			backfill_request_stop();
			break;
		}
		started++;
	}
	last_log = atc_mono_ms();
	while (atomic_load(&bf->repos_done) < bf->njobs && !backfill_stop &&
	    started == n) {
		sleep_ms(TICK_MS);
		if (tty || atc_mono_ms() - last_log >= LOG_EVERY_MS) {
			progress(bf, start, tty, false);
			last_log = atc_mono_ms();
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(ws[i].thread_id, NULL);
	progress(bf, start, tty, true);
	ret = started == n ? 0 : -1;
out:
	for (i = 0; i < n; i++) {
		atc_xrpc_free(ws[i].xrpc);
		atc_didres_free(ws[i].didres);
		atc_mq_free(ws[i].mq);
		atc_db_free(ws[i].db);
		atc_buf_cleanup(&ws[i].body);
		atc_buf_cleanup(&ws[i].car);
	}
	free(ws);
	return ret;
}

int
backfill_run(const struct consumer_config *cfg, struct atc_metrics *metrics,
    int reset)
{
	struct backfill		 bf;
	struct atc_metrics	*own = NULL;
	struct atc_ops_http	*ops = NULL;
	struct atc_db		*db = NULL;
	struct atc_xrpc		*x = NULL;
	struct atc_xrpc_opts	 xo;
	char			 err[ATC_ERRLEN], q[300];
	size_t			 i;
	int			 ret = -1, enum_failed = 0;

	memset(&bf, 0, sizeof(bf));
	bf.cfg = cfg;
	bf.collections = atc_config_list(cfg->collections, NULL);
	if (bf.collections == NULL || bf.collections[0] == NULL) {
		atc_log_err("startup_failed", "cause=\"no SOURCE_COLLECTIONS\"");
		goto out;
	}
	if (backfill_hosts_setup(&bf, err, sizeof(err)) == -1) {
		atc_log_err("startup_failed", "cause=%s",
		    atc_log_quote(q, sizeof(q), err));
		goto out;
	}
	if (metrics == NULL) {
		metrics = own = atc_metrics_new(128, false);
		if (cfg->metrics_listen != NULL &&
		    strcmp(cfg->metrics_listen, "off") != 0 &&
		    (ops = atc_ops_http_start(cfg->metrics_listen, own,
		    cfg->metrics_token, NULL, NULL, err, sizeof(err))) == NULL)
			atc_log_err("metrics_unavailable", "cause=\"%s\"", err);
	}
	metrics_init(&bf, metrics);
	bf.limiter = atc_xrpc_limiter_new((double)cfg->backfill_rate,
	    cfg->backfill_rate > 0 ? (double)cfg->backfill_rate : 1.0);
	memset(&xo, 0, sizeof(xo));
	xo.user_agent = "atcal-backfill";
	if ((x = atc_xrpc_new(&xo, bf.limiter, err, sizeof(err))) == NULL) {
		atc_log_err("startup_failed", "cause=\"%s\"", err);
		goto out;
	}
	db = atc_db_new(cfg->database_url);
	for (i = 0; i < bf.nhosts && !backfill_stop; i++) {
		struct backfill_host *h = &bf.hosts[i];

		if (reset && backfill_store_reset(db, h->host, err,
		    sizeof(err)) == -1) {
			atc_log_err("backfill_reset_failed", "host=%s cause=%s",
			    h->host, atc_log_quote(q, sizeof(q), err));
			goto out;
		}
		if (backfill_enumerate_host(&bf, db, x, h, err, sizeof(err)) == -1) {
			/* Repos found so far are still fetched. */
			enum_failed = 1;
			atc_log_err("backfill_enumeration_failed", "host=%s "
			    "cause=%s", h->host, atc_log_quote(q, sizeof(q),
			    err));
		}
		if (backfill_store_pending(db, h, &bf.jobs, &bf.njobs, err,
		    sizeof(err)) == -1) {
			atc_log_err("backfill_progress_failed", "host=%s "
			    "cause=%s", h->host, atc_log_quote(q, sizeof(q),
			    err));
			goto out;
		}
	}
	interleave(&bf);
	atc_metric_set(bf.m.pending, (double)bf.njobs);
	atc_log_info("backfill_started", "hosts=%zu repos_pending=%zu "
	    "concurrency=%lld rate=%lld", bf.nhosts, bf.njobs,
	    cfg->backfill_concurrency, cfg->backfill_rate);
	if (bf.njobs > 0 && workers_run(&bf, err, sizeof(err)) == -1) {
		atc_log_err("backfill_failed", "cause=%s",
		    atc_log_quote(q, sizeof(q), err));
		goto out;
	}
	atc_log_info("backfill_finished", "repos=%llu records=%llu "
	    "complete=%s", (unsigned long long)atomic_load(&bf.repos_done),
	    (unsigned long long)atomic_load(&bf.records),
	    backfill_stop || enum_failed || atomic_load(&bf.failed) ?
	    "false" : "true");
	if (!backfill_stop && !enum_failed && !atomic_load(&bf.failed))
		ret = 0;
out:
	for (i = 0; i < bf.njobs; i++) {
		free(bf.jobs[i].did);
		free(bf.jobs[i].pds);
	}
	free(bf.jobs);
	free(bf.hosts);
	atc_config_list_free(bf.collections);
	atc_xrpc_free(x);
	atc_xrpc_limiter_free(bf.limiter);
	atc_db_free(db);
	atc_ops_http_free(ops);
	atc_metrics_free(own);
	return ret;
}

static void
on_signal(int sig)
{
	(void)sig;
	backfill_request_stop();
}

int
backfill_main(int argc, char **argv)
{
	struct consumer_config	cfg;
	struct sigaction	sa;
	enum atc_log_level	level = ATC_LOG_INFO;
	int			reset = 0, rc;

	if (argc == 2 && strcmp(argv[1], "--reset") == 0)
		reset = 1;
	else if (argc > 1) {
		fprintf(stderr, "usage: consumer backfill [--reset]   "
		    "(settings from the environment: BACKFILL_*)\n");
		return 2;
	}
	if (settings_load(&cfg) == -1)
		return 1;
	(void)atc_log_level_parse(cfg.log_level, &level);
	atc_log_init("consumer", level);
	settings_log(&cfg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	rc = backfill_run(&cfg, NULL, reset) == 0 ? 0 : 1;
	settings_free(&cfg);
	return rc;
}
