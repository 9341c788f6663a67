/* SPDX-License-Identifier: ISC */
/*
 * What arrives from the source: firehose frames are decoded and each kept
 * op becomes one persistent message; Jetstream events are validated and
 * forwarded. Every frame, published from or not, is then handed to the
 * tracker so the cursor can pass it once its messages are confirmed.
 * Anything dropped leaves one log line with its uri and cause.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "frame.h"
#include "ingest_priv.h"
#include "jetstream.h"
#include "jsout.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "cmd_decode.h"
#include "pubbatch.h"
#include "route.h"
#include "settings.h"
#include "tracker.h"
#include "util.h"
#include "verify.h"
#include "ws.h"
#include "zst.h"

void
ingest_source_open(struct ingest *in)
{
	struct atc_buf	url;
	char		err[ATC_ERRLEN], q[300];

	atc_buf_init(&url, 256);
	if (in->jetstream) {
		int64_t c = in->tracker.safe_seq;

		if (c > JETSTREAM_REWIND_US)
			c -= JETSTREAM_REWIND_US;
		jetstream_build_url(&url, in->url,
		    (const char *const *)in->collections, c);
		if (in->zst != NULL && strstr(in->url,
		    "compress=") == NULL)
			atc_buf_puts(&url, "&compress=true");
	} else {
		atc_buf_puts(&url, in->url);
		if (in->tracker.safe_seq >= 0)
			atc_buf_appendf(&url, "%scursor=%" PRId64,
			    strchr(in->url, '?') ? "&" : "?",
			    in->tracker.safe_seq);
	}
	if (in->connections > 0 || in->attempts > 0)
		atc_metric_inc(in->m->reconnect_attempts);
	atc_log_info("source_connecting", "host=%s cursor=%" PRId64
	    " attempt=%u", in->host, in->tracker.safe_seq, in->attempts + 1);
	if (ws_open(in->ws, atc_buf_cstr(&url), err, sizeof(err)) == -1) {
		atc_log_warn("source_connect_failed", "host=%s cause=%s",
		    in->host, atc_log_quote(q, sizeof(q), err));
		in->next_connect_ms = atc_mono_ms() +
		    ingest_backoff_ms(in->attempts++, in->cfg->reconnect_max_ms);
	}
	atc_buf_cleanup(&url);
}

static void
log_record_dropped(struct ingest *in, const struct atc_frame_op *op,
    const char *cause)
{
	char	q[300];

	atc_metric_inc(in->m->records_dropped);
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
	uint64_t			 tag, t0;
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
		    route_kind(op->collection),
		    atc_op_action_name(op->action));
		(void)snprintf(mid, sizeof(mid), "at://%s/%s/%s#%s",
		    in->frame.did, op->collection, op->rkey,
		    in->frame.rev ? in->frame.rev : "");
		t0 = atc_wall_us();
		if (atc_mq_publish(in->mq, ATC_MQ_EXCHANGE, rk, in->body.data,
		    in->body.len, mid, NULL, 0, &tag, err, sizeof(err)) == -1) {
			atc_metric_inc(in->m->publish_errors);
			ingest_mq_lost(in, err);
			return -1;
		}
		atc_histogram_observe(in->m->publish,
		    (double)(atc_wall_us() - t0) / 1e6);
		in->last_tag = tag;
		pubbatch_published(&in->batch, tag, atc_mono_ms());
		atc_metric_inc(telemetry_event(in->m,
		    route_kind(op->collection),
		    atc_op_action_name(op->action)));
		atc_log_debug("record_published", "request_id=%s seq=%" PRId64
		    " rk=%s", mid, in->frame.seq, rk);
	}
	return 0;
}

/* Appends ,"seq":N,"source":"host" inside the object that ends body. */
static void
append_seq_source(struct ingest *in, int64_t seq)
{
	if (in->body.len == 0 || in->body.data[in->body.len - 1] != '}')
		return;
	atc_buf_truncate(&in->body, in->body.len - 1);
	atc_buf_appendf(&in->body, ",\"seq\":%" PRId64 ",\"source\":\"%s\"}",
	    seq, in->host);
}

/* Forwards an #identity or #account frame (FORWARD_IDENTITY): identity
 * and account state of the DIDs the API knows follow from these. -1:
 * broker lost. */
static int
publish_identity(struct ingest *in, uint64_t time_us)
{
	const struct atc_frame	*f = &in->frame;
	char			 err[ATC_ERRLEN], rk[64], mid[300], q[300];
	const char		*status;
	uint64_t		 tag;
	int			 rc;

	atc_buf_reset(&in->body);
	if (f->kind == ATC_FRAME_IDENTITY) {
		rc = atc_jsout_identity(&in->body, f, time_us, err,
		    sizeof(err));
		(void)snprintf(rk, sizeof(rk), "identity.update");
	} else {
		rc = atc_jsout_account(&in->body, f, time_us, err,
		    sizeof(err));
		status = f->active ? "active" : f->status != NULL &&
		    f->status[0] != '\0' && strlen(f->status) <= 20 &&
		    strspn(f->status, "abcdefghijklmnopqrstuvwxyz") ==
		    strlen(f->status) ? f->status : "inactive";
		(void)snprintf(rk, sizeof(rk), "account.%s", status);
	}
	if (rc == -1) {
		atc_metric_inc(in->m->records_dropped);
		atc_log_warn("record_dropped", "uri=%s seq=%" PRId64 " cause=%s",
		    f->did ? f->did : "?", f->seq,
		    atc_log_quote(q, sizeof(q), err));
		return 0;
	}
	append_seq_source(in, f->seq);
	(void)snprintf(mid, sizeof(mid), "%s#%" PRId64, f->did ? f->did : "",
	    f->seq);
	if (atc_mq_publish(in->mq, ATC_MQ_EXCHANGE, rk, in->body.data,
	    in->body.len, mid, NULL, 0, &tag, err, sizeof(err)) == -1) {
		atc_metric_inc(in->m->publish_errors);
		ingest_mq_lost(in, err);
		return -1;
	}
	in->last_tag = tag;
	pubbatch_published(&in->batch, tag, atc_mono_ms());
	atc_metric_inc(in->m->identity);
	atc_log_debug("record_published", "request_id=%s rk=%s", mid, rk);
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
			atc_metric_inc(in->m->frames_dropped);
			atc_log_warn("frame_dropped", "host=%s len=%zu cause=%s",
			    in->host, len, atc_log_quote(q, sizeof(q), err));
			return 0;
		}
		data = in->inflated.data;
		len = in->inflated.len;
	}
	atc_buf_reset(&in->body);
	r = jetstream_translate((const char *)data, len,
	    (const char *const *)in->collections, in->cfg->forward_identity,
	    in->host, &in->body, &ev,
	    err, sizeof(err));
	if (r == JETSTREAM_INVALID) {
		atc_metric_inc(in->m->records_dropped);
		atc_log_warn("record_dropped", "uri=%s cause=%s",
		    ev.uri[0] ? ev.uri : "?", atc_log_quote(q, sizeof(q), err));
	} else if (r == JETSTREAM_PUBLISH) {
		if (atc_mq_publish(in->mq, ATC_MQ_EXCHANGE, ev.routing_key,
		    in->body.data, in->body.len, ev.message_id, NULL, 0, &tag,
		    err, sizeof(err)) == -1) {
			atc_metric_inc(in->m->publish_errors);
			ingest_mq_lost(in, err);
			return -1;
		}
		in->last_tag = tag;
		pubbatch_published(&in->batch, tag, atc_mono_ms());
		if (strncmp(ev.routing_key, "identity.", 9) == 0 ||
		    strncmp(ev.routing_key, "account.", 8) == 0)
			atc_metric_inc(in->m->identity);
		else
			atc_metric_inc(telemetry_event_rk(in->m,
			    ev.routing_key));
		atc_log_debug("record_published", "request_id=%s rk=%s",
		    ev.message_id, ev.routing_key);
	}
	if (ev.time_us >= 0) {
		ingest_frame_done(in, ev.time_us);
		ingest_frame_timing(in, (uint64_t)ev.time_us, 0);
	}
	return 0;
}

int
ingest_message(void *arg, const uint8_t *data, size_t len, int binary)
{
	struct ingest	*in = arg;
	char		 err[ATC_ERRLEN], q[300], q2[300];
	uint64_t	 now_us = atc_wall_us(), event_us;

	if (in->draining || !in->leading)
		return 0;
	if (in->jetstream) {
		if (in->mq == NULL)
			return -1;
		atc_metric_inc(in->m->frames);
		in->attempts = 0;
		if (jetstream_message(in, data, len, binary) == -1)
			return -1;
		ingest_update_pause(in);
		return 0;
	}
	if (!binary) {
		atc_log_warn("source_protocol_error", "host=%s cause=%s",
		    in->host, "\"text frame on a binary stream\"");
		return -1;
	}
	if (in->mq == NULL)
		return -1;
	atc_metric_inc(in->m->frames);
	in->attempts = 0;
	if (atc_frame_decode(&in->frame, data, len, &in->opts, err,
	    sizeof(err)) == -1) {
		atc_metric_inc(in->m->frames_dropped);
		atc_log_warn("frame_dropped", "host=%s len=%zu cause=%s",
		    in->host, len, atc_log_quote(q, sizeof(q), err));
		return 0;
	}
	switch (in->frame.kind) {
	case ATC_FRAME_COMMIT:
		/* VERIFY_SIGNATURES: a commit failing its signature check
		 * has its kept ops turned FAILED. */
		(void)verify_frame(in->verify, &in->frame);
		if (in->frame.nkept + in->frame.nfailed > 0 &&
		    publish_commit(in, now_us) == -1)
			return -1;
		break;
	case ATC_FRAME_ERROR:
		atc_log_err("source_error_frame", "host=%s error=%s message=%s",
		    in->host, atc_log_quote(q, sizeof(q), in->frame.name),
		    atc_log_quote(q2, sizeof(q2), in->frame.message));
		in->next_connect_ms = atc_mono_ms() +
		    ingest_backoff_ms(in->attempts++, in->cfg->reconnect_max_ms);
		/*
		 * Our cursor is ahead of the source (it was reset, or this is
		 * another server behind the same name). Retrying the same
		 * cursor would loop forever; relays in this case go live, so
		 * do the same and say so loudly.
		 */
		if (in->frame.name != NULL &&
		    strcmp(in->frame.name, "FutureCursor") == 0) {
			atc_log_err("cursor_reset", "host=%s stored=%" PRId64
			    " cause=\"source is behind the stored cursor: "
			    "continuing from its live tip\"", in->host,
			    in->tracker.safe_seq);
			tracker_reset(&in->tracker);
			pubbatch_reset(&in->batch, atc_mono_ms());
			in->tracker.safe_seq = -1;
		}
		return -1;
	case ATC_FRAME_IDENTITY:
	case ATC_FRAME_ACCOUNT:
		if (in->cfg->forward_identity && in->frame.did != NULL &&
		    publish_identity(in, now_us) == -1)
			return -1;
		break;
	case ATC_FRAME_INFO:
		atc_log_warn("source_info", "host=%s name=%s message=%s",
		    in->host, atc_log_quote(q, sizeof(q), in->frame.name),
		    atc_log_quote(q2, sizeof(q2), in->frame.message));
		break;
	default:
		break;
	}
	if (in->frame.has_seq) {
		ingest_frame_done(in, in->frame.seq);
		if (in->frame.time != NULL &&
		    cmd_decode_time_us(in->frame.time, &event_us) == 0)
			ingest_frame_timing(in, event_us, now_us);
	}
	ingest_update_pause(in);
	return 0;
}

void
ingest_oversized(void *arg, size_t len)
{
	struct ingest	*in = arg;

	atc_metric_inc(in->m->frames_dropped);
	atc_log_warn("frame_dropped", "host=%s len=%zu cause=\"frame larger "
	    "than %lld bytes\"", in->host, len, in->cfg->max_frame_len);
}

void
ingest_connected(void *arg)
{
	struct ingest	*in = arg;

	atc_metric_set(in->m->firehose_connected, 1);
	if (in->connections++ > 0)
		atc_metric_inc(in->m->reconnect_successes);
	atc_log_info("source_connected", "host=%s cursor=%" PRId64, in->host,
	    in->tracker.safe_seq);
}

void
ingest_disconnected(void *arg, const char *reason, int retry_after_s)
{
	struct ingest	*in = arg;
	uint64_t	 delay;
	char		 q[300];

	atc_metric_inc(in->m->connection_errors);
	atc_metric_set(in->m->firehose_connected, 0);
	delay = ingest_backoff_ms(in->attempts++, in->cfg->reconnect_max_ms);
	if (retry_after_s > 0 && (uint64_t)retry_after_s * 1000 > delay)
		delay = (uint64_t)retry_after_s * 1000;
	if (in->next_connect_ms < atc_mono_ms() + delay)
		in->next_connect_ms = atc_mono_ms() + delay;
	if (!in->draining)
		atc_log_warn("source_disconnected", "host=%s cause=%s "
		    "retry_in_ms=%" PRIu64, in->host,
		    atc_log_quote(q, sizeof(q), reason), delay);
}
