/* SPDX-License-Identifier: ISC */
#ifndef API_OPLIST_H
#define API_OPLIST_H

#include <stddef.h>

/*
 * Write operations as the database applies them (schema/0007,
 * atcal_apply): one JSON object per event/RSVP upsert or delete, built from
 * validated DTOs, plus the dedup keys of an event (urls and OpenMeet slugs
 * found in its source url and uris) and the batch request parser. Pure: no
 * I/O; every object returned is new (json_decref() it).
 */
struct json_t;
struct api_event;
struct api_rsvp;

#define API_OPS_MAX	500	/* operations in one batch request */
#define API_SLUG_MAX	200	/* longest OpenMeet slug taken from a url */

/* Returns a new event.put operation for a validated event; body is the
 * DTO it came from (its uris and source.rawRecord.uris feed dedup). */
struct json_t	*api_op_event_put(const struct api_event *ev,
		    const struct json_t *body);
/* Returns a new rsvp.put operation for a validated RSVP. */
struct json_t	*api_op_rsvp_put(const struct api_rsvp *rv);
/* Returns a new event.del or rsvp.del operation (rsvp != 0). did and rkey
 * are the at-uri's parts or NULL for other sources; rev may be NULL. */
struct json_t	*api_op_delete(int rsvp, const char *source_type,
		    const char *source_id, const char *did, const char *rkey,
		    const char *rev);

/* Collects into urls (an array) every url of an event DTO: source.url,
 * uris[] (strings or {uri}) and source.rawRecord.uris[].uri, each once,
 * and into slugs the OpenMeet slug of each url that has one (the segment
 * after "/events/", [a-z0-9-]). */
void	api_dedup_keys(const struct json_t *body, struct json_t *urls,
	    struct json_t *slugs);
/* Copies the OpenMeet slug of url into out (capacity outlen) and returns
 * 0, or -1 when the url holds none. */
int	api_slug_from_url(const char *url, char *out, size_t outlen);

/*
 * Parses a batch body {"operations": [{"op": "event.upsert", "body": DTO},
 * {"op": "event.delete", "sourceId", "sourceType"?, "rev"?},
 * {"op": "rsvp.upsert", "body": DTO}, {"op": "rsvp.delete", ...}]}.
 * Returns 0 with *ops (the valid items' operations, in order) and *results
 * (one entry per item: a 422 result object for an invalid item, JSON null
 * where the database result goes), both new; or -1 when the body itself is
 * unusable, with the problems added to errors (nothing allocated).
 */
int	api_batch_parse(const struct json_t *body, struct json_t **ops,
	    struct json_t **results, struct json_t *errors);

#endif
