/* SPDX-License-Identifier: ISC */
#ifndef API_STORE_READ_H
#define API_STORE_READ_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Read queries of the API, tenant-scoped, through shared/db. Each builds
 * its JSON document in SQL and hands it back as a new string in *out (free
 * with free()), or *out NULL when there is nothing to show (answer 404).
 * Return 0 or -1 with err filled (atc_db_down() tells 503 from 500).
 * The public read API shows only live (not deleted) public events, and
 * only the attendances of those; events and RSVPs of inactive accounts,
 * and subjects carrying a live hiding label, are left out everywhere.
 */
struct atc_db;

struct api_event_query {
	const char	*from;		/* normalised date: start >= from, or NULL */
	const char	*to;		/* start < to, or NULL */
	const char	*status;	/* or NULL */
	const char	*type;		/* in-person|online|hybrid, or NULL */
	const char	*creator;	/* author DID, or NULL */
	const char	*text;		/* substring of name/description, or NULL */
	bool		 has_cursor;
	long long	 after_us;	/* cursor: start date, unix microseconds */
	long long	 after_id;	/* cursor: event id */
	int		 limit;		/* 1..200 */
};

/* Sets the label values that hide events, RSVPs and users from every
 * read (a JSON array of strings, copied; default ["!hide","!takedown"]).
 * Call once in the parent before the workers serve. */
void	api_store_read_hide(const char *vals_json);

/* GET /api/events/by-source document of a live event (any visibility:
 * integrators read back what they wrote). */
int	api_store_event_by_source(struct atc_db *, const char *tenant,
	    const char *source_type, const char *source_id, char **out,
	    char *err, size_t errlen);
/* The same document for a live public event found by slug. */
int	api_store_event_by_slug(struct atc_db *, const char *tenant,
	    const char *slug, char **out, char *err, size_t errlen);
/* {"events": [...], "cursor": "..."|null}: live public events matching q
 * in (start date, id) order; never NULL on success. */
int	api_store_events_list(struct atc_db *, const char *tenant,
	    const struct api_event_query *q, char **out, char *err,
	    size_t errlen);
/* {"slug", "attendees": [...]} of a live public event (its live RSVPs). */
int	api_store_attendees(struct atc_db *, const char *tenant,
	    const char *slug, char **out, char *err, size_t errlen);
/* {"did", "handle", "slug", "displayName", "isShadowAccount",
 * "accountStatus": shadow|claimed|active, ...} of the user with did. */
int	api_store_user(struct atc_db *, const char *tenant, const char *did,
	    char **out, char *err, size_t errlen);
/* {"shadowAccounts": [...], "cursor"} of the tenant, by id after after_id. */
int	api_store_shadows(struct atc_db *, const char *tenant,
	    long long after_id, int limit, char **out, char *err,
	    size_t errlen);

#endif
