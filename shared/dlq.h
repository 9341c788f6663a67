/* SPDX-License-Identifier: ISC */
#ifndef ATC_DLQ_H
#define ATC_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Operating the dead-letter queue (ATC_MQ_DLQ) on top of mq.h: list, show,
 * replay (one, by filter, all) and purge. No printing: callers (the
 * processor CLI, the api routes) render what a visit callback receives.
 * Looking never removes anything; a replayed message is acked only after
 * the main exchange confirmed its republish, so a crash duplicates at
 * worst, never loses.
 */
struct atc_mq_msg;

/* Header text is cut to this many bytes (the processor writes at most
 * 200). */
#define ATC_DLQ_TEXT_MAX	200

enum atc_dlq_op {
	ATC_DLQ_LIST,		/* visit every message, up to limit */
	ATC_DLQ_SHOW,		/* visit message `index` only */
	ATC_DLQ_REPLAY,		/* republish the selected messages */
};

enum atc_dlq_state {
	ATC_DLQ_SEEN,		/* looked at, left in place */
	ATC_DLQ_REPLAYED,	/* republished (confirmed) and removed */
	ATC_DLQ_NO_ROUTE,	/* selected, but the original routing key is
				 * unknown: left in place */
};

/* One parked message as its x-* headers describe it. Strings are
 * NUL-terminated copies ("" when unknown); body and message_id are
 * borrowed from the delivery and valid only during the visit. */
struct atc_dlq_entry {
	size_t			 index;		/* 1-based queue position */
	enum atc_dlq_state	 state;
	char			 uri[512];	/* at-uri without #rev */
	char			 routing_key[256];	/* original */
	char			 reason[ATC_DLQ_TEXT_MAX + 1];
	char			 last_error[ATC_DLQ_TEXT_MAX + 1];
	char			 first_failure_at[48];	/* RFC 3339 */
	char			 last_failure_at[48];	/* parked at */
	long long		 attempts;	/* 0 unknown */
	long long		 status;	/* last HTTP status, 0 none */
	const char		*message_id;	/* borrowed or NULL */
	const uint8_t		*body;		/* borrowed */
	size_t			 len;		/* bytes of body */
};

/* What to do: op plus, for SHOW and REPLAY, the selection. visit (may be
 * NULL) is called for each listed message (LIST), the shown one (SHOW) and
 * each selected one after its fate (REPLAY). */
struct atc_dlq_req {
	enum atc_dlq_op	 op;
	size_t		 index;		/* SHOW / REPLAY one: 1-based, 0 none */
	const char	*filter;	/* REPLAY: substring of uri, reason,
					 * last error or routing key */
	bool		 all;		/* REPLAY every message */
	size_t		 limit;		/* LIST: most visited, 0 = no limit */
	void		(*visit)(void *arg, const struct atc_dlq_entry *e);
	void		*arg;
};

/* Counts of one run. */
struct atc_dlq_result {
	long long	depth;		/* messages ready when the run began */
	size_t		nvisited;	/* visit calls */
	size_t		nreplayed;	/* republished and removed */
	size_t		nskipped;	/* selected but left: no routing key */
	bool		found;		/* SHOW / REPLAY one: index existed */
};

/* Runs req against the dead-letter queue at url (one connection to read,
 * one in confirm mode to republish), reading exactly the depth the queue
 * had at the start (O(depth) for every op, so positions stay stable and
 * re-parked replays cannot loop). Fills *out (also on
 * failure: replays done so far). 0, or -1 and err (broker unreachable,
 * confirm missing: what was not acked returns to the queue). */
int	atc_dlq_run(const char *url, const char *conn_name,
	    const struct atc_dlq_req *req, struct atc_dlq_result *out,
	    char *err, size_t errlen);
/* Drops every ready message of the dead-letter queue. Returns how many,
 * or -1 and err. */
long long	atc_dlq_purge(const char *url, const char *conn_name,
		    char *err, size_t errlen);

/* Fills *out from a delivery's headers, message id and (when the headers
 * lack them) its body. out->body/message_id borrow from m. */
void	atc_dlq_entry_read(struct atc_dlq_entry *out,
	    const struct atc_mq_msg *m);
/* Completes the uri and routing key of e ("" fields only) from a message
 * body (Jetstream commit envelope); other fields untouched. Pure. */
void	atc_dlq_entry_from_body(struct atc_dlq_entry *e, const void *body,
	    size_t len);
/* True when sub occurs in e's uri, reason, last error or routing key. */
bool	atc_dlq_matches(const struct atc_dlq_entry *e, const char *sub);

#endif
