-- Set-based write path (issues 4 and 9): same results as applying the
-- operations one by one (0007), at a fraction of the cost per operation.
--
-- Why: plpgsql caches a generic plan per statement and session. Planned
-- while the tables were nearly empty, the lookups of 0007 settled on an
-- index of tenant_id alone and filtered the rest, so every event write
-- scanned the tenant's events: writes got slower as the table grew. And a
-- batch cost one round of 5-10 statements per operation.
--
-- How: atcal_apply cuts the batch into segments of operations that cannot
-- see each other's effects (no shared record, rkey, RSVP or conflicting
-- handle; an RSVP may follow the event it names), in order, and applies a
-- segment with a dozen statements over the whole set (atcal_apply_set),
-- planned for the current table sizes (force_custom_plan: one planning per
-- segment, not per row). Dedup fallbacks (source url, slug, CID) look for
-- events not linked to a record (rkey NULL); event writes of a DID that
-- has such events, or that writes one, get a segment each, so lookups
-- never need the effects of a write in the same segment. Batches that
-- would fall into many small segments, and any segment that meets a
-- situation it does not handle (two operations resolving to one row, a
-- lost insert race), run through the 0007 functions one by one, now also
-- with custom plans.

CREATE INDEX IF NOT EXISTS events_author_unlinked_idx ON events (tenant_id,
    author_did) WHERE rkey IS NULL AND deleted_at IS NULL;

ALTER FUNCTION atcal_user(text, text, text)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION atcal_event_find(text, jsonb, boolean)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION atcal_event_put(text, jsonb)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION atcal_event_del(text, jsonb)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION atcal_rsvp_put(text, jsonb)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION atcal_rsvp_del(text, jsonb)
    SET plan_cache_mode = force_custom_plan;

-- Applies one segment: ops is an array of operation objects, none of which
-- needs to see another's writes except an RSVP its event's. Returns their
-- results in order, as 0007 words them. Raises SQLSTATE AT001 when the
-- segment needs the one by one path (the caller rolls the segment back).
-- Every row lookup is a scalar subquery, so it stays an index probe
-- whatever the planner thinks of the table sizes.
CREATE OR REPLACE FUNCTION atcal_apply_set(t text, ops jsonb)
RETURNS jsonb[]
LANGUAGE plpgsql AS $$
DECLARE
	mode	text := current_setting('plan_cache_mode');
	eid	bigint[];	-- per op: event found by the dedup chain
	meth	text[];		-- per op: how it was found
	crev	text[];		-- per op: that event's rev before writing
	cslug	text[];		-- per op: its slug before writing
	reid	bigint[];	-- per rsvp.put: its event, after event writes
	rgone	boolean[];	-- per rsvp.put: that event is a tombstone
	usr	jsonb;		-- {did: uid}, then {did: {uid, first}}
	made	text[];		-- DIDs whose shadow account this made
	lack	text[];		-- DIDs without a user row yet
	acur	jsonb;		-- {sourceId: {id, rev}}: attendees before
	ains	jsonb;		-- {sourceId: id}: attendees inserted
	nexp	bigint;
	nrow	bigint;
	res	jsonb[];
BEGIN
	-- Lookups are planned for the current table sizes; inserts keep
	-- the caller's mode, as the foreign key checks they fire run in it.
	PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
	-- 1. Dedup chain of each event op on the state before the segment
	-- (0007 atcal_event_find; the fallbacks for puts only).
	WITH x AS (SELECT n, o ->> 'op' IN ('event.put', 'event.del') AS isev,
	    o ->> 'op' = 'event.put' AS put, o ->> 'sourceType' AS st,
	    o ->> 'sourceId' AS sid, o ->> 'did' AS d, o ->> 'rkey' AS rk,
	    o ->> 'cid' AS cid, o,
	    jsonb_array_length(coalesce(o -> 'urls', '[]')) > 0 AS hasurl
	    FROM jsonb_array_elements(ops) WITH ORDINALITY a(o, n)),
	a AS MATERIALIZED (SELECT x.*, CASE WHEN isev THEN (SELECT id FROM events e
	    WHERE e.tenant_id = t AND e.source_type = x.st
	    AND e.source_id = x.sid) END AS sid_id,
	    CASE WHEN isev AND d IS NOT NULL AND rk IS NOT NULL THEN
	    (SELECT id FROM events e WHERE e.tenant_id = t
	    AND e.author_did = x.d AND e.rkey = x.rk
	    AND e.author_did IS NOT NULL AND e.rkey IS NOT NULL) END AS rk_id
	    FROM x),
	b AS MATERIALIZED (SELECT a.*, CASE WHEN put AND sid_id IS NULL AND d IS NOT NULL
	    AND rk_id IS NULL AND hasurl THEN (SELECT id FROM events e
	    WHERE e.tenant_id = t AND e.author_did = a.d AND e.rkey IS NULL
	    AND e.deleted_at IS NULL AND e.source_url IS NOT NULL
	    AND e.source_url = ANY (ARRAY(SELECT jsonb_array_elements_text(
	    a.o -> 'urls'))) ORDER BY id LIMIT 1) END AS url_id FROM a),
	c AS MATERIALIZED (SELECT b.*, CASE WHEN put AND sid_id IS NULL AND d IS NOT NULL
	    AND rk_id IS NULL AND hasurl AND url_id IS NULL THEN
	    (SELECT id FROM events e WHERE e.tenant_id = t
	    AND e.slug = ANY (ARRAY(SELECT jsonb_array_elements_text(
	    b.o -> 'slugs'))) AND e.author_did = b.d AND e.rkey IS NULL
	    AND e.deleted_at IS NULL ORDER BY id LIMIT 1) END AS slug_id
	    FROM b),
	f AS (SELECT c.*, CASE WHEN put AND sid_id IS NULL AND d IS NOT NULL
	    AND rk_id IS NULL AND url_id IS NULL AND slug_id IS NULL
	    AND cid IS NOT NULL THEN (SELECT id FROM events e
	    WHERE e.tenant_id = t AND e.author_did = c.d AND e.rkey IS NULL
	    AND e.deleted_at IS NULL AND e.cid IS NOT NULL AND e.cid = c.cid
	    ORDER BY id LIMIT 1) END AS cid_id FROM c)
	SELECT array_agg(coalesce(sid_id, url_id, slug_id, rk_id, cid_id)
	    ORDER BY n), array_agg(CASE WHEN sid_id IS NOT NULL THEN
	    'source_id' WHEN url_id IS NOT NULL THEN 'source_url'
	    WHEN slug_id IS NOT NULL THEN 'slug'
	    WHEN rk_id IS NOT NULL THEN 'rkey'
	    WHEN cid_id IS NOT NULL THEN 'cid' END ORDER BY n)
	INTO eid, meth FROM f;

	SELECT count(e), count(DISTINCT e) INTO nexp, nrow FROM unnest(eid) e;
	IF nexp <> nrow THEN
		RAISE SQLSTATE 'AT001' USING MESSAGE = 'two ops, one event';
	END IF;
	PERFORM 1 FROM events WHERE id = ANY (eid) FOR UPDATE;
	SELECT array_agg((SELECT rev FROM events WHERE id = e) ORDER BY n),
	    array_agg((SELECT slug FROM events WHERE id = e) ORDER BY n)
	INTO crev, cslug FROM unnest(eid) WITH ORDINALITY a(e, n);

	-- 2. Users of event authors (0007 atcal_user: every event put with a
	-- DID calls it, before its dedup), then 3. the event writes.
	SELECT array_agg(d) INTO lack FROM (SELECT DISTINCT o ->> 'did' AS d
	    FROM jsonb_array_elements(ops) o WHERE o ->> 'op' = 'event.put'
	    AND o ->> 'did' IS NOT NULL) s
	WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = t
	    AND u.did = s.d);
	PERFORM set_config('plan_cache_mode', mode, true);
	WITH need AS (SELECT DISTINCT ON (o ->> 'did') o ->> 'did' AS d,
	    o ->> 'handle' AS h FROM jsonb_array_elements(ops)
	    WITH ORDINALITY a(o, n) WHERE o ->> 'op' = 'event.put'
	    AND o ->> 'did' = ANY (lack) ORDER BY o ->> 'did', n),
	mk AS (INSERT INTO users (tenant_id, slug, did, handle, provider,
	    is_shadow, first_name)
	    SELECT t, 'bsky-' || left(md5(d), 20), d, h, 'bluesky', true,
	    coalesce(h, d) FROM need ON CONFLICT DO NOTHING RETURNING did)
	SELECT coalesce(array_agg(did), '{}') INTO made FROM mk;
	PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
	SELECT coalesce(jsonb_object_agg(d, (SELECT u.id FROM users u
	    WHERE u.tenant_id = t AND u.did = s.d ORDER BY u.is_shadow, u.id
	    LIMIT 1)), '{}') INTO usr
	FROM (SELECT DISTINCT o ->> 'did' AS d FROM jsonb_array_elements(ops) o
	    WHERE o ->> 'op' = 'event.put' AND o ->> 'did' IS NOT NULL) s;

	PERFORM set_config('plan_cache_mode', mode, true);
	WITH p AS (SELECT n, o FROM jsonb_array_elements(ops)
	    WITH ORDINALITY a(o, n)
	    WHERE o ->> 'op' = 'event.put' AND eid[n] IS NULL),
	i AS (INSERT INTO events (tenant_id, source_type, source_id,
	    slug, source_url, source_handle, source_metadata,
	    raw_record, creator_id, name, description, start_date,
	    end_date, type, status, visibility, locations, uris,
	    categories, rev, author_did, rkey, cid)
	    SELECT t, o ->> 'sourceType', o ->> 'sourceId',
	    atcal_event_slug(o ->> 'name', o ->> 'sourceType',
	    o ->> 'sourceId'), o ->> 'sourceUrl', o ->> 'handle',
	    coalesce(o -> 'metadata', '{}'), o -> 'rawRecord',
	    (usr ->> (o ->> 'did'))::bigint,
	    o ->> 'name', o ->> 'description',
	    (o ->> 'startDate')::timestamptz,
	    (o ->> 'endDate')::timestamptz, o ->> 'type',
	    o ->> 'status', o ->> 'visibility',
	    coalesce(o -> 'locations', '[]'),
	    coalesce(o -> 'uris', '[]'),
	    coalesce(o -> 'categories', '[]'), o ->> 'rev', o ->> 'did',
	    o ->> 'rkey', o ->> 'cid' FROM p ORDER BY n
	    ON CONFLICT DO NOTHING RETURNING 1)
	SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM p)
	INTO nrow, nexp;
	IF nrow <> nexp THEN
		RAISE SQLSTATE 'AT001' USING MESSAGE = 'event insert conflict';
	END IF;

	WITH p AS (SELECT n, o FROM jsonb_array_elements(ops)
	    WITH ORDINALITY a(o, n)
	    WHERE o ->> 'op' = 'event.del' AND eid[n] IS NULL),
	i AS (INSERT INTO events (tenant_id, source_type, source_id, slug,
	    rev, deleted_at, author_did, rkey)
	    SELECT t, o ->> 'sourceType', o ->> 'sourceId', 'deleted-' ||
	    md5((o ->> 'sourceType') || ':' || (o ->> 'sourceId')),
	    o ->> 'rev', now(), o ->> 'did', o ->> 'rkey' FROM p ORDER BY n
	    ON CONFLICT DO NOTHING RETURNING 1)
	SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM p)
	INTO nrow, nexp;
	IF nrow <> nexp THEN
		RAISE SQLSTATE 'AT001' USING MESSAGE = 'tombstone conflict';
	END IF;
	PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);

	UPDATE events e SET
	    slug = atcal_event_slug(o ->> 'name', e.source_type,
		e.source_id),
	    source_url = o ->> 'sourceUrl',
	    source_handle = coalesce(o ->> 'handle', e.source_handle),
	    source_metadata = coalesce(o -> 'metadata', '{}'),
	    raw_record = o -> 'rawRecord',
	    creator_id = coalesce((usr ->> (o ->> 'did'))::bigint,
		e.creator_id),
	    name = o ->> 'name', description = o ->> 'description',
	    start_date = (o ->> 'startDate')::timestamptz,
	    end_date = (o ->> 'endDate')::timestamptz,
	    type = o ->> 'type', status = o ->> 'status',
	    visibility = o ->> 'visibility',
	    locations = coalesce(o -> 'locations', '[]'),
	    uris = coalesce(o -> 'uris', '[]'),
	    categories = coalesce(o -> 'categories', '[]'),
	    rev = coalesce(o ->> 'rev', e.rev),
	    author_did = coalesce(e.author_did, o ->> 'did'),
	    rkey = coalesce(e.rkey, o ->> 'rkey'),
	    cid = coalesce(o ->> 'cid', e.cid),
	    deleted_at = NULL, updated_at = now()
	FROM (SELECT n, o FROM jsonb_array_elements(ops) WITH ORDINALITY
	    a(o, n) WHERE o ->> 'op' = 'event.put' AND eid[n] IS NOT NULL
	    AND atcal_rev_newer(o ->> 'rev', crev[n])) p
	WHERE e.id = eid[p.n];

	UPDATE events e SET deleted_at = coalesce(e.deleted_at, now()),
	    slug = 'deleted-' || md5(e.source_type || ':' || e.source_id),
	    rev = coalesce(o ->> 'rev', e.rev), updated_at = now(),
	    source_url = NULL, source_handle = NULL, source_metadata = '{}',
	    raw_record = NULL, creator_id = NULL, name = NULL,
	    description = NULL, start_date = NULL, end_date = NULL,
	    type = NULL, status = NULL, visibility = NULL, locations = '[]',
	    uris = '[]', categories = '[]', cid = NULL
	FROM (SELECT n, o FROM jsonb_array_elements(ops) WITH ORDINALITY
	    a(o, n) WHERE o ->> 'op' = 'event.del' AND eid[n] IS NOT NULL
	    AND atcal_rev_newer(o ->> 'rev', crev[n])) p
	WHERE e.id = eid[p.n];

	-- 4. The event of each RSVP, after the event writes (an RSVP may
	-- follow its event's write in a segment, never precede it).
	SELECT array_agg(v ORDER BY n), array_agg((SELECT deleted_at IS NOT NULL
	    FROM events WHERE id = v) ORDER BY n) INTO reid, rgone
	FROM (SELECT n, CASE WHEN o ->> 'op' = 'rsvp.put' THEN
	    coalesce((SELECT id FROM events e WHERE e.tenant_id = t
	    AND e.source_type = o ->> 'eventSourceType'
	    AND e.source_id = o ->> 'eventSourceId'),
	    CASE WHEN o ->> 'eventDid' IS NOT NULL THEN (SELECT id
	    FROM events e WHERE e.tenant_id = t
	    AND e.author_did = o ->> 'eventDid' AND e.rkey = o ->> 'eventRkey'
	    AND e.author_did IS NOT NULL AND e.rkey IS NOT NULL) END) END AS v
	    FROM jsonb_array_elements(ops) WITH ORDINALITY a(o, n)) s;

	-- 5. Users of the RSVPs that found their event; the handle of every
	-- user an op reached (a segment holds at most one handle per DID, so
	-- one update gives the state the ops one by one would).
	SELECT array_agg(d) INTO lack FROM (SELECT DISTINCT o ->> 'did' AS d
	    FROM jsonb_array_elements(ops) WITH ORDINALITY a(o, n)
	    WHERE o ->> 'op' = 'rsvp.put' AND reid[n] IS NOT NULL
	    AND o ->> 'did' IS NOT NULL) s
	WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = t
	    AND u.did = s.d);
	PERFORM set_config('plan_cache_mode', mode, true);
	WITH need AS (SELECT DISTINCT ON (o ->> 'did') o ->> 'did' AS d,
	    o ->> 'handle' AS h FROM jsonb_array_elements(ops)
	    WITH ORDINALITY a(o, n) WHERE o ->> 'op' = 'rsvp.put'
	    AND reid[n] IS NOT NULL AND o ->> 'did' = ANY (lack)
	    ORDER BY o ->> 'did', n),
	mk AS (INSERT INTO users (tenant_id, slug, did, handle, provider,
	    is_shadow, first_name)
	    SELECT t, 'bsky-' || left(md5(d), 20), d, h, 'bluesky', true,
	    coalesce(h, d) FROM need ON CONFLICT DO NOTHING RETURNING did)
	SELECT made || coalesce(array_agg(did), '{}') INTO made FROM mk;
	PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);

	WITH reach AS (SELECT n, o ->> 'did' AS d, o ->> 'handle' AS h
	    FROM jsonb_array_elements(ops) WITH ORDINALITY a(o, n)
	    WHERE o ->> 'did' IS NOT NULL AND (o ->> 'op' = 'event.put'
	    OR (o ->> 'op' = 'rsvp.put' AND reid[n] IS NOT NULL))),
	pick AS (SELECT d, min(n) AS first, max(h) AS h, (SELECT u.id
	    FROM users u WHERE u.tenant_id = t AND u.did = reach.d
	    ORDER BY u.is_shadow, u.id LIMIT 1) AS uid FROM reach GROUP BY d),
	hu AS (UPDATE users u SET handle = pick.h, first_name = CASE
	    WHEN u.first_name IS NULL OR u.first_name = u.did
	    OR u.first_name = u.handle THEN pick.h ELSE u.first_name END,
	    updated_at = now()
	    FROM pick WHERE pick.h IS NOT NULL AND u.id = pick.uid
	    AND u.is_shadow AND u.handle IS DISTINCT FROM pick.h)
	SELECT coalesce(jsonb_object_agg(d, jsonb_build_object('uid', uid,
	    'first', first)), '{}') INTO usr FROM pick;
	IF EXISTS (SELECT 1 FROM jsonb_each(usr) WHERE value ->> 'uid' IS NULL)
	THEN
		RAISE SQLSTATE 'AT001' USING MESSAGE = 'no user row';
	END IF;

	-- 6. RSVP writes.
	SELECT coalesce(jsonb_object_agg(source_id, jsonb_build_object('id',
	    id, 'rev', rev)), '{}') INTO acur
	FROM (SELECT a.source_id, a.id, a.rev FROM attendees a
	    WHERE a.tenant_id = t AND a.source_id = ANY (ARRAY(
	    SELECT o ->> 'sourceId' FROM jsonb_array_elements(ops) o
	    WHERE o ->> 'op' IN ('rsvp.put', 'rsvp.del'))) FOR UPDATE OF a) s;

	PERFORM set_config('plan_cache_mode', mode, true);
	WITH p AS (SELECT n, o FROM jsonb_array_elements(ops)
	    WITH ORDINALITY a(o, n)
	    WHERE NOT acur ? (o ->> 'sourceId') AND (o ->> 'op' = 'rsvp.del'
	    OR (o ->> 'op' = 'rsvp.put' AND reid[n] IS NOT NULL))),
	i AS (INSERT INTO attendees (tenant_id, source_type, source_id,
	    event_id, user_id, status, attendee_status, event_source_id,
	    metadata, rev, deleted_at)
	    SELECT t, o ->> 'sourceType', o ->> 'sourceId', reid[n],
	    CASE WHEN o ->> 'op' = 'rsvp.put' THEN (usr -> (o ->> 'did')
	    ->> 'uid')::bigint END, o ->> 'status',
	    o ->> 'attendeeStatus', o ->> 'eventSourceId',
	    coalesce(o -> 'metadata', '{}'), o ->> 'rev',
	    CASE WHEN o ->> 'op' = 'rsvp.del' THEN now() END
	    FROM p ORDER BY n ON CONFLICT DO NOTHING
	    RETURNING source_id, id)
	SELECT coalesce(jsonb_object_agg(source_id, id), '{}'),
	    count(*), (SELECT count(*) FROM p) INTO ains, nrow, nexp FROM i;
	IF nrow <> nexp THEN
		RAISE SQLSTATE 'AT001' USING MESSAGE = 'rsvp insert conflict';
	END IF;
	PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);

	UPDATE attendees a SET source_type = o ->> 'sourceType',
	    event_id = reid[p.n],
	    user_id = (usr -> (o ->> 'did') ->> 'uid')::bigint,
	    status = o ->> 'status', attendee_status = o ->> 'attendeeStatus',
	    event_source_id = o ->> 'eventSourceId',
	    metadata = coalesce(o -> 'metadata', '{}'),
	    rev = coalesce(o ->> 'rev', a.rev), deleted_at = NULL,
	    updated_at = now()
	FROM (SELECT n, o, (acur -> (o ->> 'sourceId') ->> 'id')::bigint AS id
	    FROM jsonb_array_elements(ops) WITH ORDINALITY a(o, n)
	    WHERE o ->> 'op' = 'rsvp.put' AND reid[n] IS NOT NULL
	    AND acur ? (o ->> 'sourceId') AND atcal_rev_newer(o ->> 'rev',
	    acur -> (o ->> 'sourceId') ->> 'rev')) p
	WHERE a.id = p.id;

	UPDATE attendees a SET deleted_at = coalesce(a.deleted_at, now()),
	    rev = coalesce(o ->> 'rev', a.rev), updated_at = now(),
	    event_id = NULL, user_id = NULL, status = NULL,
	    attendee_status = NULL, event_source_id = NULL, metadata = '{}'
	FROM (SELECT o, (acur -> (o ->> 'sourceId') ->> 'id')::bigint AS id
	    FROM jsonb_array_elements(ops) o WHERE o ->> 'op' = 'rsvp.del'
	    AND acur ? (o ->> 'sourceId') AND atcal_rev_newer(o ->> 'rev',
	    acur -> (o ->> 'sourceId') ->> 'rev')) p
	WHERE a.id = p.id;

	-- 7. One result per op, worded as 0007 words them.
	SELECT array_agg(CASE o ->> 'op'
	WHEN 'event.put' THEN jsonb_build_object('status', 202,
	    'applied', eid[n] IS NULL OR atcal_rev_newer(o ->> 'rev', crev[n]),
	    'method', coalesce(meth[n], 'none'),
	    'shadowCreated', coalesce(o ->> 'did' = ANY (made)
	    AND (usr -> (o ->> 'did') ->> 'first')::bigint = n, false),
	    'slug', CASE WHEN eid[n] IS NULL THEN atcal_event_slug(
	    o ->> 'name', o ->> 'sourceType', o ->> 'sourceId')
	    WHEN atcal_rev_newer(o ->> 'rev', crev[n]) THEN (SELECT slug
	    FROM events WHERE id = eid[n]) ELSE cslug[n] END)
	WHEN 'event.del' THEN CASE WHEN eid[n] IS NULL THEN
	    jsonb_build_object('status', 202, 'applied', true)
	    ELSE jsonb_build_object('status', 202, 'applied',
	    atcal_rev_newer(o ->> 'rev', crev[n]), 'slug', cslug[n]) END
	WHEN 'rsvp.put' THEN CASE WHEN reid[n] IS NULL THEN
	    jsonb_build_object('status', 424, 'applied', false)
	    ELSE jsonb_build_object('status', 202, 'applied',
	    NOT acur ? (o ->> 'sourceId') OR atcal_rev_newer(o ->> 'rev',
	    acur -> (o ->> 'sourceId') ->> 'rev'),
	    'attendeeId', coalesce(acur -> (o ->> 'sourceId') ->> 'id',
	    ains ->> (o ->> 'sourceId'))::bigint,
	    'eventDeleted', rgone[n],
	    'shadowCreated', o ->> 'did' = ANY (made)
	    AND (usr -> (o ->> 'did') ->> 'first')::bigint = n) END
	WHEN 'rsvp.del' THEN jsonb_build_object('status', 202, 'applied',
	    NOT acur ? (o ->> 'sourceId') OR atcal_rev_newer(o ->> 'rev',
	    acur -> (o ->> 'sourceId') ->> 'rev'),
	    'attendeeId', coalesce(acur -> (o ->> 'sourceId') ->> 'id',
	    ains ->> (o ->> 'sourceId'))::bigint)
	ELSE jsonb_build_object('status', 400, 'error', 'unknown_op') END
	ORDER BY n) INTO res
	FROM jsonb_array_elements(ops) WITH ORDINALITY a(o, n);
	PERFORM set_config('plan_cache_mode', mode, true);
	RETURN res;
END $$;

-- Same contract as 0007: applies ops for tenant t in the caller's
-- transaction, one result per op, in order, locks of every DID first.
CREATE OR REPLACE FUNCTION atcal_apply(t text, ops jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	mode	text := current_setting('plan_cache_mode');
	nops	int := jsonb_array_length(ops);
	prev	int[];	-- latest earlier op this one may not share a segment with
	starts	int[] := '{}';
	seg	jsonb;
	res	jsonb[];
	item	jsonb;
	i	int;
	lo	int;
	hi	int;
BEGIN
	PERFORM pg_advisory_xact_lock(k) FROM (SELECT DISTINCT
	    hashtextextended(t || chr(10) || (x ->> 'lock'), 7305271802) AS k
	    FROM jsonb_array_elements(ops) x WHERE x ->> 'lock' IS NOT NULL
	    ORDER BY 1) s;
	-- Conflict keys: w marks a key the op writes. An op conflicts with the
	-- latest earlier op sharing a key it writes (an RSVP only reads its
	-- event's keys, so it may follow the event write in one segment).
	PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
	WITH x AS MATERIALIZED (SELECT n::int AS n, o ->> 'op' AS op,
	    o ->> 'did' AS d, o ->> 'handle' AS h, o
	    FROM jsonb_array_elements(ops) WITH ORDINALITY a(o, n)),
	hd AS (SELECT d FROM x WHERE op IN ('event.put', 'rsvp.put')
	    AND h IS NOT NULL GROUP BY d HAVING count(DISTINCT h) > 1),
	sens AS (SELECT DISTINCT d FROM x WHERE op IN ('event.put',
	    'event.del') AND d IS NOT NULL AND ((op = 'event.put'
	    AND o ->> 'rkey' IS NULL) OR EXISTS (SELECT 1 FROM events e
	    WHERE e.tenant_id = t AND e.author_did = x.d AND e.rkey IS NULL
	    AND e.deleted_at IS NULL))),
	k AS (SELECT n, v.k, v.w FROM x, LATERAL (VALUES
	    (CASE WHEN op IN ('event.put', 'event.del') THEN 'E|' ||
	    (o ->> 'sourceType') || ' ' || (o ->> 'sourceId') END, true),
	    (CASE WHEN op IN ('event.put', 'event.del') THEN 'K|' || d ||
	    ' ' || (o ->> 'rkey') END, true),
	    (CASE WHEN op IN ('event.put', 'event.del') AND d IN (SELECT d
	    FROM sens) THEN 'F|' || d END, true),
	    (CASE WHEN op IN ('rsvp.put', 'rsvp.del') THEN 'R|' ||
	    (o ->> 'sourceId') END, true),
	    (CASE WHEN op = 'rsvp.put' THEN 'E|' || (o ->> 'eventSourceType')
	    || ' ' || (o ->> 'eventSourceId') END, false),
	    (CASE WHEN op = 'rsvp.put' THEN 'K|' || (o ->> 'eventDid') || ' '
	    || (o ->> 'eventRkey') END, false),
	    (CASE WHEN op IN ('event.put', 'rsvp.put') AND h IS NOT NULL
	    AND d IN (SELECT d FROM hd) THEN 'H|' || d END, true)) v(k, w)
	    WHERE v.k IS NOT NULL),
	l AS (SELECT n, w, lag(n) OVER (PARTITION BY k ORDER BY n) AS p
	    FROM k)
	SELECT array_agg(coalesce(c, 0) ORDER BY x.n) INTO prev
	FROM x LEFT JOIN (SELECT n, max(p) FILTER (WHERE w) AS c FROM l
	    GROUP BY n) m ON m.n = x.n;
	PERFORM set_config('plan_cache_mode', mode, true);
	lo := 1;
	FOR i IN 1 .. nops LOOP
		IF i = 1 OR prev[i] >= lo THEN
			starts := starts || i;
			lo := i;
		END IF;
	END LOOP;
	-- A segment costs about as much as ten single ops applied one by
	-- one: use segments where they are few.
	IF nops > 0 AND cardinality(starts) * 10 <= nops THEN
		BEGIN
			res := '{}';
			FOR i IN 1 .. cardinality(starts) LOOP
				lo := starts[i];
				hi := coalesce(starts[i + 1] - 1, nops);
				SELECT jsonb_agg(a.o ORDER BY a.n) INTO seg
				FROM jsonb_array_elements(ops) WITH ORDINALITY
				    a(o, n) WHERE a.n BETWEEN lo AND hi;
				res := res || atcal_apply_set(t, seg);
			END LOOP;
			RETURN to_jsonb(res);
		EXCEPTION WHEN SQLSTATE 'AT001' THEN
			NULL;
		END;
	END IF;
	res := '{}';
	FOR item IN SELECT value FROM jsonb_array_elements(ops) LOOP
		res := array_append(res, CASE item ->> 'op'
		    WHEN 'event.put' THEN atcal_event_put(t, item)
		    WHEN 'event.del' THEN atcal_event_del(t, item)
		    WHEN 'rsvp.put' THEN atcal_rsvp_put(t, item)
		    WHEN 'rsvp.del' THEN atcal_rsvp_del(t, item)
		    ELSE jsonb_build_object('status', 400, 'error',
			'unknown_op') END);
	END LOOP;
	RETURN to_jsonb(res);
END $$;
