/* SPDX-License-Identifier: ISC */
#ifndef API_STORE_H
#define API_STORE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Postgres writes and reads behind the integration endpoints, all through
 * shared/db. Every statement carries the tenant. Functions return 0 or -1
 * with err filled; after -1, atc_db_down() tells "database unavailable"
 * (answer 503) from a statement error (500).
 */
struct atc_db;
struct api_event;
struct api_rsvp;

struct api_write {
	bool		applied;	/* false: stale (stored rev >= rev) */
	bool		event_missing;	/* RSVP: no such event (yet) */
	bool		event_deleted;	/* RSVP: the event is a tombstone */
	char		slug[256];	/* event writes: the event's slug */
	long long	attendee_id;	/* RSVP writes: the attendee row */
};

/* Inserts or updates the event keyed by (tenant, source type, source id),
 * creating the creator's shadow account when needed; a write older than
 * the stored rev is not applied (out->applied false). */
int	api_store_event_upsert(struct atc_db *, const char *tenant,
	    const struct api_event *, struct api_write *out, char *err,
	    size_t errlen);
/* Marks the event deleted, leaving a tombstone with rev (may be NULL);
 * creates the tombstone when the event was never seen. */
int	api_store_event_delete(struct atc_db *, const char *tenant,
	    const char *source_type, const char *source_id, const char *rev,
	    struct api_write *out, char *err, size_t errlen);
/* Inserts or updates one RSVP keyed by (tenant, RSVP source id). Sets
 * out->event_missing (nothing written) when the event is unknown. */
int	api_store_rsvp_upsert(struct atc_db *, const char *tenant,
	    const struct api_rsvp *, struct api_write *out, char *err,
	    size_t errlen);
/* Marks exactly that RSVP deleted (tombstone with rev, may be NULL). */
int	api_store_rsvp_delete(struct atc_db *, const char *tenant,
	    const char *source_type, const char *source_id, const char *rev,
	    struct api_write *out, char *err, size_t errlen);
/* Builds the by-source JSON document of a live event into *out (a new
 * string, free with free()), or sets *out NULL when there is none. */
int	api_store_event_get(struct atc_db *, const char *tenant,
	    const char *source_type, const char *source_id, char **out,
	    char *err, size_t errlen);

#endif
