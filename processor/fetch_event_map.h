/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_FETCH_EVENT_MAP_H
#define PROCESSOR_FETCH_EVENT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct atc_buf;
struct map_call;

/*
 * The pure half of fetching an RSVP's unknown event (fetch_event.c): which
 * failures ask for it, what to fetch, and the getRecord answer turned into
 * the message body a backfill event has, so map_message() maps it exactly
 * like one. No I/O.
 */

/* Largest getRecord / getLatestCommit answer read (a record is at most
 * 1 MB; the envelope adds little). */
#define FETCH_ANSWER_MAX	(1024 * 1024 + 64 * 1024)

/* True when c is an RSVP create or update the API answered `status` 424
 * (its event unknown) after `attempts` earlier failed deliveries, with
 * after >= 1 and attempts >= after (after 0: never). */
bool	fetch_event_wanted(const struct map_call *c, long status,
	    long long attempts, long long after);
/* Copies the at-uri of the event RSVP call c points at (its DTO's
 * eventSourceId) into uri (capacity urilen). It must name one record of an
 * event collection in a repository given by DID. 0, or -1 and err. */
int	fetch_event_subject(const struct map_call *c, char *uri,
	    size_t urilen, char *err, size_t errlen);
/* Reads the rev (a TID) of a com.atproto.sync.getLatestCommit answer
 * json[0..len) into rev (capacity revlen). 0, or -1 and err. */
int	fetch_event_parse_rev(const void *json, size_t len, char *rev,
	    size_t revlen, char *err, size_t errlen);
/* Resets out and writes the message body of event uri from the
 * com.atproto.repo.getRecord answer answer[0..len): the live commit
 * envelope with operation "create", rev, the answer's cid and record,
 * time_us, "source" and "backfill":true. The answer must name uri, carry
 * a CID and a record object valid in the atproto data model whose $type
 * is uri's collection. 0, or -1 and err (out then undefined). */
int	fetch_event_envelope(struct atc_buf *out, const char *uri,
	    const char *rev, const void *answer, size_t len, uint64_t time_us,
	    const char *source, char *err, size_t errlen);

/* Events asked for recently, so a burst of RSVPs to one unknown event
 * fetches it once per window. Fixed size: the oldest entry gives way.
 * Zero it to start. */
#define FETCH_RECENT_MAX	256
struct fetch_recent {
	struct {
		uint64_t	hash;	/* of the at-uri; 0 = free */
		uint64_t	at_ms;	/* when it was asked for */
	} e[FETCH_RECENT_MAX];
};

/* True when uri was asked for less than window_ms before now_ms; else
 * records it as asked for now and returns false. */
bool	fetch_recent_seen(struct fetch_recent *r, const char *uri,
	    uint64_t now_ms, uint64_t window_ms);

#endif
