/* SPDX-License-Identifier: ISC */
#ifndef API_VALIDATE_H
#define API_VALIDATE_H

#include <stddef.h>

/*
 * Validation and mapping of the integration request bodies
 * (ExternalEventDto, ExternalRsvpDto) into flat structs the store writes.
 * Pure: the caller parses JSON and owns the root; every problem is added
 * to an errors object as "field": "message" so a 422 names them all.
 */
struct json_t;

#define API_DATE_LEN	48

/* String members are borrowed from the JSON root unless marked owned. */
struct api_event {
	const char	*name;
	const char	*description;		/* NULL when absent */
	char		 start_date[API_DATE_LEN];	/* normalised */
	char		 end_date[API_DATE_LEN];	/* "" when absent */
	const char	*type;			/* default in-person */
	const char	*status;		/* default published */
	const char	*visibility;		/* default public */
	const char	*source_type;
	const char	*source_id;
	const char	*source_url;		/* NULL when absent */
	const char	*source_handle;		/* NULL when absent */
	const char	*rev;			/* metadata.rev or NULL */
	const char	*creator_did;		/* at-uri authority, or NULL */
	char		*locations_json;	/* owned: JSON array text */
	char		*uris_json;		/* owned: JSON array text */
	char		*categories_json;	/* owned: JSON array text */
	char		*metadata_json;		/* owned: JSON object text */
	char		*raw_record_json;	/* owned or NULL */
	char		 creator_buf[2049];	/* storage for creator_did */
};

struct api_rsvp {
	const char	*event_source_id;
	const char	*event_source_type;
	const char	*user_did;
	const char	*user_handle;		/* NULL when absent */
	const char	*status;		/* going|interested|notgoing */
	const char	*attendee_status;	/* confirmed|maybe|cancelled */
	const char	*source_id;
	const char	*rev;			/* metadata.rev or NULL */
	char		 timestamp[API_DATE_LEN];	/* "" when absent */
	char		*metadata_json;		/* owned: JSON object text */
};

/* Fills out from a parsed ExternalEventDto body. Returns 0 when valid;
 * otherwise -1 with one entry per bad field added to errors (an object).
 * Call api_event_cleanup() in both cases. */
int	api_event_from_json(const struct json_t *body, struct api_event *out,
	    struct json_t *errors);
void	api_event_cleanup(struct api_event *);

/* Same for ExternalRsvpDto; call api_rsvp_cleanup() in both cases. */
int	api_rsvp_from_json(const struct json_t *body, struct api_rsvp *out,
	    struct json_t *errors);
void	api_rsvp_cleanup(struct api_rsvp *);

/* Returns 1 when s is one of the accepted source types (bluesky, eventbrite,
 * facebook, luma, meetup, other, web). */
int	api_source_type_ok(const char *s);
/* Returns 1 when s is a repo rev (a TID: byte order is time order). */
int	api_rev_ok(const char *s);
/* Maps an RSVP status to the attendee status (going -> confirmed,
 * interested -> maybe, notgoing -> cancelled); NULL when unknown. */
const char	*api_attendee_status(const char *status);

#endif
