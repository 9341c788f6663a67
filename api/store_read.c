/* SPDX-License-Identifier: ISC */
/*
 * Read side of the API. Every document is assembled by Postgres
 * (jsonb_build_object), so the C side never re-encodes rows and the
 * by-source, by-slug and listing answers share one event shape. Listings
 * page by an opaque (start date, id) cursor: the order is total, so pages
 * neither repeat nor skip rows while writes go on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "store_read.h"
#include "util.h"

#define ISO_UTC(col) \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The event document minus attendees; needs e (events) and u (creator). */
#define EVENT_FIELDS \
    " 'slug', e.slug, 'name', e.name, 'description', e.description," \
    " 'startDate', " ISO_UTC("e.start_date") "," \
    " 'endDate', " ISO_UTC("e.end_date") "," \
    " 'type', e.type, 'status', e.status, 'visibility', e.visibility," \
    " 'locations', e.locations, 'location', e.locations -> 0," \
    " 'categories', e.categories, 'uris', e.uris," \
    " 'source', jsonb_build_object('type', e.source_type, 'id', e.source_id,"\
    "  'url', e.source_url, 'handle', e.source_handle," \
    "  'metadata', e.source_metadata, 'rawRecord', e.raw_record)," \
    " 'creator', CASE WHEN u.id IS NULL THEN NULL ELSE jsonb_build_object(" \
    "  'did', u.did, 'handle', u.handle, 'slug', u.slug," \
    "  'isShadowAccount', u.is_shadow) END"

/* Visibility (issues 6 and 7): an event or RSVP shows only while its
 * author's account is active and neither it nor its author carries a live
 * hiding label; h is the parameter holding the hide values (JSON array). */
#define EVENT_VISIBLE(h) \
    " AND coalesce(u.account_active, true)" \
    " AND NOT atcal_label_hidden(e.tenant_id, e.source_id, " h "::jsonb)" \
    " AND NOT atcal_label_hidden(e.tenant_id, e.author_did, " h "::jsonb)"
#define RSVP_VISIBLE(h) \
    " AND NOT EXISTS (SELECT 1 FROM users vu WHERE vu.id = a.user_id" \
    "  AND (NOT coalesce(vu.account_active, true)" \
    "  OR atcal_label_hidden(vu.tenant_id, vu.did, " h "::jsonb)))" \
    " AND NOT atcal_label_hidden(a.tenant_id, a.source_id, " h "::jsonb)"

#define ATTENDEE_DOC \
    "jsonb_build_object('did', au.did, 'handle', au.handle," \
    " 'status', a.status, 'attendeeStatus', a.attendee_status," \
    " 'sourceId', a.source_id, 'isShadowAccount', au.is_shadow)"

#define EVENT_ATTENDEES(h) \
    " 'attendees', coalesce((SELECT jsonb_agg(" ATTENDEE_DOC " ORDER BY a.id)"\
    "  FROM attendees a LEFT JOIN users au ON au.id = a.user_id" \
    "  WHERE a.tenant_id = e.tenant_id AND a.event_id = e.id" \
    "  AND a.deleted_at IS NULL" RSVP_VISIBLE(h) "), '[]'::jsonb)"

static const char sql_by_source[] =
    "SELECT jsonb_build_object(" EVENT_FIELDS "," EVENT_ATTENDEES("$4")
    ")::text "
    "FROM events e LEFT JOIN users u ON u.id = e.creator_id "
    "WHERE e.tenant_id = $1 AND e.source_type = $2 AND e.source_id = $3"
    " AND e.deleted_at IS NULL" EVENT_VISIBLE("$4");

static const char sql_by_slug[] =
    "SELECT jsonb_build_object(" EVENT_FIELDS "," EVENT_ATTENDEES("$3")
    ")::text "
    "FROM events e LEFT JOIN users u ON u.id = e.creator_id "
    "WHERE e.tenant_id = $1 AND e.slug = $2 AND e.deleted_at IS NULL"
    " AND e.visibility = 'public'" EVENT_VISIBLE("$3");

static const char sql_list[] =
    "SELECT jsonb_build_object(" EVENT_FIELDS ","
    " 'attendeesCount', (SELECT count(*) FROM attendees a"
    "  WHERE a.tenant_id = e.tenant_id AND a.event_id = e.id"
    "  AND a.deleted_at IS NULL" RSVP_VISIBLE("$11") "))::text,"
    " ((extract(epoch FROM e.start_date) * 1000000)::bigint)::text"
    "  || '.' || e.id "
    "FROM events e LEFT JOIN users u ON u.id = e.creator_id "
    "WHERE e.tenant_id = $1 AND e.deleted_at IS NULL"
    " AND e.visibility = 'public'"
    " AND ($2::timestamptz IS NULL OR e.start_date >= $2::timestamptz)"
    " AND ($3::timestamptz IS NULL OR e.start_date < $3::timestamptz)"
    " AND ($4::text IS NULL OR e.status = $4)"
    " AND ($5::text IS NULL OR e.type = $5)"
    " AND ($6::text IS NULL OR e.author_did = $6 OR u.did = $6)"
    " AND ($7::text IS NULL OR strpos(lower(e.name || ' ' ||"
    "  coalesce(e.description, '')), lower($7)) > 0)"
    " AND ($8::bigint IS NULL OR (e.start_date, e.id) >"
    "  (to_timestamp(0) + $8::bigint * interval '1 microsecond',"
    "  $9::bigint))" EVENT_VISIBLE("$11") " "
    "ORDER BY e.start_date, e.id LIMIT $10::int + 1";

static const char sql_attendees[] =
    "SELECT jsonb_build_object('slug', e.slug, 'attendees',"
    " coalesce((SELECT jsonb_agg(" ATTENDEE_DOC " ORDER BY a.id)"
    "  FROM attendees a LEFT JOIN users au ON au.id = a.user_id"
    "  WHERE a.tenant_id = e.tenant_id AND a.event_id = e.id"
    "  AND a.deleted_at IS NULL" RSVP_VISIBLE("$3") "), '[]'::jsonb))::text "
    "FROM events e LEFT JOIN users u ON u.id = e.creator_id "
    "WHERE e.tenant_id = $1 AND e.slug = $2"
    " AND e.deleted_at IS NULL AND e.visibility = 'public'"
    EVENT_VISIBLE("$3");

static const char sql_user[] =
    "SELECT jsonb_build_object('did', u.did, 'handle', u.handle,"
    " 'slug', u.slug, 'displayName', coalesce(u.profile_display_name,"
    " u.first_name, u.handle, u.did), 'provider', u.provider,"
    " 'isShadowAccount', u.is_shadow,"
    " 'accountStatus', CASE WHEN u.is_shadow THEN 'shadow'"
    "  WHEN u.claimed_at IS NOT NULL THEN 'claimed' ELSE 'active' END,"
    " 'atproto', jsonb_build_object('status', coalesce(u.account_status,"
    "  'active'), 'active', coalesce(u.account_active, true),"
    "  'statusUpdatedAt', " ISO_UTC("u.account_status_updated_at") ","
    "  'pds', u.pds, 'lastSeenAt', " ISO_UTC("u.last_seen_at") "),"
    " 'profile', CASE WHEN u.profile_rev IS NULL THEN NULL"
    "  ELSE jsonb_build_object('deleted', u.profile_deleted_at IS NOT NULL,"
    "  'displayName', u.profile_display_name,"
    "  'description', u.profile_description,"
    "  'avatarCid', u.profile_avatar_cid, 'avatarUrl',"
    "  atcal_blob_url(u.pds, u.did, u.profile_avatar_cid),"
    "  'bannerCid', u.profile_banner_cid, 'bannerUrl',"
    "  atcal_blob_url(u.pds, u.did, u.profile_banner_cid),"
    "  'rev', u.profile_rev) END,"
    " 'createdAt', " ISO_UTC("u.created_at") ","
    " 'eventsCount', CASE WHEN coalesce(u.account_active, true) THEN"
    "  (SELECT count(*) FROM events e WHERE e.creator_id = u.id"
    "  AND e.deleted_at IS NULL AND e.visibility = 'public'"
    "  AND NOT atcal_label_hidden(e.tenant_id, e.source_id, $3::jsonb))"
    "  ELSE 0 END)::text "
    "FROM users u WHERE u.tenant_id = $1 AND u.did = $2"
    " AND NOT atcal_label_hidden(u.tenant_id, u.did, $3::jsonb) "
    "ORDER BY u.is_shadow, u.id LIMIT 1";

static const char sql_shadows[] =
    "SELECT jsonb_build_object('did', u.did, 'handle', u.handle,"
    " 'slug', u.slug, 'displayName', coalesce(u.first_name, u.did),"
    " 'createdAt', " ISO_UTC("u.created_at") ")::text, u.id::text "
    "FROM users u WHERE u.tenant_id = $1 AND u.is_shadow AND u.id > $2"
    " AND NOT atcal_label_hidden(u.tenant_id, u.did, $4::jsonb) "
    "ORDER BY u.id LIMIT $3::int + 1";

/* Label values that hide a subject, as a JSON array (process-wide, set
 * once before the workers serve; see api_store_read_hide()). */
static const char	*hide_vals = "[\"!hide\",\"!takedown\"]";

void
api_store_read_hide(const char *vals_json)
{
	hide_vals = atc_xstrdup(vals_json);
}

/* First column of the first row as a new string, or NULL. */
static int
read_doc(struct atc_db *db, const char *sql, int nparams,
    const char *const *params, char **out, char *err, size_t errlen)
{
	struct atc_db_result	*res = NULL;
	const char		*v;

	*out = NULL;
	if (atc_db_query(db, sql, nparams, params, &res, err, errlen) == -1)
		return -1;
	if ((v = atc_db_result_value(res, 0, 0)) != NULL)
		*out = atc_xstrdup(v);
	atc_db_result_free(res);
	return 0;
}

/* {"<key>": [col 0 of up to limit rows], "cursor": col 1 of the last row
 * shown when another row follows, else null}. */
static int
read_page(struct atc_db *db, const char *sql, int nparams,
    const char *const *params, int limit, const char *key, char **out,
    char *err, size_t errlen)
{
	struct atc_db_result	*res = NULL;
	struct atc_buf		 b;
	const char		*v;
	int			 i, n;

	*out = NULL;
	if (atc_db_query(db, sql, nparams, params, &res, err, errlen) == -1)
		return -1;
	n = atc_db_result_nrows(res);
	atc_buf_init(&b, 4096);
	atc_buf_appendf(&b, "{\"%s\":[", key);
	for (i = 0; i < n && i < limit; i++) {
		if ((v = atc_db_result_value(res, i, 0)) == NULL)
			continue;
		if (i > 0)
			atc_buf_puts(&b, ",");
		atc_buf_puts(&b, v);
	}
	/* The cursor is digits and dots only: no escaping needed. */
	if (n > limit && (v = atc_db_result_value(res, limit - 1, 1)) != NULL)
		atc_buf_appendf(&b, "],\"cursor\":\"%s\"}", v);
	else
		atc_buf_puts(&b, "],\"cursor\":null}");
	*out = atc_xstrdup(atc_buf_cstr(&b));
	atc_buf_cleanup(&b);
	atc_db_result_free(res);
	return 0;
}

int
api_store_event_by_source(struct atc_db *db, const char *tenant,
    const char *source_type, const char *source_id, char **out, char *err,
    size_t errlen)
{
	const char	*p[4] = { tenant, source_type, source_id, hide_vals };

	return read_doc(db, sql_by_source, 4, p, out, err, errlen);
}

int
api_store_event_by_slug(struct atc_db *db, const char *tenant,
    const char *slug, char **out, char *err, size_t errlen)
{
	const char	*p[3] = { tenant, slug, hide_vals };

	return read_doc(db, sql_by_slug, 3, p, out, err, errlen);
}

int
api_store_events_list(struct atc_db *db, const char *tenant,
    const struct api_event_query *q, char **out, char *err, size_t errlen)
{
	const char	*p[11];
	char		 us[24], id[24], lim[16];

	(void)snprintf(us, sizeof(us), "%lld", q->after_us);
	(void)snprintf(id, sizeof(id), "%lld", q->after_id);
	(void)snprintf(lim, sizeof(lim), "%d", q->limit);
	p[0] = tenant;
	p[1] = q->from;
	p[2] = q->to;
	p[3] = q->status;
	p[4] = q->type;
	p[5] = q->creator;
	p[6] = q->text;
	p[7] = q->has_cursor ? us : NULL;
	p[8] = q->has_cursor ? id : NULL;
	p[9] = lim;
	p[10] = hide_vals;
	return read_page(db, sql_list, 11, p, q->limit, "events", out, err,
	    errlen);
}

int
api_store_attendees(struct atc_db *db, const char *tenant, const char *slug,
    char **out, char *err, size_t errlen)
{
	const char	*p[3] = { tenant, slug, hide_vals };

	return read_doc(db, sql_attendees, 3, p, out, err, errlen);
}

int
api_store_user(struct atc_db *db, const char *tenant, const char *did,
    char **out, char *err, size_t errlen)
{
	const char	*p[3] = { tenant, did, hide_vals };

	return read_doc(db, sql_user, 3, p, out, err, errlen);
}

int
api_store_shadows(struct atc_db *db, const char *tenant, long long after_id,
    int limit, char **out, char *err, size_t errlen)
{
	const char	*p[4];
	char		 id[24], lim[16];

	(void)snprintf(id, sizeof(id), "%lld", after_id);
	(void)snprintf(lim, sizeof(lim), "%d", limit);
	p[0] = tenant;
	p[1] = id;
	p[2] = lim;
	p[3] = hide_vals;
	return read_page(db, sql_shadows, 4, p, limit, "shadowAccounts", out,
	    err, errlen);
}
