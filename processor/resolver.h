/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_RESOLVER_H
#define PROCESSOR_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "didres.h"
#include "util.h"

struct atc_metrics;

/*
 * DID resolution off the processor's loop: one thread owns a shared/didres
 * resolver (its cache, retries, per-host rate limit and timeouts) and works
 * through requests in order; the loop submits, polls resolver_fd() with
 * its other descriptors and collects results, so API calls keep flowing
 * while a DID document is fetched.
 */

struct resolver;

/* One finished resolution. */
struct resolver_result {
	uint64_t		 ticket;	/* as submitted */
	enum atc_didres_result	 result;
	bool			 tombstoned;	/* PLC 410 */
	struct atc_did_doc	 doc;		/* result ATC_DIDRES_OK */
	char			 err[ATC_ERRLEN]; /* why, when not OK */
};

/* Returns a new resolver with its thread started, resolving with opts
 * (copied; see atc_didres_opts) and counting into metrics (borrowed, may
 * be NULL; atcal_didres_* series); free with resolver_free(). NULL and
 * err on bad options or when the thread cannot start. */
struct resolver	*resolver_new(const struct atc_didres_opts *opts,
		    struct atc_metrics *metrics, char *err, size_t errlen);
/* Cancels the resolution in progress (see atc_didres_cancel()), stops
 * and joins the thread, and frees r with any result not collected. NULL
 * is fine. */
void		 resolver_free(struct resolver *r);
/* Queues the resolution of did (copied) under ticket; force as in
 * atc_didres_resolve(). Never blocks. Requests are unbounded here: the
 * caller bounds them (the processor's prefetch window). */
void		 resolver_submit(struct resolver *r, uint64_t ticket,
		    const char *did, bool force);
/* A descriptor readable while results wait to be collected. */
int		 resolver_fd(const struct resolver *r);
/* Pops the oldest finished resolution into *out: 1, or 0 when none. */
int		 resolver_next(struct resolver *r, struct resolver_result *out);

#endif
