/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_INGEST_PRIV_H
#define CONSUMER_INGEST_PRIV_H

/* Private to ingest.c (lifecycle, broker, cursor, leadership) and
 * ingest_source.c (what arrives from the source). */
#include <stdint.h>

#include "buf.h"
#include "frame.h"
#include "pubbatch.h"
#include "telemetry.h"
#include "tracker.h"

struct atc_db;
struct atc_didres;
struct verify;
struct atc_mq;
struct atc_metrics;
struct atc_zst;
struct consumer_config;
struct leader;
struct ws_client;

/* Jetstream cursors are rewound on reconnect: time_us is per instance and
 * events near the cut may be re-sent in another order. */
#define JETSTREAM_REWIND_US	(5LL * 1000 * 1000)

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
	struct pubbatch			 batch;		/* publish batches,
							 * cursor stores */
	uint64_t			 last_stats_ms;
	uint64_t			 paused_since_ms;
	uint32_t			 attempts;	/* failed source connects */
	uint64_t			 connections;	/* established so far */
	uint32_t			 mq_attempts;
	int				 paused;	/* reading stopped */
	int				 paused_unconfirmed; /* over high water */
	int				 paused_depth;	/* queue over high water */
	long long			 queue_depth;	/* last measured, -1 unknown */
	uint64_t			 next_depth_ms;
	struct atc_mq			*mq_depth;	/* depth probes, or NULL */
	int				 pause_warned;
	int				 draining;
	uint64_t			 drain_deadline_ms;
	const char			*url;		/* this source (borrowed) */
	struct consumer_metrics		*m;		/* this host's series (borrowed) */
	struct atc_metrics		*metrics;	/* registry (borrowed) */
	struct atc_didres		*didres;	/* keys, or NULL */
	struct verify			*verify;	/* NULL: VERIFY_SIGNATURES=off */
};

/* ingest.c */
/* Bookkeeping after each source frame: lag and latency metrics. */
void		ingest_frame_timing(struct ingest *, uint64_t event_us,
		    uint64_t start_us);
uint64_t	ingest_backoff_ms(uint32_t attempts, long long max_ms);
/* The broker connection failed or nacked: drop it and replay. */
void		ingest_mq_lost(struct ingest *, const char *cause);
/* Re-evaluates backpressure after the unconfirmed count changed. */
void		ingest_update_pause(struct ingest *);
/* Frame seq is handled (its messages published): it joins the open
 * batch, or the tracker directly when none is open; a full or timed-out
 * batch closes. */
void		ingest_frame_done(struct ingest *, int64_t seq);

/* ingest_source.c: the ws_events callbacks and the connect step. */
void	ingest_source_open(struct ingest *);
int	ingest_message(void *arg, const uint8_t *data, size_t len, int binary);
void	ingest_oversized(void *arg, size_t len);
void	ingest_connected(void *arg);
void	ingest_disconnected(void *arg, const char *reason, int retry_after_s);

#endif
