/* SPDX-License-Identifier: ISC */
/*
 * The one place a message's fate is decided and logged. An ack happens
 * only after the fate is durable: the API's 2xx, or the broker's confirm of
 * the copy sent to a retry queue or the dead-letter queue. Republishes are
 * not waited for one by one: they queue here and settle_flush(), called once
 * per loop turn, waits for the confirm of the newest, which covers all.
 */
#include <stdio.h>
#include <string.h>

#include "fate.h"
#include "fetch_event.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "mq.h"
#include "outcome.h"
#include "settle.h"
#include "telemetry.h"

void
settle_init(struct settle *s, struct atc_mq *cons, struct atc_mq *pub,
    struct processor_metrics *m)
{
	memset(s, 0, sizeof(*s));
	s->cons = cons;
	s->pub = pub;
	s->m = m;
}

static void
count_done(struct settle *s, const struct job *j, const char *status)
{
	ptelemetry_processed(s->m, j->call.kind, j->call.op, status);
	atc_histogram_observe(s->m->processing,
	    (double)(atc_wall_us() - j->start_us) / 1e6);
}

int
settle_ok(struct settle *s, struct job *j, long status, uint64_t elapsed_ms,
    char *err, size_t errlen)
{
	int	rc;

	count_done(s, j, "ok");
	atc_log_debug("record_applied", "uri=%s rev=%s op=%s status=%ld "
	    "ms=%llu request_id=%s", job_uri(j), job_rev(j),
	    j->call.op ? j->call.op : "-", status,
	    (unsigned long long)elapsed_ms, job_request_id(j));
	rc = atc_mq_ack(s->cons, j->msg.tag, err, errlen);
	job_free(j);
	return rc;
}

int
settle_ignored(struct settle *s, struct job *j, long status, char *err,
    size_t errlen)
{
	int	rc;

	count_done(s, j, "ignored");
	atc_log_debug("record_ignored", "uri=%s kind=%s status=%ld "
	    "cause=unknown_did request_id=%s", job_uri(j),
	    j->call.kind ? j->call.kind : "-", status, job_request_id(j));
	rc = atc_mq_ack(s->cons, j->msg.tag, err, errlen);
	job_free(j);
	return rc;
}

static void
defer(struct settle *s, struct job *j)
{
	s->last_tag = j->fate_tag;
	job_fifo_push(&s->unconfirmed, j);
}

static void
fate_fill(struct fate_info *fi, const struct job *j)
{
	fi->routing_key = j->rk;
	fi->attempts = j->fate_attempts;
	fi->first_failure_at = j->first_failure[0] ? j->first_failure : NULL;
	fi->status = j->fate_status;
	fi->error = j->fate_error;
	fi->reason = j->fate_rung < 0 ? j->fate_reason : NULL;
}

int
settle_park(struct settle *s, struct job *j, long status, const char *error,
    const char *reason, char *err, size_t errlen)
{
	struct fate_info	fi;

	j->fate_rung = -1;
	j->fate_status = status;
	j->fate_retry_after_s = -1;
	/* A record refused before any call (unmappable) has not failed a
	 * delivery attempt; anything the API answered has. */
	j->fate_attempts = j->attempts + (status != 0 || error != NULL);
	(void)snprintf(j->fate_error, sizeof(j->fate_error), "%s",
	    error != NULL ? error : "");
	(void)snprintf(j->fate_reason, sizeof(j->fate_reason), "%s", reason);
	fate_fill(&fi, j);
	if (fate_park(s->pub, &j->msg, &fi, &j->fate_tag, err,
	    errlen) == -1) {
		job_free(j);
		return -1;
	}
	defer(s, j);
	return 0;
}

int
settle_retry(struct settle *s, struct job *j, long status,
    long retry_after_s, const char *error, char *err, size_t errlen)
{
	struct fate_info	fi;
	char			reason[FATE_EXCERPT_LEN + 1];
	int			rung;

	/* Its event still unknown after retries: ask the author's PDS. */
	fetch_event_note(s->fetch, &j->call, status, j->attempts,
	    job_request_id(j));
	rung = outcome_pick_rung(j->attempts + 1, retry_after_s,
	    atc_mq_ladder, atc_mq_nladder);
	if (rung < 0) {
		(void)snprintf(reason, sizeof(reason), "retries exhausted "
		    "after %lld attempts: last status %ld", j->attempts + 1,
		    status);
		return settle_park(s, j, status, error, reason, err, errlen);
	}
	j->fate_rung = rung;
	j->fate_status = status;
	j->fate_retry_after_s = retry_after_s;
	j->fate_attempts = j->attempts + 1;
	(void)snprintf(j->fate_error, sizeof(j->fate_error), "%s",
	    error != NULL ? error : "");
	fate_fill(&fi, j);
	if (fate_retry(s->pub, &j->msg, &fi, rung, &j->fate_tag, err,
	    errlen) == -1) {
		job_free(j);
		return -1;
	}
	defer(s, j);
	return 0;
}

int
settle_answer(struct settle *s, struct job *j, long status,
    long retry_after_s, const char *error, uint64_t elapsed_ms, char *err,
    size_t errlen)
{
	char	reason[FATE_EXCERPT_LEN + 1];

	switch (outcome_classify(status)) {
	case OUTCOME_OK:
		return settle_ok(s, j, status, elapsed_ms, err, errlen);
	case OUTCOME_RETRY:
		return settle_retry(s, j, status, retry_after_s, error, err,
		    errlen);
	case OUTCOME_DROP:
		break;
	}
	(void)snprintf(reason, sizeof(reason), "api rejected: http %ld%s%s",
	    status, error != NULL && *error != '\0' ? ": " : "",
	    error != NULL ? error : "");
	return settle_park(s, j, status, error, reason, err, errlen);
}

/* The confirmed fate of j: count and log it (one line), then ack. */
static int
finish(struct settle *s, struct job *j, char *err, size_t errlen)
{
	char	qc[FATE_EXCERPT_LEN * 2 + 8], qe[ATC_ERRLEN * 2 + 8];
	int	rc;

	(void)atc_log_quote(qe, sizeof(qe), j->fate_error);
	if (j->fate_rung < 0) {
		count_done(s, j, "parked");
		atc_metric_inc(s->m->parked);
		atc_log_warn("record_parked", "uri=%s rev=%s routing_key=%s "
		    "status=%ld attempts=%lld cause=%s error=%s request_id=%s",
		    job_uri(j), job_rev(j), j->rk, j->fate_status,
		    j->fate_attempts,
		    atc_log_quote(qc, sizeof(qc), j->fate_reason), qe,
		    job_request_id(j));
	} else {
		count_done(s, j, "retry");
		atc_metric_inc(s->m->retries[j->fate_rung < 8 ?
		    j->fate_rung : 7]);
		atc_log_info("record_retry", "uri=%s rev=%s status=%ld "
		    "attempts=%lld rung=%s retry_after_s=%ld cause=%s "
		    "request_id=%s", job_uri(j), job_rev(j), j->fate_status,
		    j->fate_attempts, atc_mq_ladder[j->fate_rung].name,
		    j->fate_retry_after_s, qe, job_request_id(j));
	}
	rc = atc_mq_ack(s->cons, j->msg.tag, err, errlen);
	job_free(j);
	return rc;
}

int
settle_flush(struct settle *s, char *err, size_t errlen)
{
	struct job	*j;

	if (s->unconfirmed.n == 0)
		return 0;
	if (atc_mq_confirm_wait(s->pub, s->last_tag, FATE_CONFIRM_MS, err,
	    errlen) == -1)
		return -1;
	while ((j = job_fifo_pop(&s->unconfirmed)) != NULL)
		if (finish(s, j, err, errlen) == -1)
			return -1;
	return 0;
}

void
settle_abandon(struct settle *s)
{
	job_fifo_clear(&s->unconfirmed);
}
