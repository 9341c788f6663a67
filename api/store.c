/* SPDX-License-Identifier: ISC */
/*
 * Event, RSVP and shadow-account persistence. Uniqueness lives in the
 * schema and every write is one INSERT ... ON CONFLICT statement, so
 * concurrent writers of the same record meet in Postgres, and a lost race
 * is "already there", never an error (OpenMeet failures 4, 6, 7). Writes
 * carrying a repo rev apply only when newer than the stored rev; deletes
 * leave tombstones holding their rev.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "util.h"
#include "validate.h"

/* A stored rev wins over an incoming one unless the incoming is newer;
 * writes without rev (OpenMeet clients) always apply. */
#define REV_NEWER(t)	"WHERE " t ".rev IS NULL OR EXCLUDED.rev IS NULL " \
			"OR " t ".rev < EXCLUDED.rev "

static const char sql_user_find_or_create[] =
    "WITH found AS ("
    " SELECT id FROM users WHERE tenant_id = $1 AND did = $2"
    " ORDER BY is_shadow, id LIMIT 1), "
    "ins AS ("
    " INSERT INTO users (tenant_id, slug, did, handle, provider, is_shadow,"
    "  first_name)"
    " SELECT $1, 'bsky-' || left(md5($2), 20), $2, $3, 'bluesky', true,"
    "  coalesce($3, $2)"
    " WHERE NOT EXISTS (SELECT 1 FROM found)"
    " ON CONFLICT DO NOTHING RETURNING id) "
    "SELECT id FROM found UNION ALL SELECT id FROM ins LIMIT 1";

static const char sql_user_find[] =
    "SELECT id FROM users WHERE tenant_id = $1 AND did = $2"
    " ORDER BY is_shadow, id LIMIT 1";

static const char sql_user_handle[] =
    "UPDATE users SET handle = $2, first_name = CASE WHEN first_name = did"
    " OR first_name IS NULL OR first_name = handle THEN $2"
    " ELSE first_name END, updated_at = now()"
    " WHERE id = $1::bigint AND is_shadow AND handle IS DISTINCT FROM $2";

static const char sql_event_upsert[] =
    "INSERT INTO events AS e (tenant_id, source_type, source_id, slug,"
    " source_url, source_handle, source_metadata, raw_record, creator_id,"
    " name, description, start_date, end_date, type, status, visibility,"
    " locations, uris, categories, rev) "
    "VALUES ($1, $2, $3,"
    " coalesce(nullif(trim(both '-' from left(regexp_replace(lower($9),"
    "  '[^a-z0-9]+', '-', 'g'), 60)), ''), 'event')"
    "  || '-' || left(md5($2 || ':' || $3), 12),"
    " $4, $5, $6::jsonb, $7::jsonb, $8::bigint, $9, $10, $11::timestamptz,"
    " $12::timestamptz, $13, $14, $15, $16::jsonb, $17::jsonb, $18::jsonb,"
    " $19) "
    "ON CONFLICT (tenant_id, source_type, source_id) DO UPDATE SET"
    " slug = CASE WHEN e.name IS NULL THEN EXCLUDED.slug ELSE e.slug END,"
    " source_url = EXCLUDED.source_url,"
    " source_handle = coalesce(EXCLUDED.source_handle, e.source_handle),"
    " source_metadata = EXCLUDED.source_metadata,"
    " raw_record = EXCLUDED.raw_record,"
    " creator_id = coalesce(EXCLUDED.creator_id, e.creator_id),"
    " name = EXCLUDED.name, description = EXCLUDED.description,"
    " start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,"
    " type = EXCLUDED.type, status = EXCLUDED.status,"
    " visibility = EXCLUDED.visibility, locations = EXCLUDED.locations,"
    " uris = EXCLUDED.uris, categories = EXCLUDED.categories,"
    " rev = coalesce(EXCLUDED.rev, e.rev), deleted_at = NULL,"
    " updated_at = now() "
    REV_NEWER("e")
    "RETURNING slug";

static const char sql_event_delete[] =
    "INSERT INTO events AS e (tenant_id, source_type, source_id, slug, rev,"
    " deleted_at) "
    "VALUES ($1, $2, $3, 'deleted-' || md5($2 || ':' || $3), $4, now()) "
    "ON CONFLICT (tenant_id, source_type, source_id) DO UPDATE SET"
    " deleted_at = coalesce(e.deleted_at, now()),"
    " rev = coalesce(EXCLUDED.rev, e.rev), updated_at = now() "
    REV_NEWER("e")
    "RETURNING slug";

static const char sql_event_slug[] =
    "SELECT slug FROM events WHERE tenant_id = $1 AND source_type = $2"
    " AND source_id = $3";

static const char sql_event_find[] =
    "SELECT id, deleted_at IS NOT NULL FROM events WHERE tenant_id = $1"
    " AND source_type = $2 AND source_id = $3";

static const char sql_rsvp_upsert[] =
    "INSERT INTO attendees AS a (tenant_id, source_type, source_id,"
    " event_id, user_id, status, attendee_status, event_source_id,"
    " metadata, rev) "
    "VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6, $7, $8, $9::jsonb, $10) "
    "ON CONFLICT (tenant_id, source_id) DO UPDATE SET"
    " source_type = EXCLUDED.source_type, event_id = EXCLUDED.event_id,"
    " user_id = EXCLUDED.user_id, status = EXCLUDED.status,"
    " attendee_status = EXCLUDED.attendee_status,"
    " event_source_id = EXCLUDED.event_source_id,"
    " metadata = EXCLUDED.metadata, rev = coalesce(EXCLUDED.rev, a.rev),"
    " deleted_at = NULL, updated_at = now() "
    REV_NEWER("a")
    "RETURNING id";

static const char sql_rsvp_delete[] =
    "INSERT INTO attendees AS a (tenant_id, source_type, source_id, rev,"
    " deleted_at) "
    "VALUES ($1, $2, $3, $4, now()) "
    "ON CONFLICT (tenant_id, source_id) DO UPDATE SET"
    " deleted_at = coalesce(a.deleted_at, now()),"
    " rev = coalesce(EXCLUDED.rev, a.rev), updated_at = now() "
    REV_NEWER("a")
    "RETURNING id";

static const char sql_rsvp_id[] =
    "SELECT id FROM attendees WHERE tenant_id = $1 AND source_id = $2";

#define ISO_UTC(col) \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const char sql_event_get[] =
    "SELECT jsonb_build_object("
    " 'slug', e.slug, 'name', e.name, 'description', e.description,"
    " 'startDate', " ISO_UTC("e.start_date") ","
    " 'endDate', " ISO_UTC("e.end_date") ","
    " 'type', e.type, 'status', e.status, 'visibility', e.visibility,"
    " 'locations', e.locations, 'location', e.locations -> 0,"
    " 'categories', e.categories, 'uris', e.uris,"
    " 'source', jsonb_build_object('type', e.source_type, 'id', e.source_id,"
    "  'url', e.source_url, 'handle', e.source_handle,"
    "  'metadata', e.source_metadata),"
    " 'creator', CASE WHEN u.id IS NULL THEN NULL ELSE jsonb_build_object("
    "  'did', u.did, 'handle', u.handle, 'slug', u.slug,"
    "  'isShadowAccount', u.is_shadow) END,"
    " 'attendees', coalesce((SELECT jsonb_agg(jsonb_build_object("
    "   'did', au.did, 'handle', au.handle, 'status', a.status,"
    "   'attendeeStatus', a.attendee_status, 'sourceId', a.source_id)"
    "   ORDER BY a.id)"
    "  FROM attendees a LEFT JOIN users au ON au.id = a.user_id"
    "  WHERE a.tenant_id = e.tenant_id AND a.event_id = e.id"
    "  AND a.deleted_at IS NULL), '[]'::jsonb)"
    ")::text "
    "FROM events e LEFT JOIN users u ON u.id = e.creator_id "
    "WHERE e.tenant_id = $1 AND e.source_type = $2 AND e.source_id = $3"
    " AND e.deleted_at IS NULL";

/* Finds the user for did (a real account first), creating a shadow
 * account when none exists; id written to out (capacity outlen). */
static int
store_user(struct atc_db *db, const char *tenant, const char *did,
    const char *handle, char *out, size_t outlen, char *err, size_t errlen)
{
	const char	*p[3] = { tenant, did, handle };
	const char	*h[2] = { out, handle };
	int		 found;

	if (atc_db_query_value(db, sql_user_find_or_create, 3, p, out, outlen,
	    &found, err, errlen) == -1)
		return -1;
	/* Lost an insert race: the winner's row is visible now. */
	if (!found && atc_db_query_value(db, sql_user_find, 2, p, out, outlen,
	    &found, err, errlen) == -1)
		return -1;
	if (!found)
		return atc_seterr(err, errlen, "no user row for DID");
	if (handle != NULL &&
	    atc_db_exec(db, sql_user_handle, 2, h, err, errlen) == -1)
		return -1;
	return 0;
}

int
api_store_event_upsert(struct atc_db *db, const char *tenant,
    const struct api_event *ev, struct api_write *out, char *err,
    size_t errlen)
{
	char		 uid[32];
	const char	*p[19];
	const char	*q[3] = { tenant, ev->source_type, ev->source_id };
	int		 found;

	memset(out, 0, sizeof(*out));
	uid[0] = '\0';
	if (ev->creator_did != NULL && store_user(db, tenant, ev->creator_did,
	    ev->source_handle, uid, sizeof(uid), err, errlen) == -1)
		return -1;
	p[0] = tenant;
	p[1] = ev->source_type;
	p[2] = ev->source_id;
	p[3] = ev->source_url;
	p[4] = ev->source_handle;
	p[5] = ev->metadata_json;
	p[6] = ev->raw_record_json;
	p[7] = uid[0] != '\0' ? uid : NULL;
	p[8] = ev->name;
	p[9] = ev->description;
	p[10] = ev->start_date;
	p[11] = ev->end_date[0] != '\0' ? ev->end_date : NULL;
	p[12] = ev->type;
	p[13] = ev->status;
	p[14] = ev->visibility;
	p[15] = ev->locations_json;
	p[16] = ev->uris_json;
	p[17] = ev->categories_json;
	p[18] = ev->rev;
	if (atc_db_query_value(db, sql_event_upsert, 19, p, out->slug,
	    sizeof(out->slug), &found, err, errlen) == -1)
		return -1;
	out->applied = found != 0;
	if (!found && atc_db_query_value(db, sql_event_slug, 3, q, out->slug,
	    sizeof(out->slug), &found, err, errlen) == -1)
		return -1;
	return 0;
}

int
api_store_event_delete(struct atc_db *db, const char *tenant,
    const char *source_type, const char *source_id, const char *rev,
    struct api_write *out, char *err, size_t errlen)
{
	const char	*p[4] = { tenant, source_type, source_id, rev };
	int		 found;

	memset(out, 0, sizeof(*out));
	if (atc_db_query_value(db, sql_event_delete, 4, p, out->slug,
	    sizeof(out->slug), &found, err, errlen) == -1)
		return -1;
	out->applied = found != 0;
	return 0;
}

static int
store_attendee_id(struct atc_db *db, const char *tenant,
    const char *source_id, struct api_write *out, char *err, size_t errlen)
{
	const char	*p[2] = { tenant, source_id };
	char		 id[32];
	int		 found;

	if (atc_db_query_value(db, sql_rsvp_id, 2, p, id, sizeof(id), &found,
	    err, errlen) == -1)
		return -1;
	out->attendee_id = found ? strtoll(id, NULL, 10) : 0;
	return 0;
}

int
api_store_rsvp_upsert(struct atc_db *db, const char *tenant,
    const struct api_rsvp *rv, struct api_write *out, char *err,
    size_t errlen)
{
	struct atc_db_result	*res = NULL;
	const char		*q[3] = { tenant, rv->event_source_type,
				    rv->event_source_id };
	const char		*p[10], *v;
	char			 uid[32], eid[32], id[32];
	int			 ret = -1, found;

	memset(out, 0, sizeof(*out));
	if (atc_db_query(db, sql_event_find, 3, q, &res, err, errlen) == -1)
		goto out;
	if (atc_db_result_nrows(res) == 0) {
		out->event_missing = true;
		ret = 0;
		goto out;
	}
	v = atc_db_result_value(res, 0, 0);
	(void)snprintf(eid, sizeof(eid), "%s", v != NULL ? v : "");
	v = atc_db_result_value(res, 0, 1);
	out->event_deleted = v != NULL && strcmp(v, "t") == 0;
	if (store_user(db, tenant, rv->user_did, rv->user_handle, uid,
	    sizeof(uid), err, errlen) == -1)
		goto out;
	p[0] = tenant;
	p[1] = rv->event_source_type;
	p[2] = rv->source_id;
	p[3] = eid;
	p[4] = uid;
	p[5] = rv->status;
	p[6] = rv->attendee_status;
	p[7] = rv->event_source_id;
	p[8] = rv->metadata_json;
	p[9] = rv->rev;
	if (atc_db_query_value(db, sql_rsvp_upsert, 10, p, id, sizeof(id),
	    &found, err, errlen) == -1)
		goto out;
	out->applied = found != 0;
	if (found)
		out->attendee_id = strtoll(id, NULL, 10);
	else if (store_attendee_id(db, tenant, rv->source_id, out, err,
	    errlen) == -1)
		goto out;
	ret = 0;
out:
	atc_db_result_free(res);
	return ret;
}

int
api_store_rsvp_delete(struct atc_db *db, const char *tenant,
    const char *source_type, const char *source_id, const char *rev,
    struct api_write *out, char *err, size_t errlen)
{
	const char	*p[4] = { tenant, source_type, source_id, rev };
	char		 id[32];
	int		 found;

	memset(out, 0, sizeof(*out));
	if (atc_db_query_value(db, sql_rsvp_delete, 4, p, id, sizeof(id),
	    &found, err, errlen) == -1)
		return -1;
	out->applied = found != 0;
	if (found)
		out->attendee_id = strtoll(id, NULL, 10);
	return 0;
}

int
api_store_event_get(struct atc_db *db, const char *tenant,
    const char *source_type, const char *source_id, char **out, char *err,
    size_t errlen)
{
	struct atc_db_result	*res = NULL;
	const char		*p[3] = { tenant, source_type, source_id };
	const char		*v;

	*out = NULL;
	if (atc_db_query(db, sql_event_get, 3, p, &res, err, errlen) == -1)
		return -1;
	if ((v = atc_db_result_value(res, 0, 0)) != NULL)
		*out = atc_xstrdup(v);
	atc_db_result_free(res);
	return 0;
}
