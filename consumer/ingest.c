/* SPDX-License-Identifier: ISC */
/*
 * Live ingestion. Everything runs on the WebSocket service thread: frames
 * arrive in ingest_message(), periodic work (broker confirms, backpressure,
 * cursor saving, reconnects, shutdown) in ingest_tick(). The invariant: the
 * stored cursor never passes a frame whose messages the broker has not
 * confirmed. When the broker connection is lost or nacks, the source
 * connection is closed too and reopened from the last safe position, so
 * nothing in doubt is ever skipped.
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
#include "frame.h"
#include "ingest.h"
#include "jetstream.h"
#include "jsout.h"
#include "leader.h"
#include "log.h"
#include "mq.h"
#include "settings.h"
#include "tracker.h"
#include "util.h"
#include "ws.h"
#include "zst.h"

#define TICK_IDLE_MS	50
#define TICK_BUSY_MS	2
#define STATS_MS	60000
#define PAUSE_WARN_MS	30000
#define LEADER_CHECK_MS	1000
/* Jetstream cursors are rewound on reconnect: time_us is per instance and
 * events near the cut may be re-sent in another order. */
#define JETSTREAM_REWIND_US	(5LL * 1000 * 1000)

struct ingest_stats {
	uint64_t	frames;
	uint64_t	frames_dropped;
	uint64_t	ops_published;
	uint64_t	ops_dropped;
	uint64_t	reconnects;
	uint64_t	pauses;
};

struct ingest {
	const struct consumer_config	*cfg;
	struct ws_client		*ws;
	struct atc_mq			*mq;		/* NULL while down */
	struct atc_db			*db;
	struct leader			*leader;	/* replica election */
	int				 leading;	/* holds the lock, cursor loaded */
	uint64_t			 next_leader_ms;
	struct tracker			 tracker;
	struct atc_frame		 frame;
	struct atc_frame_opts		 opts;
	char				**collections;	/* owned list */
	struct atc_buf			 body;		/* message scratch */
	int				 jetstream;	/* JSON source */
	struct atc_zst			*zst;		/* compress=true, or NULL */
	struct atc_buf			 inflated;	/* decompressed event */
	char				 host[256];	/* cursor key, "source" */
	int64_t				 saved_seq;	/* last stored cursor */
	uint64_t			 last_tag;	/* last delivery tag used */
	uint64_t			 acked;
	uint64_t			 next_connect_ms;
	uint64_t			 next_mq_ms;
	uint64_t			 last_save_ms;
	uint64_t			 last_stats_ms;
	uint64_t			 paused_since_ms;
	uint32_t			 attempts;	/* failed source connects */
	uint32_t			 mq_attempts;
	int				 paused;
	int				 pause_warned;
	int				 draining;
	uint64_t			 drain_deadline_ms;
	struct ingest_stats		 stats;
};

static volatile sig_atomic_t	stop_requested;

void
ingest_request_stop(void)
{
	stop_requested = 1;
}

static uint64_t
backoff_ms(uint32_t attempts, long long max_ms)
{
	uint64_t	base = 500, d;

	d = attempts >= 20 ? (uint64_t)max_ms : base << attempts;
	if (d > (uint64_t)max_ms)
		d = (uint64_t)max_ms;
	/* Full jitter on the upper half keeps replicas from stampeding. */
	return d / 2 + (uint64_t)random() % (d / 2 + 1);
}

static int
source_host(const char *url, char *out, size_t outlen)
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

static const char *
routing_kind(const char *collection)
{
	size_t	n = strlen(collection);

	if (n >= 15 && strcmp(collection + n - 15, ".calendar.event") == 0)
		return "event";
	if (n >= 14 && strcmp(collection + n - 14, ".calendar.rsvp") == 0)
		return "rsvp";
	return "record";
}

static void
mq_lost(struct ingest *in, const char *cause)
{
	char	q[300];

	atc_log_warn("broker_lost", "cause=%s unconfirmed=%" PRIu64
	    " safe_seq=%" PRId64, atc_log_quote(q, sizeof(q), cause),
	    in->last_tag - in->acked, in->tracker.safe_seq);
	atc_mq_free(in->mq);
	in->mq = NULL;
	in->last_tag = in->acked = 0;
	tracker_reset(&in->tracker);
	in->next_mq_ms = atc_mono_ms() +
	    backoff_ms(in->mq_attempts++, in->cfg->reconnect_max_ms);
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
		    backoff_ms(in->mq_attempts++, in->cfg->reconnect_max_ms);
		return -1;
	}
	in->mq_attempts = 0;
	in->last_tag = in->acked = 0;
	atc_log_info("broker_connected", NULL);
	return 0;
}

static void
save_cursor(struct ingest *in)
{
	char	err[ATC_ERRLEN], q[300];

	in->last_save_ms = atc_mono_ms();
	if (!in->leading || in->tracker.safe_seq < 0 ||
	    in->tracker.safe_seq == in->saved_seq)
		return;
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

static void
source_open(struct ingest *in)
{
	struct atc_buf	url;
	char		err[ATC_ERRLEN], q[300];

	atc_buf_init(&url, 256);
	if (in->jetstream) {
		int64_t c = in->tracker.safe_seq;

		if (c > JETSTREAM_REWIND_US)
			c -= JETSTREAM_REWIND_US;
		jetstream_build_url(&url, in->cfg->source_url,
		    (const char *const *)in->collections, c);
		if (in->zst != NULL && strstr(in->cfg->source_url,
		    "compress=") == NULL)
			atc_buf_puts(&url, "&compress=true");
	} else {
		atc_buf_puts(&url, in->cfg->source_url);
		if (in->tracker.safe_seq >= 0)
			atc_buf_appendf(&url, "%scursor=%" PRId64,
			    strchr(in->cfg->source_url, '?') ? "&" : "?",
			    in->tracker.safe_seq);
	}
	atc_log_info("source_connecting", "host=%s cursor=%" PRId64
	    " attempt=%u", in->host, in->tracker.safe_seq, in->attempts + 1);
	if (ws_open(in->ws, atc_buf_cstr(&url), err, sizeof(err)) == -1) {
		atc_log_warn("source_connect_failed", "host=%s cause=%s",
		    in->host, atc_log_quote(q, sizeof(q), err));
		in->next_connect_ms = atc_mono_ms() +
		    backoff_ms(in->attempts++, in->cfg->reconnect_max_ms);
	}
	atc_buf_cleanup(&url);
}

static void
set_paused(struct ingest *in, int paused)
{
	uint64_t	now = atc_mono_ms();

	if (in->paused == paused)
		return;
	in->paused = paused;
	ws_pause(in->ws, paused);
	if (paused) {
		in->stats.pauses++;
		in->paused_since_ms = now;
		in->pause_warned = 0;
		atc_log_info("backpressure_pause", "unconfirmed=%" PRIu64,
		    in->last_tag - in->acked);
	} else
		atc_log_info("backpressure_resume", "paused_ms=%" PRIu64,
		    now - in->paused_since_ms);
}

static void
log_record_dropped(struct ingest *in, const struct atc_frame_op *op,
    const char *cause)
{
	char	q[300];

	in->stats.ops_dropped++;
	atc_log_warn("record_dropped", "uri=at://%s/%s/%s seq=%" PRId64
	    " cause=%s", in->frame.did ? in->frame.did : "?", op->collection,
	    op->rkey, in->frame.seq, atc_log_quote(q, sizeof(q), cause));
}

/* Publishes every kept op of the current commit. -1: broker lost. */
static int
publish_commit(struct ingest *in, uint64_t time_us)
{
	const struct atc_frame_op	*op;
	char				 err[ATC_ERRLEN], rk[64], mid[512];
	uint64_t			 tag;
	size_t				 i;

	for (i = 0; i < in->frame.nops; i++) {
		op = &in->frame.ops[i];
		if (op->status == ATC_OP_FILTERED)
			continue;
		if (op->status == ATC_OP_FAILED) {
			log_record_dropped(in, op, op->error ? op->error :
			    "invalid op");
			continue;
		}
		atc_buf_reset(&in->body);
		if (atc_jsout_commit_op(&in->body, &in->frame, i, time_us,
		    in->host, err, sizeof(err)) == -1) {
			log_record_dropped(in, op, err);
			continue;
		}
		(void)snprintf(rk, sizeof(rk), "%s.%s",
		    routing_kind(op->collection),
		    atc_op_action_name(op->action));
		(void)snprintf(mid, sizeof(mid), "at://%s/%s/%s#%s",
		    in->frame.did, op->collection, op->rkey,
		    in->frame.rev ? in->frame.rev : "");
		if (atc_mq_publish(in->mq, ATC_MQ_EXCHANGE, rk, in->body.data,
		    in->body.len, mid, NULL, 0, &tag, err, sizeof(err)) == -1) {
			mq_lost(in, err);
			return -1;
		}
		in->last_tag = tag;
		in->stats.ops_published++;
		atc_log_debug("record_published", "uri=at://%s/%s/%s seq=%"
		    PRId64 " rk=%s", in->frame.did, op->collection, op->rkey,
		    in->frame.seq, rk);
	}
	return 0;
}

/* One Jetstream event. -1: broker lost or protocol error. */
static int
jetstream_message(struct ingest *in, const uint8_t *data, size_t len,
    int binary)
{
	struct jetstream_event	ev;
	enum jetstream_result	r;
	char			err[ATC_ERRLEN], q[300];
	uint64_t		tag;

	if (binary) {
		if (in->zst == NULL) {
			atc_log_warn("source_protocol_error", "host=%s cause="
			    "\"binary Jetstream frame without a dictionary\"",
			    in->host);
			return -1;
		}
		atc_buf_reset(&in->inflated);
		if (atc_zst_message(in->zst, &in->inflated, data, len,
		    (size_t)in->cfg->max_frame_len, err, sizeof(err)) == -1) {
			in->stats.frames_dropped++;
			atc_log_warn("frame_dropped", "host=%s len=%zu cause=%s",
			    in->host, len, atc_log_quote(q, sizeof(q), err));
			return 0;
		}
		data = in->inflated.data;
		len = in->inflated.len;
	}
	atc_buf_reset(&in->body);
	r = jetstream_translate((const char *)data, len,
	    (const char *const *)in->collections, in->host, &in->body, &ev,
	    err, sizeof(err));
	if (r == JETSTREAM_INVALID) {
		in->stats.ops_dropped++;
		atc_log_warn("record_dropped", "uri=%s cause=%s",
		    ev.uri[0] ? ev.uri : "?", atc_log_quote(q, sizeof(q), err));
	} else if (r == JETSTREAM_PUBLISH) {
		if (atc_mq_publish(in->mq, ATC_MQ_EXCHANGE, ev.routing_key,
		    in->body.data, in->body.len, ev.message_id, NULL, 0, &tag,
		    err, sizeof(err)) == -1) {
			mq_lost(in, err);
			return -1;
		}
		in->last_tag = tag;
		in->stats.ops_published++;
	}
	if (ev.time_us >= 0)
		tracker_frame_done(&in->tracker, ev.time_us, in->last_tag);
	return 0;
}

static int
ingest_message(void *arg, const uint8_t *data, size_t len, int binary)
{
	struct ingest	*in = arg;
	char		 err[ATC_ERRLEN], q[300], q2[300];
	uint64_t	 now_us = atc_wall_us();

	if (in->draining || !in->leading)
		return 0;
	if (in->jetstream) {
		if (in->mq == NULL)
			return -1;
		in->stats.frames++;
		in->attempts = 0;
		if (jetstream_message(in, data, len, binary) == -1)
			return -1;
		if (in->last_tag - in->acked > (uint64_t)in->cfg->high_water)
			set_paused(in, 1);
		return 0;
	}
	if (!binary) {
		atc_log_warn("source_protocol_error", "host=%s cause=%s",
		    in->host, "\"text frame on a binary stream\"");
		return -1;
	}
	if (in->mq == NULL)
		return -1;
	in->stats.frames++;
	in->attempts = 0;
	if (atc_frame_decode(&in->frame, data, len, &in->opts, err,
	    sizeof(err)) == -1) {
		in->stats.frames_dropped++;
		atc_log_warn("frame_dropped", "host=%s len=%zu cause=%s",
		    in->host, len, atc_log_quote(q, sizeof(q), err));
		return 0;
	}
	switch (in->frame.kind) {
	case ATC_FRAME_COMMIT:
		if (in->frame.nkept + in->frame.nfailed > 0 &&
		    publish_commit(in, now_us) == -1)
			return -1;
		break;
	case ATC_FRAME_ERROR:
		atc_log_err("source_error_frame", "host=%s error=%s message=%s",
		    in->host, atc_log_quote(q, sizeof(q), in->frame.name),
		    atc_log_quote(q2, sizeof(q2), in->frame.message));
		in->next_connect_ms = atc_mono_ms() +
		    backoff_ms(in->attempts++, in->cfg->reconnect_max_ms);
		return -1;
	case ATC_FRAME_INFO:
		atc_log_warn("source_info", "host=%s name=%s message=%s",
		    in->host, atc_log_quote(q, sizeof(q), in->frame.name),
		    atc_log_quote(q2, sizeof(q2), in->frame.message));
		break;
	default:
		break;
	}
	if (in->frame.has_seq)
		tracker_frame_done(&in->tracker, in->frame.seq, in->last_tag);
	if (in->last_tag - in->acked > (uint64_t)in->cfg->high_water)
		set_paused(in, 1);
	return 0;
}

static void
ingest_oversized(void *arg, size_t len)
{
	struct ingest	*in = arg;

	in->stats.frames_dropped++;
	atc_log_warn("frame_dropped", "host=%s len=%zu cause=\"frame larger "
	    "than %lld bytes\"", in->host, len, in->cfg->max_frame_len);
}

static void
ingest_connected(void *arg)
{
	struct ingest	*in = arg;

	atc_log_info("source_connected", "host=%s cursor=%" PRId64, in->host,
	    in->tracker.safe_seq);
}

static void
ingest_disconnected(void *arg, const char *reason, int retry_after_s)
{
	struct ingest	*in = arg;
	uint64_t	 delay;
	char		 q[300];

	in->stats.reconnects++;
	delay = backoff_ms(in->attempts++, in->cfg->reconnect_max_ms);
	if (retry_after_s > 0 && (uint64_t)retry_after_s * 1000 > delay)
		delay = (uint64_t)retry_after_s * 1000;
	if (in->next_connect_ms < atc_mono_ms() + delay)
		in->next_connect_ms = atc_mono_ms() + delay;
	if (!in->draining)
		atc_log_warn("source_disconnected", "host=%s cause=%s "
		    "retry_in_ms=%" PRIu64, in->host,
		    atc_log_quote(q, sizeof(q), reason), delay);
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
		mq_lost(in, err);
		return;
	}
	if (nacked) {
		mq_lost(in, "broker nacked a message");
		return;
	}
	(void)tracker_confirmed(&in->tracker, in->acked);
}

static void
log_stats(struct ingest *in)
{
	atc_log_info("stats", "host=%s frames=%" PRIu64 " frames_dropped=%"
	    PRIu64 " published=%" PRIu64 " records_dropped=%" PRIu64
	    " reconnects=%" PRIu64 " pauses=%" PRIu64 " cursor=%" PRId64,
	    in->host, in->stats.frames, in->stats.frames_dropped,
	    in->stats.ops_published, in->stats.ops_dropped,
	    in->stats.reconnects, in->stats.pauses, in->tracker.safe_seq);
	in->last_stats_ms = atc_mono_ms();
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
	if (held && !in->leading)
		(void)become_leader(in);
	else if (!held && in->leading) {
		/* Another replica may be ahead now: stop, store nothing. */
		in->leading = 0;
		tracker_reset(&in->tracker);
		ws_close(in->ws);
		atc_log_warn("standby", "host=%s cause=\"lock lost\"",
		    in->host);
	}
}

static void
ingest_tick(void *arg)
{
	struct ingest	*in = arg;
	uint64_t	 now = atc_mono_ms();

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
	if (in->paused && in->last_tag - in->acked <
	    (uint64_t)in->cfg->low_water)
		set_paused(in, 0);
	if (in->paused && !in->pause_warned &&
	    now - in->paused_since_ms > PAUSE_WARN_MS) {
		in->pause_warned = 1;
		atc_log_warn("backpressure_long_pause", "paused_ms=%" PRIu64
		    " unconfirmed=%" PRIu64, now - in->paused_since_ms,
		    in->last_tag - in->acked);
	}
	check_leader(in, now);
	if (in->mq == NULL && now >= in->next_mq_ms)
		(void)mq_open(in);
	if (in->leading && in->mq != NULL && !ws_is_active(in->ws) &&
	    now >= in->next_connect_ms)
		source_open(in);
	if (now - in->last_save_ms >= (uint64_t)in->cfg->cursor_save_ms)
		save_cursor(in);
	if (now - in->last_stats_ms >= STATS_MS)
		log_stats(in);
	ws_set_tick(in->ws, in->last_tag > in->acked ? TICK_BUSY_MS :
	    TICK_IDLE_MS);
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
ingest_run(const struct consumer_config *cfg)
{
	struct ingest		in;
	struct ws_events	ev;
	char			err[ATC_ERRLEN];
	int			ret = -1;

	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	in.saved_seq = -1;
	srandom((unsigned)atc_wall_us());
	atc_frame_init(&in.frame);
	atc_buf_init(&in.body, 4096);
	in.collections = atc_config_list(cfg->collections, NULL);
	in.opts.verify = cfg->verify_blocks;
	in.opts.collections = (const char *const *)in.collections;
	if (source_host(cfg->source_url, in.host, sizeof(in.host)) == -1) {
		atc_log_err("startup_failed", "cause=\"bad SOURCE_URL host\"");
		goto out;
	}
	atc_buf_init(&in.inflated, 0);
	in.jetstream = jetstream_is_url(cfg->source_url);
	if (in.jetstream && cfg->jetstream_dict != NULL &&
	    load_dictionary(&in, cfg->jetstream_dict) == -1)
		goto out;
	in.db = atc_db_new(cfg->database_url);
	in.leader = leader_new(cfg->database_url, in.host);
	tracker_init(&in.tracker, -1);
	memset(&ev, 0, sizeof(ev));
	ev.arg = &in;
	ev.message = ingest_message;
	ev.oversized = ingest_oversized;
	ev.connected = ingest_connected;
	ev.disconnected = ingest_disconnected;
	ev.tick = ingest_tick;
	in.ws = ws_new(&ev, (size_t)cfg->max_frame_len,
	    (int)(cfg->idle_timeout_ms / 1000), err, sizeof(err));
	if (in.ws == NULL) {
		atc_log_err("startup_failed", "cause=\"%s\"", err);
		goto out;
	}
	in.last_save_ms = in.last_stats_ms = atc_mono_ms();
	ws_run(in.ws);
	log_stats(&in);
	atc_log_info("stopped", "host=%s cursor=%" PRId64, in.host,
	    in.saved_seq);
	ret = 0;
out:
	ws_free(in.ws);
	atc_mq_free(in.mq);
	leader_free(in.leader);
	atc_db_free(in.db);
	if (in.tracker.ring != NULL)
		tracker_cleanup(&in.tracker);
	atc_frame_cleanup(&in.frame);
	atc_buf_cleanup(&in.body);
	atc_buf_cleanup(&in.inflated);
	atc_zst_free(in.zst);
	atc_config_list_free(in.collections);
	return ret;
}
