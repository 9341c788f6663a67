/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_BACKFILL_PRIV_H
#define CONSUMER_BACKFILL_PRIV_H

/* Private to backfill.c (run, workers, progress), backfill_repo.c (one
 * repository), backfill_store.c (progress tables) and backfill_parse.c
 * (pure JSON/body helpers). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pubbatch.h"

struct atc_db;
struct atc_didres;
struct atc_metric;
struct atc_mq;
struct atc_xrpc;
struct atc_xrpc_limiter;
struct consumer_config;

#define BACKFILL_MAXPAGE	10000	/* repos accepted in one page */

enum backfill_kind {
	BACKFILL_RELAY,		/* listReposByCollection; PDS from the DID */
	BACKFILL_PDS,		/* listRepos; the PDS is the source itself */
};

/* One source host. */
struct backfill_host {
	char			 base[512];	/* http(s)://host[:port] */
	char			 host[256];	/* progress key, "source" */
	enum backfill_kind	 kind;
	bool			 ok;		/* enumeration finished */
};

/* One repository to fetch. */
struct backfill_job {
	struct backfill_host	*host;		/* borrowed */
	char			*did;		/* owned */
	char			*pds;		/* owned, NULL until known */
};

struct backfill_metrics {
	struct atc_metric	*repos_done, *repos_gone, *repos_failed;
	struct atc_metric	*records, *records_dropped, *requests, *bytes;
	struct atc_metric	*pending;
	struct atc_metric	*batches;	/* publish batches closed */
};

/* The whole run: read-only after setup except the atomics. */
struct backfill {
	const struct consumer_config	*cfg;
	char				**collections;	/* owned list */
	struct backfill_host		*hosts;		/* owned */
	size_t				 nhosts;
	struct backfill_job		*jobs;		/* owned */
	size_t				 njobs;
	atomic_size_t			 next_job;
	atomic_ullong			 repos_done;	/* any outcome */
	atomic_ullong			 records;
	atomic_int			 failed;	/* some repo failed */
	struct backfill_metrics		 m;
	struct atc_xrpc_limiter		*limiter;	/* owned, shared */
};

/* A worker thread's own connections. */
struct backfill_worker {
	struct backfill		*bf;
	int			 id;
	struct atc_xrpc		*xrpc;		/* getLatestCommit/getRepo */
	struct atc_mq		*mq;		/* confirm mode, or NULL */
	struct atc_db		*db;
	struct atc_didres	*didres;	/* relay hosts only */
	struct atc_buf		 car;		/* repository bytes */
	struct atc_buf		 body;		/* message scratch */
	uint64_t		 last_tag, acked;
	struct pubbatch		 batch;		/* INGESTER_BATCH_* */
	pthread_t		 thread_id;
};

enum backfill_outcome {
	BACKFILL_DONE = 0,	/* published and confirmed */
	BACKFILL_GONE,		/* repo absent, inactive or unresolvable */
	BACKFILL_RETRY,		/* transient: network, broker */
};

/* backfill.c: true once a stop was requested (workers finish their
 * repository, enumeration stops after its page). */
bool	backfill_stopping(void);

/* backfill_enum.c: fills bf->hosts from BACKFILL_SOURCE_URL (or
 * SOURCE_URL's host); 0 or -1 and err. */
int	backfill_hosts_setup(struct backfill *, char *err, size_t errlen);
/* Detects h's kind (BACKFILL_SOURCE_KIND=auto) and stores every page of
 * its enumeration(s) not stored yet. 0 when finished, -1 and err. */
int	backfill_enumerate_host(struct backfill *, struct atc_db *,
	    struct atc_xrpc *, struct backfill_host *, char *err,
	    size_t errlen);

/* backfill_repo.c: fetches job's repository and publishes its calendar
 * records. *rev and *nrecords describe the snapshot on DONE; err says why
 * otherwise. */
enum backfill_outcome	backfill_repo_run(struct backfill_worker *,
			    struct backfill_job *, char *rev, size_t revlen,
			    long long *nrecords, char *err, size_t errlen);

/* backfill_store.c: the progress tables (the only module touching them).
 * Each returns 0 or -1 with err. */
int	backfill_store_reset(struct atc_db *, const char *host, char *err,
	    size_t errlen);
/* *cursor (capacity cursorlen) gets the stored page cursor ("" none);
 * *done whether the enumeration finished. */
int	backfill_store_enum_get(struct atc_db *, const char *host,
	    const char *scope, char *cursor, size_t cursorlen, bool *done,
	    char *err, size_t errlen);
/* Adds dids[0..n) as pending repos and stores the next cursor (NULL:
 * finished) in one transaction. */
int	backfill_store_enum_page(struct atc_db *, const char *host,
	    const char *scope, char *const *dids, size_t n,
	    const char *next_cursor, char *err, size_t errlen);
/* Appends host's pending repos to *jobs (a growing array of *njobs). */
int	backfill_store_pending(struct atc_db *, struct backfill_host *,
	    struct backfill_job **jobs, size_t *njobs, char *err,
	    size_t errlen);
/* Marks did done (rev NULL when gone; error may be NULL). */
int	backfill_store_done(struct atc_db *, const char *host, const char *did,
	    const char *rev, long long nrecords, const char *error, char *err,
	    size_t errlen);
/* Records a failure without marking done (retried by the next run). */
int	backfill_store_failed(struct atc_db *, const char *host,
	    const char *did, const char *error, char *err, size_t errlen);

/* backfill_parse.c (pure). */
struct backfill_page {
	char	**dids;		/* owned, ndids entries */
	size_t	  ndids;
	size_t	  ninactive;	/* repos skipped: active false */
	char	 *cursor;	/* owned, NULL at the end */
};
/* Parses a listRepos or listReposByCollection answer: {cursor?, repos:
 * [{did, active?, ...}]}; repos with active false are skipped and DIDs
 * are syntax-checked. Returns 0, or -1 and err. */
int	backfill_parse_page(struct backfill_page *out, const char *json,
	    size_t len, char *err, size_t errlen);
void	backfill_page_free(struct backfill_page *);
/* Parses a getLatestCommit answer {cid, rev} into rev (a TID). */
int	backfill_parse_latest(const char *json, size_t len, char *rev,
	    size_t revlen, char *err, size_t errlen);
/* Appends the message body of one record: the live commit envelope with
 * operation "create" plus "source" and "backfill":true. record is the
 * DAG-CBOR block, cid its binary CID. On error out is restored. */
int	backfill_msg_build(struct atc_buf *out, const char *did,
	    const char *rev, const char *collection, const char *rkey,
	    const uint8_t *cid, size_t cid_len, const uint8_t *record,
	    size_t record_len, uint64_t time_us, const char *source,
	    char *err, size_t errlen);

#endif
