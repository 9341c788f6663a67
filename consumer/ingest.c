/* SPDX-License-Identifier: ISC */
/*
 * Live ingestion. Everything runs on the WebSocket service thread: frames
 * arrive in ingest_message(), periodic work (broker confirms, backpressure,
 * cursor saving, reconnects, shutdown) in ingest_tick(). The invariant: the
 * stored cursor never passes a frame whose messages the broker has not
 * confirmed. Messages go out at once and are grouped in publish batches
 * (pubbatch.c): each closed batch is one checkpoint for the tracker, and
 * the cursor is stored per INGESTER_BATCH_SIZE confirmed messages or every
 * INGESTER_BATCH_TIMEOUT_MS. When the broker connection is lost or nacks,
 * the source connection is closed too and reopened from the last safe
 * position, so nothing in doubt is ever skipped.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "cursor.h"
#include "db.h"
#include "didres.h"
#include "frame.h"
#include "ingest.h"
#include "ingest_priv.h"
#include "jetstream.h"
#include "jsout.h"
#include "leader.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "pubbatch.h"
#include "settings.h"
#include "tracker.h"
#include "util.h"
#include "verify.h"
#include "ws.h"
#include "zst.h"

#define TICK_IDLE_MS	50
#define TICK_BUSY_MS	2
#define STATS_MS	60000
#define PAUSE_WARN_MS	30000
#define LEADER_CHECK_MS	1000
#define DEPTH_CHECK_MS	1000

static volatile sig_atomic_t	stop_requested;

void
ingest_request_stop(void)
{
	stop_requested = 1;
}

uint64_t
ingest_backoff_ms(uint32_t attempts, long long max_ms)
{
	uint64_t	base = 500, d;

	d = attempts >= 20 ? (uint64_t)max_ms : base << attempts;
	if (d > (uint64_t)max_ms)
		d = (uint64_t)max_ms;
	/* Full jitter on the upper half keeps replicas from stampeding. */
	return d / 2 + (uint64_t)random() % (d / 2 + 1);
}

int
ingest_source_host(const char *url, char *out, size_t outlen)
{
	const char	*p, *end;

	if ((p = strstr(url, "://")) == NULL)
		return -1;
	p += 3;
	end = p + strcspn(p, "/?#");
	if (end == p || (size_t)(end - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

void
ingest_mq_lost(struct ingest *in, const char *cause)
{
	char	q[300];

	atc_log_warn("broker_lost", "cause=%s unconfirmed=%" PRIu64
	    " safe_seq=%" PRId64, atc_log_quote(q, sizeof(q), cause),
	    in->last_tag - in->acked, in->tracker.safe_seq);
	atc_mq_free(in->mq);
	in->mq = NULL;
	in->last_tag = in->acked = 0;
	tracker_reset(&in->tracker);
	pubbatch_reset(&in->batch, atc_mono_ms());
	in->next_mq_ms = atc_mono_ms() +
	    ingest_backoff_ms(in->mq_attempts++, in->cfg->reconnect_max_ms);
	/* Whatever was read but not confirmed is replayed from the source. */
	ws_close(in->ws);
}

static int
mq_open(struct ingest *in)
{
	char	err[ATC_ERRLEN], q[300];

	in->mq = atc_mq_connect(in->cfg->rabbitmq_url, "atcal-consumer", err,
	    sizeof(err));
	if (in->mq == NULL ||
	    atc_mq_declare_topology(in->mq, err, sizeof(err)) == -1 ||
	    atc_mq_confirm_select(in->mq, err, sizeof(err)) == -1) {
		atc_log_warn("broker_connect_failed", "attempt=%u cause=%s",
		    in->mq_attempts + 1, atc_log_quote(q, sizeof(q), err));
		atc_mq_free(in->mq);
		in->mq = NULL;
		in->next_mq_ms = atc_mono_ms() +
		    ingest_backoff_ms(in->mq_attempts++, in->cfg->reconnect_max_ms);
		return -1;
	}
	in->mq_attempts = 0;
	in->last_tag = in->acked = 0;
	pubbatch_reset(&in->batch, atc_mono_ms());
	atc_log_info("broker_connected", NULL);
	return 0;
}

static void
save_cursor(struct ingest *in)
{
	char	err[ATC_ERRLEN], q[300];

	pubbatch_stored(&in->batch, in->acked, atc_mono_ms());
	if (!in->leading || in->tracker.safe_seq < 0 ||
	    in->tracker.safe_seq == in->saved_seq)
		return;
	atc_metric_inc(in->m->cursor_saves);
	if (cursor_save(in->db, in->host, in->tracker.safe_seq, err,
	    sizeof(err)) == -1) {
		/* The cursor only lags: a later save or a replay covers it. */
		atc_log_warn("cursor_save_failed", "host=%s seq=%" PRId64
		    " cause=%s", in->host, in->tracker.safe_seq,
		    atc_log_quote(q, sizeof(q), err));
		return;
	}
	in->saved_seq = in->tracker.safe_seq;
	atc_log_debug("cursor_saved", "host=%s seq=%" PRId64, in->host,
	    in->saved_seq);
}

/*
 * Reading pauses while either the broker owes too many confirms or the
 * queue downstream is too deep, and resumes when both are back under their
 * low-water marks (hysteresis, so it does not flap).
 */
void
ingest_update_pause(struct ingest *in)
{
	uint64_t	unconfirmed = in->last_tag - in->acked;
	uint64_t	now = atc_mono_ms();
	int		paused;

	if (in->draining)
		return;
	if (unconfirmed > (uint64_t)in->cfg->high_water)
		in->paused_unconfirmed = 1;
	else if (unconfirmed < (uint64_t)in->cfg->low_water)
		in->paused_unconfirmed = 0;
	if (in->queue_depth > in->cfg->depth_high)
		in->paused_depth = 1;
	else if (in->queue_depth < in->cfg->depth_low)
		in->paused_depth = 0;
	paused = in->paused_unconfirmed || in->paused_depth;
	if (in->paused == paused)
		return;
	in->paused = paused;
	ws_pause(in->ws, paused);
	atc_metric_set(in->m->paused, paused);
	if (paused) {
		atc_metric_inc(in->m->pauses);
		in->paused_since_ms = now;
		in->pause_warned = 0;
		atc_log_info("backpressure_pause", "unconfirmed=%" PRIu64
		    " queue_depth=%lld", unconfirmed, in->queue_depth);
	} else {
		atc_metric_inc(in->m->resumes);
		atc_metric_add(in->m->paused_seconds,
		    (double)(now - in->paused_since_ms) / 1000);
		atc_log_info("backpressure_resume", "paused_ms=%" PRIu64,
		    now - in->paused_since_ms);
	}
}

void
ingest_frame_timing(struct ingest *in, uint64_t event_us, uint64_t start_us)
{
	uint64_t	now = atc_wall_us();
	double		lag;

	lag = now > event_us ? (double)(now - event_us) / 1e6 : 0;
	atc_metric_set(in->m->lag, lag);
	atc_histogram_observe(in->m->ingest_latency, lag);
	if (start_us > 0)
		atc_histogram_observe(in->m->processing,
		    (double)(now - start_us) / 1e6);
}

/* Measures the main queue's depth on a connection of its own (an RPC on
 * the confirm channel would interleave with the confirms). */
static void
check_depth(struct ingest *in, uint64_t now)
{
	char	err[ATC_ERRLEN], q[300];

	if (now < in->next_depth_ms)
		return;
	in->next_depth_ms = now + DEPTH_CHECK_MS;
	if (in->mq_depth == NULL && (in->mq_depth = atc_mq_connect(
	    in->cfg->rabbitmq_url, "atcal-consumer-depth", err,
	    sizeof(err))) == NULL) {
		in->queue_depth = -1;
		return;
	}
	in->queue_depth = atc_mq_queue_depth(in->mq_depth, ATC_MQ_QUEUE, err,
	    sizeof(err));
	if (in->queue_depth == -1) {
		atc_log_debug("queue_depth_failed", "cause=%s",
		    atc_log_quote(q, sizeof(q), err));
		atc_mq_free(in->mq_depth);
		in->mq_depth = NULL;
	}
}

static void
poll_confirms(struct ingest *in, int timeout_ms)
{
	char	err[ATC_ERRLEN];
	bool	nacked = false;

	if (in->mq == NULL)
		return;
	if (atc_mq_confirm_poll(in->mq, timeout_ms, &in->acked, &nacked, err,
	    sizeof(err)) == -1) {
		ingest_mq_lost(in, err);
		return;
	}
	if (nacked) {
		ingest_mq_lost(in, "broker nacked a message");
		return;
	}
	(void)tracker_confirmed(&in->tracker, in->acked);
}

/* Stores the cursor once a batch's worth of messages is confirmed, or
 * when the batch timeout passed since the last store. */
static void
maybe_save_cursor(struct ingest *in, uint64_t now)
{
	if (pubbatch_store_due(&in->batch, in->acked, in->leading &&
	    in->tracker.safe_seq >= 0 &&
	    in->tracker.safe_seq != in->saved_seq, now))
		save_cursor(in);
}

/* Closes the open batch: its last frame becomes a checkpoint, and the
 * confirms that arrived meanwhile are collected (without waiting). */
static void
batch_close(struct ingest *in, enum pubbatch_close why)
{
	int64_t		seq;
	uint64_t	tag;

	if (pubbatch_close(&in->batch, &seq, &tag) == 0)
		return;
	if (why != PUBBATCH_KEEP)
		atc_metric_inc(in->m->batches[why - 1]);
	if (seq >= 0)
		tracker_frame_done(&in->tracker, seq, tag);
	poll_confirms(in, 0);
	maybe_save_cursor(in, atc_mono_ms());
}

void
ingest_frame_done(struct ingest *in, int64_t seq)
{
	enum pubbatch_close	why;

	if (!pubbatch_frame(&in->batch, seq))
		tracker_frame_done(&in->tracker, seq, in->last_tag);
	if ((why = pubbatch_due(&in->batch, atc_mono_ms(), false)) !=
	    PUBBATCH_KEEP)
		batch_close(in, why);
}

/* The source has nothing more waiting: a lone message's batch closes now
 * instead of at its timeout. */
static void
ingest_idle(void *arg)
{
	struct ingest		*in = arg;
	enum pubbatch_close	 why;

	if ((why = pubbatch_due(&in->batch, atc_mono_ms(), true)) !=
	    PUBBATCH_KEEP)
		batch_close(in, why);
}

static void
log_stats(struct ingest *in)
{
	atc_log_info("stats", "host=%s frames=%.0f frames_dropped=%.0f "
	    "records_dropped=%.0f connection_errors=%.0f pauses=%.0f "
	    "lag_s=%.3f cursor=%" PRId64, in->host,
	    atc_metric_value(in->m->frames),
	    atc_metric_value(in->m->frames_dropped),
	    atc_metric_value(in->m->records_dropped),
	    atc_metric_value(in->m->connection_errors),
	    atc_metric_value(in->m->pauses), atc_metric_value(in->m->lag),
	    in->tracker.safe_seq);
	in->last_stats_ms = atc_mono_ms();
}

/* Gauges that describe state rather than events, refreshed every tick. */
static void
update_gauges(struct ingest *in)
{
	atc_metric_set(in->m->unconfirmed, (double)(in->last_tag - in->acked));
	atc_metric_set(in->m->queue_depth, (double)in->queue_depth);
	atc_metric_set(in->m->leader, in->leading);
	atc_metric_set(in->m->queue_connected, in->mq != NULL);
	if (in->saved_seq >= 0)
		atc_metric_set(in->m->cursor, (double)in->saved_seq);
}

/* Called once this replica holds the lock: the cursor another replica
 * stored is the starting point. Returns -1 to retry at the next check. */
static int
become_leader(struct ingest *in)
{
	char		err[ATC_ERRLEN], q[300];
	int64_t		seq = -1;
	int		found = 0;

	if (cursor_load(in->db, in->host, &seq, &found, err,
	    sizeof(err)) == -1) {
		atc_log_warn("cursor_load_failed", "host=%s cause=%s",
		    in->host, atc_log_quote(q, sizeof(q), err));
		return -1;
	}
	if (!found && in->cfg->source_cursor != NULL &&
	    in->cfg->source_cursor[0] != '\0')
		seq = strtoll(in->cfg->source_cursor, NULL, 10);
	tracker_cleanup(&in->tracker);
	tracker_init(&in->tracker, seq);
	pubbatch_reset(&in->batch, atc_mono_ms());
	in->saved_seq = found ? seq : -1;
	in->leading = 1;
	in->attempts = 0;
	in->next_connect_ms = 0;
	atc_log_info("cursor_loaded", "host=%s stored=%s cursor=%" PRId64,
	    in->host, found ? "true" : "false", seq);
	return 0;
}

static void
check_leader(struct ingest *in, uint64_t now)
{
	int	held;

	if (now < in->next_leader_ms)
		return;
	in->next_leader_ms = now + LEADER_CHECK_MS;
	held = leader_check(in->leader);
	atc_metric_set(in->m->database_up, held >= 0);
	if (held < 0)
		held = 0;
	if (held && !in->leading)
		(void)become_leader(in);
	else if (!held && in->leading) {
		/* Another replica may be ahead now: stop, store nothing. */
		in->leading = 0;
		tracker_reset(&in->tracker);
		pubbatch_reset(&in->batch, now);
		ws_close(in->ws);
		atc_log_warn("standby", "host=%s cause=\"lock lost\"",
		    in->host);
	}
}

static void
ingest_tick(void *arg)
{
	struct ingest		*in = arg;
	uint64_t		 now = atc_mono_ms();
	enum pubbatch_close	 why;
	int64_t			 left;
	int			 tick;

	if (stop_requested && !in->draining) {
		in->draining = 1;
		in->drain_deadline_ms = now +
		    (uint64_t)in->cfg->shutdown_timeout_ms;
		/* Stop reading; this is not backpressure, so not counted. */
		in->paused = 1;
		ws_pause(in->ws, 1);
		atc_log_info("draining", "unconfirmed=%" PRIu64,
		    in->last_tag - in->acked);
	}
	/* Reading stopped: what was read is one last batch. */
	if (in->draining)
		batch_close(in, PUBBATCH_KEEP);
	poll_confirms(in, 0);
	if (in->draining) {
		if (in->mq == NULL || in->acked >= in->last_tag ||
		    now >= in->drain_deadline_ms) {
			save_cursor(in);
			ws_close(in->ws);
			ws_stop(in->ws);
		}
		return;
	}
	check_depth(in, now);
	ingest_update_pause(in);
	if (in->paused && !in->pause_warned &&
	    now - in->paused_since_ms > PAUSE_WARN_MS) {
		in->pause_warned = 1;
		atc_log_warn("backpressure_long_pause", "paused_ms=%" PRIu64
		    " unconfirmed=%" PRIu64 " queue_depth=%lld",
		    now - in->paused_since_ms, in->last_tag - in->acked,
		    in->queue_depth);
	}
	check_leader(in, now);
	if (in->mq == NULL && now >= in->next_mq_ms)
		(void)mq_open(in);
	if (in->leading && in->mq != NULL && !ws_is_active(in->ws) &&
	    now >= in->next_connect_ms)
		ingest_source_open(in);
	if ((why = pubbatch_due(&in->batch, now, false)) != PUBBATCH_KEEP)
		batch_close(in, why);
	maybe_save_cursor(in, now);
	if (now - in->last_stats_ms >= STATS_MS)
		log_stats(in);
	update_gauges(in);
	tick = in->last_tag > in->acked ? TICK_BUSY_MS : TICK_IDLE_MS;
	/* An open batch closes on time even when nothing else happens. */
	if ((left = pubbatch_left_ms(&in->batch, atc_mono_ms())) >= 0 &&
	    left < tick)
		tick = left > 0 ? (int)left : 1;
	ws_set_tick(in->ws, tick);
}

static int
load_dictionary(struct ingest *in, const char *path)
{
	struct atc_buf	 dict;
	FILE		*f;
	char		 chunk[8192], err[ATC_ERRLEN];
	size_t		 n;
	int		 ret = -1;

	atc_buf_init(&dict, 128 * 1024);
	if ((f = fopen(path, "rb")) == NULL) {
		atc_log_err("startup_failed", "cause=\"cannot open "
		    "JETSTREAM_ZSTD_DICTIONARY\"");
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
	    dict.len < 16 * 1024 * 1024)
		atc_buf_append(&dict, chunk, n);
	fclose(f);
	if ((in->zst = atc_zst_new(dict.data, dict.len, err,
	    sizeof(err))) == NULL) {
		atc_log_err("startup_failed", "cause=\"%s\"", err);
		goto out;
	}
	ret = 0;
out:
	atc_buf_cleanup(&dict);
	return ret;
}

int
ingest_run(const struct consumer_config *cfg, const char *url,
    struct atc_metrics *metrics, struct consumer_metrics *m)
{
	struct ingest		in;
	struct ws_events	ev;
	char			err[ATC_ERRLEN];
	int			ret = -1;

	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	in.url = url;
	in.metrics = metrics;
	in.m = m;
	in.saved_seq = -1;
	pubbatch_init(&in.batch, (uint32_t)cfg->batch_size,
	    (uint32_t)cfg->batch_timeout_ms, atc_mono_ms());
	in.queue_depth = -1;
	srandom((unsigned)atc_wall_us());
	atc_frame_init(&in.frame);
	atc_buf_init(&in.body, 4096);
	{
		struct atc_buf	colls;

		/* Profiles follow identity: app.bsky.actor.profile joins the
		 * collections when FORWARD_IDENTITY is on. */
		atc_buf_init(&colls, 256);
		atc_buf_puts(&colls, cfg->collections);
		if (cfg->forward_identity &&
		    strstr(cfg->collections, "app.bsky.actor.profile") == NULL)
			atc_buf_puts(&colls, ",app.bsky.actor.profile");
		in.collections = atc_config_list(atc_buf_cstr(&colls), NULL);
		atc_buf_cleanup(&colls);
	}
	in.opts.verify = cfg->verify_blocks;
	in.opts.collections = (const char *const *)in.collections;
	if (ingest_source_host(url, in.host, sizeof(in.host)) == -1) {
		atc_log_err("startup_failed", "cause=\"bad source URL host\"");
		goto out;
	}
	atc_buf_init(&in.inflated, 0);
	in.jetstream = jetstream_is_url(url);
	if (in.jetstream && cfg->jetstream_dict != NULL &&
	    load_dictionary(&in, cfg->jetstream_dict) == -1)
		goto out;
	in.db = atc_db_new(cfg->database_url);
	in.leader = leader_new(cfg->database_url, in.host);
	tracker_init(&in.tracker, -1);
	if (strcmp(cfg->verify_signatures, "off") != 0) {
		struct atc_didres_opts	o;

		memset(&o, 0, sizeof(o));
		o.plc_url = cfg->plc_url;
		if ((in.didres = atc_didres_new(&o, in.metrics, err,
		    sizeof(err))) == NULL) {
			atc_log_err("startup_failed", "cause=\"%s\"", err);
			goto out;
		}
		in.verify = verify_new(in.didres, in.metrics);
		atc_log_info("signature_verification", "mode=%s",
		    cfg->verify_signatures);
	}
	memset(&ev, 0, sizeof(ev));
	ev.arg = &in;
	ev.message = ingest_message;
	ev.oversized = ingest_oversized;
	ev.connected = ingest_connected;
	ev.disconnected = ingest_disconnected;
	ev.tick = ingest_tick;
	ev.idle = ingest_idle;
	ev.ca_file = cfg->source_ca_file;
	in.ws = ws_new(&ev, (size_t)cfg->max_frame_len,
	    (int)(cfg->idle_timeout_ms / 1000), err, sizeof(err));
	if (in.ws == NULL) {
		atc_log_err("startup_failed", "cause=\"%s\"", err);
		goto out;
	}
	in.last_stats_ms = atc_mono_ms();
	ws_run(in.ws);
	log_stats(&in);
	atc_log_info("stopped", "host=%s cursor=%" PRId64, in.host,
	    in.saved_seq);
	ret = 0;
out:
	ws_free(in.ws);
	atc_mq_free(in.mq);
	atc_mq_free(in.mq_depth);
	leader_free(in.leader);
	atc_db_free(in.db);
	if (in.tracker.ring != NULL)
		tracker_cleanup(&in.tracker);
	atc_frame_cleanup(&in.frame);
	atc_buf_cleanup(&in.body);
	atc_buf_cleanup(&in.inflated);
	atc_zst_free(in.zst);
	atc_config_list_free(in.collections);
	verify_free(in.verify);
	atc_didres_free(in.didres);
	return ret;
}
