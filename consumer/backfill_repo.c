/* SPDX-License-Identifier: ISC */
/*
 * One repository of the backfill: find its PDS, read its head rev
 * (getLatestCommit), fetch the atomic snapshot (getRepo CAR), check the
 * commit names the repository, walk the MST (every node hash-checked) and
 * publish each calendar record, its block hash-checked too, as a
 * `<kind>.backfill` message carrying the snapshot's rev. The repository
 * only counts as done when the broker confirmed all of them. Publishing
 * goes on while confirms arrive: they are collected per publish batch
 * (INGESTER_BATCH_SIZE messages, or INGESTER_BATCH_TIMEOUT_MS), and the
 * walk waits only while more than INGESTER_MAX_UNCONFIRMED are owed, so a
 * huge repository never outgrows the broker's confirm window.
 *
 * Cut-over with the live stream: this runs in its own process, so live
 * events are not buffered here. The API gives the same guarantee: it
 * keeps per record the rev of the last applied write and a tombstone per
 * delete, and ignores any write whose rev is not newer. A live write made
 * after the snapshot has a rev greater than the snapshot's (revs of one
 * repository only grow), so it wins whichever arrives first; a live write
 * older than the snapshot is already contained in it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill_priv.h"
#include "buf.h"
#include "car.h"
#include "didres.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "mst.h"
#include "pubbatch.h"
#include "route.h"
#include "settings.h"
#include "util.h"
#include "xrpc.h"

#define CONFIRM_TIMEOUT_MS	60000

/* State of one walk. */
struct walk {
	struct backfill_worker		*w;
	const struct atc_car_index	*idx;
	const char			*did;
	const char			*rev;
	const char			*source;
	long long			 published;
	int				 mq_failed;
	char				 mq_err[ATC_ERRLEN];
};

static int	batch_close(struct backfill_worker *, char *, size_t);

static bool
wanted(char *const *collections, const char *collection)
{
	size_t	i;

	for (i = 0; collections[i] != NULL; i++)
		if (strcmp(collections[i], collection) == 0)
			return true;
	return false;
}

static int
visit(void *arg, const char *path, size_t path_len, const uint8_t *cid,
    size_t cid_len)
{
	struct walk			*wk = arg;
	struct backfill_worker		*w = wk->w;
	const struct atc_car_block	*b;
	const char			*slash;
	char				 coll[512], err[ATC_ERRLEN], q[300];
	char				 rk[64], mid[1536];
	uint64_t			 tag;

	/* A batch times out while the walk passes other collections too. */
	if (pubbatch_due(&w->batch, atc_mono_ms(), false) != PUBBATCH_KEEP &&
	    batch_close(w, wk->mq_err, sizeof(wk->mq_err)) == -1) {
		wk->mq_failed = 1;
		return 1;
	}
	if ((slash = memchr(path, '/', path_len)) == NULL ||
	    (size_t)(slash - path) >= sizeof(coll))
		return 0;
	memcpy(coll, path, (size_t)(slash - path));
	coll[slash - path] = '\0';
	if (!wanted(w->bf->collections, coll))
		return 0;
	b = atc_car_index_get(wk->idx, cid, cid_len);
	if (b == NULL)
		(void)atc_seterr(err, sizeof(err), "record block missing "
		    "from the CAR");
	atc_buf_reset(&w->body);
	if (b == NULL || atc_car_block_verify(b, err, sizeof(err)) == -1 ||
	    backfill_msg_build(&w->body, wk->did, wk->rev, coll, slash + 1,
	    cid, cid_len, b->data, b->len, atc_wall_us(), wk->source, err,
	    sizeof(err)) == -1) {
		atc_metric_inc(w->bf->m.records_dropped);
		atc_log_warn("record_dropped", "uri=at://%s/%s rev=%s cause=%s",
		    wk->did, path, wk->rev, atc_log_quote(q, sizeof(q), err));
		return 0;
	}
	(void)snprintf(rk, sizeof(rk), "%s.backfill", route_kind(coll));
	(void)snprintf(mid, sizeof(mid), "at://%s/%s#%s", wk->did, path,
	    wk->rev);
	if (atc_mq_publish(w->mq, ATC_MQ_EXCHANGE, rk, w->body.data,
	    w->body.len, mid, NULL, 0, &tag, wk->mq_err,
	    sizeof(wk->mq_err)) == -1) {
		wk->mq_failed = 1;
		return 1;
	}
	w->last_tag = tag;
	wk->published++;
	atc_log_debug("record_published", "uri=at://%s/%s rev=%s rk=%s",
	    wk->did, path, wk->rev, rk);
	pubbatch_published(&w->batch, tag, atc_mono_ms());
	if (pubbatch_due(&w->batch, atc_mono_ms(), false) != PUBBATCH_KEEP &&
	    batch_close(w, wk->mq_err, sizeof(wk->mq_err)) == -1) {
		wk->mq_failed = 1;
		return 1;
	}
	return 0;
}

static int
mq_ensure(struct backfill_worker *w, char *err, size_t errlen)
{
	if (w->mq != NULL)
		return 0;
	w->mq = atc_mq_connect(w->bf->cfg->rabbitmq_url, "atcal-backfill",
	    err, errlen);
	if (w->mq == NULL || atc_mq_declare_topology(w->mq, err,
	    errlen) == -1 || atc_mq_confirm_select(w->mq, err, errlen) == -1) {
		atc_mq_free(w->mq);
		w->mq = NULL;
		return -1;
	}
	w->last_tag = w->acked = 0;
	pubbatch_reset(&w->batch, atc_mono_ms());
	return 0;
}

static void
mq_drop(struct backfill_worker *w)
{
	atc_mq_free(w->mq);
	w->mq = NULL;
	w->last_tag = w->acked = 0;
	pubbatch_reset(&w->batch, atc_mono_ms());
}

/* Waits until at most `owed` messages published so far are unconfirmed. */
static int
wait_confirms(struct backfill_worker *w, uint64_t owed, char *err,
    size_t errlen)
{
	uint64_t	deadline = atc_mono_ms() + CONFIRM_TIMEOUT_MS;
	bool		nacked = false;

	while (w->last_tag - w->acked > owed) {
		if (atc_mono_ms() > deadline)
			return atc_seterr(err, errlen, "broker confirms timed "
			    "out");
		if (atc_mq_confirm_poll(w->mq, 200, &w->acked, &nacked, err,
		    errlen) == -1)
			return -1;
		if (nacked)
			return atc_seterr(err, errlen, "broker nacked a "
			    "message");
	}
	return 0;
}

/* Closes the open publish batch: collects the confirms already in, and
 * waits while more than INGESTER_MAX_UNCONFIRMED are owed. */
static int
batch_close(struct backfill_worker *w, char *err, size_t errlen)
{
	int64_t		seq;
	uint64_t	tag;
	bool		nacked = false;

	if (pubbatch_close(&w->batch, &seq, &tag) == 0)
		return 0;
	atc_metric_inc(w->bf->m.batches);
	if (atc_mq_confirm_poll(w->mq, 0, &w->acked, &nacked, err,
	    errlen) == -1)
		return -1;
	if (nacked)
		return atc_seterr(err, errlen, "broker nacked a message");
	return wait_confirms(w, (uint64_t)w->bf->cfg->high_water, err,
	    errlen);
}

/* The PDS of job: the source itself for a PDS host, else from the DID
 * document. */
static enum backfill_outcome
find_pds(struct backfill_worker *w, struct backfill_job *job, char *err,
    size_t errlen)
{
	struct atc_did_doc	doc;
	enum atc_didres_result	r;

	if (job->pds != NULL)
		return BACKFILL_DONE;
	if (job->host->kind == BACKFILL_PDS) {
		job->pds = atc_xstrdup(job->host->base);
		return BACKFILL_DONE;
	}
	r = atc_didres_resolve(w->didres, job->did, false, &doc, NULL, err,
	    errlen);
	if (r == ATC_DIDRES_FAIL)
		return BACKFILL_RETRY;
	if (r == ATC_DIDRES_GONE)
		return BACKFILL_GONE;
	if (doc.pds[0] == '\0') {
		atc_seterr(err, errlen, "DID document names no PDS");
		return BACKFILL_GONE;
	}
	job->pds = atc_xstrdup(doc.pds);
	return BACKFILL_DONE;
}

/* Maps an XRPC failure: refused (4xx: RepoNotFound, RepoTakendown,
 * RepoDeactivated...) means the repository is gone. */
static enum backfill_outcome
xrpc_outcome(enum atc_xrpc_result r)
{
	return r == ATC_XRPC_REFUSED ? BACKFILL_GONE : BACKFILL_RETRY;
}

enum backfill_outcome
backfill_repo_run(struct backfill_worker *w, struct backfill_job *job,
    char *rev, size_t revlen, long long *nrecords, char *err, size_t errlen)
{
	struct atc_car		 car;
	struct atc_car_index	*idx = NULL;
	struct atc_repo_commit	 commit;
	struct walk		 wk;
	struct atc_buf		 q;
	enum atc_xrpc_result	 xr;
	enum backfill_outcome	 ret;
	char			 head[32], why[ATC_ERRLEN];
	int			 rc;

	*nrecords = 0;
	atc_buf_init(&q, 128);
	if ((ret = find_pds(w, job, err, errlen)) != BACKFILL_DONE)
		goto out;
	atc_buf_puts(&q, "did=");
	atc_xrpc_escape(&q, job->did);
	ret = BACKFILL_RETRY;
	xr = atc_xrpc_get(w->xrpc, job->pds, "com.atproto.sync.getLatestCommit",
	    atc_buf_cstr(&q), &w->car, NULL, err, errlen);
	if (xr != ATC_XRPC_OK) {
		ret = xrpc_outcome(xr);
		goto out;
	}
	if (backfill_parse_latest((const char *)w->car.data, w->car.len, head,
	    sizeof(head), err, errlen) == -1) {
		ret = BACKFILL_GONE;
		goto out;
	}
	xr = atc_xrpc_get(w->xrpc, job->pds, "com.atproto.sync.getRepo",
	    atc_buf_cstr(&q), &w->car, NULL, err, errlen);
	atc_metric_add(w->bf->m.bytes, (double)w->car.len);
	if (xr != ATC_XRPC_OK) {
		ret = xrpc_outcome(xr);
		goto out;
	}
	/* A snapshot that does not parse or verify is not retried blindly:
	 * it is recorded and the next run tries again. */
	ret = BACKFILL_GONE;
	if (atc_car_open(&car, w->car.data, w->car.len, 0, err, errlen) == -1)
		goto out;
	if (car.root == NULL) {
		atc_seterr(err, errlen, "CAR without a root");
		goto out;
	}
	if ((idx = atc_car_index_new(&car, err, errlen)) == NULL)
		goto out;
	if (atc_repo_commit_read(&commit, idx, car.root, car.root_len, err,
	    errlen) == -1)
		goto out;
	if (commit.did_len != strlen(job->did) ||
	    memcmp(commit.did, job->did, commit.did_len) != 0) {
		atc_seterr(err, errlen, "commit names another repository");
		goto out;
	}
	if (commit.rev_len >= revlen) {
		atc_seterr(err, errlen, "commit rev too long");
		goto out;
	}
	memcpy(rev, commit.rev, commit.rev_len);
	rev[commit.rev_len] = '\0';
	if (strcmp(rev, head) < 0)
		atc_log_warn("backfill_snapshot_older", "did=%s head=%s "
		    "snapshot=%s", job->did, head, rev);
	ret = BACKFILL_RETRY;
	if (mq_ensure(w, err, errlen) == -1)
		goto out;
	memset(&wk, 0, sizeof(wk));
	wk.w = w;
	wk.idx = idx;
	wk.did = job->did;
	wk.rev = rev;
	wk.source = job->host->host;
	rc = atc_mst_walk(idx, commit.data, commit.data_len, visit, &wk, why,
	    sizeof(why));
	if (wk.mq_failed) {
		atc_seterr(err, errlen, "%s", wk.mq_err);
		mq_drop(w);
		goto out;
	}
	if (rc == -1) {
		/* Messages already sent are harmless: the API orders by rev. */
		atc_seterr(err, errlen, "%s", why);
		ret = BACKFILL_GONE;
		goto out;
	}
	if (batch_close(w, err, errlen) == -1 ||
	    wait_confirms(w, 0, err, errlen) == -1) {
		mq_drop(w);
		goto out;
	}
	*nrecords = wk.published;
	ret = BACKFILL_DONE;
out:
	atc_car_index_free(idx);
	atc_buf_cleanup(&q);
	/* Keep the capacity of small repositories, not of a huge one. */
	if (w->car.cap > 16u * 1024 * 1024)
		atc_buf_cleanup(&w->car);
	return ret;
}
