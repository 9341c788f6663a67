/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_FETCH_EVENT_H
#define PROCESSOR_FETCH_EVENT_H

#include <stddef.h>

struct atc_metrics;
struct map_call;
struct settings;

/*
 * RSVPs whose event the API still does not know after retries: the event
 * is fetched from its author's PDS (DID document -> PDS,
 * com.atproto.sync.getLatestCommit for the rev, com.atproto.repo.getRecord
 * for the record), mapped like a backfill event and sent to the API, on a
 * thread of its own, so the processor's loop never waits for it. The RSVP
 * itself keeps its place on the retry ladder and finds its event on its
 * next attempt. Requests are bounded (a short queue; an event asked for
 * recently is not fetched again); each fetch logs one `event_fetch` line
 * with its outcome and counts it in atcal_processor_event_fetches_total.
 */
struct fetch_event;

/* Starts the fetcher (its thread, resolver, XRPC and API clients) with
 * cfg's API, PLC and PROCESSOR_FETCH_EVENT_AFTER settings (borrowed: must
 * outlive it) and its series in metrics (borrowed). Returns it; free with
 * fetch_event_free(). NULL with err "" when fetching is off
 * (PROCESSOR_FETCH_EVENT_AFTER=0), NULL with err set on failure. */
struct fetch_event	*fetch_event_new(const struct settings *cfg,
			    struct atc_metrics *metrics, char *err,
			    size_t errlen);
/* Stops the thread after the fetch in progress (each step is bounded by
 * its timeout) and frees f; requests still queued are dropped. NULL is
 * fine. */
void	fetch_event_free(struct fetch_event *f);
/* The message of rsvp (borrowed; request_id too) failed with `status`
 * after `attempts` earlier failed deliveries. When this asks for its event
 * (fetch_event_wanted()), queues the fetch. Never blocks; f may be NULL. */
void	fetch_event_note(struct fetch_event *f, const struct map_call *rsvp,
	    long status, long long attempts, const char *request_id);

#endif
