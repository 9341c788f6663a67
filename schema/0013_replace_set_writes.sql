-- Set-based write path, second version (issues 4 and 9): the same results
-- as 0010 and as the operations one by one (0007), for less work per
-- operation.
--
-- Measured on 0010 (pg_stat_statements and perf on the backend): most of a
-- segment's time went to walking the operations again in every statement
-- (jsonb_array_elements and ->> on each of ~20 statements), to statements
-- run for kinds of operation the segment does not hold, and to building a
-- jsonb copy of each segment. Here:
-- - each segment reads its operations' keys once, into arrays indexed by
--   the operation's position n (plpgsql keeps them expanded, so a[n] is a
--   constant-time lookup), and reaches an operation's body as
--   ops -> (b + n) only where a write needs it;
-- - a segment is a range lo..hi of the batch, not a copy;
-- - a step runs only when the segment holds operations it applies to;
-- - user rows are found and made in one statement per step, the found
--   events' rows locked and read in one.
-- - every row lookup is a correlated scalar subquery (or LATERAL), so it
--   stays an index probe however stale the statistics are: 0010's NOT
--   EXISTS for users without a row became, on a users table that had
--   grown since its last ANALYZE, a scan of the tenant's users for every
--   DID of the batch (a third of a batch's time in the end-to-end bench).
-- Contract unchanged: results in order, worded as 0007 words them; SQLSTATE
-- AT001 sends the batch to the one by one path.

DROP FUNCTION IF EXISTS atcal_apply_set(text, jsonb);

CREATE FUNCTION atcal_apply_set(t text, ops jsonb, lo int, hi int)
RETURNS jsonb[]
LANGUAGE plpgsql AS $$
DECLARE
	mode	text := current_setting('plan_cache_mode');
	b	int := lo - 2;	-- ops -> (b + n): operation n (from 1)
	nops	int := hi - lo + 1;
	-- Keys of operation n, read once.
	k_op	text[];
	k_d	text[];		-- did
	k_h	text[];		-- handle
	k_st	text[];		-- sourceType
	k_sid	text[];		-- sourceId
	k_rk	text[];		-- rkey
	k_cid	text[];
	k_rev	text[];
	k_est	text[];		-- eventSourceType
	k_esid	text[];		-- eventSourceId
	k_edid	text[];		-- eventDid
	k_erk	text[];		-- eventRkey
	k_url	boolean[];	-- has dedup urls
	nput	int;		-- event.put operations
	ndel	int;		-- event.del
	nrput	int;		-- rsvp.put
	nrdel	int;		-- rsvp.del
	eid	bigint[];	-- per op: event found by the dedup chain
	meth	text[];		-- per op: how it was found
	crev	text[];		-- per op: that event's rev before writing
	cslug	text[];		-- per op: its slug before writing
	reid	bigint[];	-- per rsvp.put: its event, after event writes
	rgone	boolean[];	-- per rsvp.put: that event is a tombstone
	usr	jsonb := '{}';	-- {did: uid}, then {did: {uid, first}}
	made	text[] := '{}';	-- DIDs whose shadow account this made
	acur	jsonb := '{}';	-- {sourceId: {id, rev}}: attendees before
	ains	jsonb := '{}';	-- {sourceId: id}: attendees inserted
	nexp	bigint;
	nrow	bigint;
	res	jsonb[];
BEGIN
	-- Lookups are planned for the current table sizes; inserts keep
	-- the caller's mode, as the foreign key checks they fire run in it.
	PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
	SELECT array_agg(o ->> 'op' ORDER BY n), array_agg(o ->> 'did' ORDER BY n),
	    array_agg(o ->> 'handle' ORDER BY n),
	    array_agg(o ->> 'sourceType' ORDER BY n),
	    array_agg(o ->> 'sourceId' ORDER BY n),
	    array_agg(o ->> 'rkey' ORDER BY n), array_agg(o ->> 'cid' ORDER BY n),
	    array_agg(o ->> 'rev' ORDER BY n),
	    array_agg(o ->> 'eventSourceType' ORDER BY n),
	    array_agg(o ->> 'eventSourceId' ORDER BY n),
	    array_agg(o ->> 'eventDid' ORDER BY n),
	    array_agg(o ->> 'eventRkey' ORDER BY n),
	    array_agg(jsonb_array_length(coalesce(o -> 'urls', '[]')) > 0
		ORDER BY n),
	    count(*) FILTER (WHERE o ->> 'op' = 'event.put'),
	    count(*) FILTER (WHERE o ->> 'op' = 'event.del'),
	    count(*) FILTER (WHERE o ->> 'op' = 'rsvp.put'),
	    count(*) FILTER (WHERE o ->> 'op' = 'rsvp.del')
	INTO k_op, k_d, k_h, k_st, k_sid, k_rk, k_cid, k_rev, k_est, k_esid,
	    k_edid, k_erk, k_url, nput, ndel, nrput, nrdel
	FROM generate_series(1, nops) n, LATERAL (SELECT ops -> (b + n) AS o) x;

	IF nput + ndel > 0 THEN
		-- 1. Dedup chain of each event op on the state before the
		-- segment (0007 atcal_event_find; fallbacks for puts only).
		WITH x AS (SELECT n, k_op[n] IN ('event.put', 'event.del')
		    AS isev, k_op[n] = 'event.put' AS put, k_st[n] AS st,
		    k_sid[n] AS sid, k_d[n] AS d, k_rk[n] AS rk,
		    k_cid[n] AS cid, k_url[n] AS hasurl
		    FROM generate_series(1, nops) n),
		a AS MATERIALIZED (SELECT x.*, CASE WHEN isev THEN (SELECT id
		    FROM events e WHERE e.tenant_id = t AND e.source_type = x.st
		    AND e.source_id = x.sid) END AS sid_id,
		    CASE WHEN isev AND d IS NOT NULL AND rk IS NOT NULL THEN
		    (SELECT id FROM events e WHERE e.tenant_id = t
		    AND e.author_did = x.d AND e.rkey = x.rk
		    AND e.author_did IS NOT NULL AND e.rkey IS NOT NULL) END
		    AS rk_id FROM x),
		bb AS MATERIALIZED (SELECT a.*, CASE WHEN put AND sid_id IS NULL
		    AND d IS NOT NULL AND rk_id IS NULL AND hasurl THEN
		    (SELECT id FROM events e WHERE e.tenant_id = t
		    AND e.author_did = a.d AND e.rkey IS NULL
		    AND e.deleted_at IS NULL AND e.source_url IS NOT NULL
		    AND e.source_url = ANY (ARRAY(SELECT
		    jsonb_array_elements_text(ops -> (b + a.n) -> 'urls')))
		    ORDER BY id LIMIT 1) END AS url_id FROM a),
		c AS MATERIALIZED (SELECT bb.*, CASE WHEN put AND sid_id IS NULL
		    AND d IS NOT NULL AND rk_id IS NULL AND hasurl
		    AND url_id IS NULL THEN (SELECT id FROM events e
		    WHERE e.tenant_id = t AND e.slug = ANY (ARRAY(SELECT
		    jsonb_array_elements_text(ops -> (b + bb.n) -> 'slugs')))
		    AND e.author_did = bb.d AND e.rkey IS NULL
		    AND e.deleted_at IS NULL ORDER BY id LIMIT 1) END AS slug_id
		    FROM bb),
		f AS (SELECT c.*, CASE WHEN put AND sid_id IS NULL
		    AND d IS NOT NULL AND rk_id IS NULL AND url_id IS NULL
		    AND slug_id IS NULL AND cid IS NOT NULL THEN (SELECT id
		    FROM events e WHERE e.tenant_id = t AND e.author_did = c.d
		    AND e.rkey IS NULL AND e.deleted_at IS NULL
		    AND e.cid IS NOT NULL AND e.cid = c.cid ORDER BY id LIMIT 1)
		    END AS cid_id FROM c)
		SELECT array_agg(coalesce(sid_id, url_id, slug_id, rk_id, cid_id)
		    ORDER BY n), array_agg(CASE WHEN sid_id IS NOT NULL THEN
		    'source_id' WHEN url_id IS NOT NULL THEN 'source_url'
		    WHEN slug_id IS NOT NULL THEN 'slug'
		    WHEN rk_id IS NOT NULL THEN 'rkey'
		    WHEN cid_id IS NOT NULL THEN 'cid' END ORDER BY n)
		INTO eid, meth FROM f;

		SELECT count(e), count(DISTINCT e) INTO nexp, nrow
		FROM unnest(eid) e;
		IF nexp <> nrow THEN
			RAISE SQLSTATE 'AT001' USING MESSAGE = 'two ops, one event';
		END IF;
		-- The found events, locked, and their rev and slug.
		IF nexp > 0 THEN
			SELECT array_agg(r.rev ORDER BY n),
			    array_agg(r.slug ORDER BY n) INTO crev, cslug
			FROM unnest(eid) WITH ORDINALITY u(e, n)
			LEFT JOIN LATERAL (SELECT rev, slug FROM events
			    WHERE id = u.e FOR UPDATE) r ON true;
		END IF;
	END IF;

	IF nput > 0 THEN
		-- 2. Users of event authors (0007 atcal_user: every event put
		-- with a DID calls it, before its dedup): found or made in one
		-- statement, the first op's handle for a new one (users has
		-- no foreign keys, so its inserts run planned as lookups).
		WITH dids AS (SELECT DISTINCT ON (k_d[n]) k_d[n] AS d,
		    k_h[n] AS h FROM generate_series(1, nops) n
		    WHERE k_op[n] = 'event.put' AND k_d[n] IS NOT NULL
		    ORDER BY k_d[n], n),
		have AS (SELECT d, h, (SELECT u.id FROM users u
		    WHERE u.tenant_id = t AND u.did = dids.d
		    ORDER BY u.is_shadow, u.id LIMIT 1) AS uid FROM dids),
		mk AS (INSERT INTO users (tenant_id, slug, did, handle,
		    provider, is_shadow, first_name)
		    SELECT t, 'bsky-' || left(md5(d), 20), d, h, 'bluesky',
		    true, coalesce(h, d) FROM have WHERE uid IS NULL
		    ON CONFLICT DO NOTHING RETURNING did, id)
		SELECT coalesce(jsonb_object_agg(have.d, coalesce(have.uid,
		    mk.id)), '{}'), coalesce(array_agg(mk.did)
		    FILTER (WHERE mk.did IS NOT NULL), '{}')
		INTO usr, made FROM have LEFT JOIN mk ON mk.did = have.d;
		IF EXISTS (SELECT 1 FROM jsonb_each(usr)
		    WHERE value = 'null') THEN
			RAISE SQLSTATE 'AT001' USING MESSAGE = 'no user row';
		END IF;

		-- 3. The event writes: new events, then found ones.
		PERFORM set_config('plan_cache_mode', mode, true);
		IF EXISTS (SELECT 1 FROM generate_series(1, nops) n
		    WHERE k_op[n] = 'event.put' AND eid[n] IS NULL) THEN
			WITH p AS (SELECT n, ops -> (b + n) AS o
			    FROM generate_series(1, nops) n
			    WHERE k_op[n] = 'event.put' AND eid[n] IS NULL),
			i AS (INSERT INTO events (tenant_id, source_type,
			    source_id, slug, source_url, source_handle,
			    source_metadata, raw_record, creator_id, name,
			    description, start_date, end_date, type, status,
			    visibility, locations, uris, categories, rev,
			    author_did, rkey, cid)
			    SELECT t, k_st[n], k_sid[n],
			    atcal_event_slug(o ->> 'name', k_st[n], k_sid[n]),
			    o ->> 'sourceUrl', k_h[n],
			    coalesce(o -> 'metadata', '{}'), o -> 'rawRecord',
			    (usr ->> k_d[n])::bigint, o ->> 'name',
			    o ->> 'description',
			    (o ->> 'startDate')::timestamptz,
			    (o ->> 'endDate')::timestamptz, o ->> 'type',
			    o ->> 'status', o ->> 'visibility',
			    coalesce(o -> 'locations', '[]'),
			    coalesce(o -> 'uris', '[]'),
			    coalesce(o -> 'categories', '[]'), k_rev[n],
			    k_d[n], k_rk[n], k_cid[n] FROM p ORDER BY n
			    ON CONFLICT DO NOTHING RETURNING 1)
			SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM p)
			INTO nrow, nexp;
			IF nrow <> nexp THEN
				RAISE SQLSTATE 'AT001' USING MESSAGE =
				    'event insert conflict';
			END IF;
		END IF;
		PERFORM set_config('plan_cache_mode', 'force_custom_plan',
		    true);
		UPDATE events e SET
		    slug = atcal_event_slug(o ->> 'name', e.source_type,
			e.source_id),
		    source_url = o ->> 'sourceUrl',
		    source_handle = coalesce(k_h[p.n], e.source_handle),
		    source_metadata = coalesce(o -> 'metadata', '{}'),
		    raw_record = o -> 'rawRecord',
		    creator_id = coalesce((usr ->> k_d[p.n])::bigint,
			e.creator_id),
		    name = o ->> 'name', description = o ->> 'description',
		    start_date = (o ->> 'startDate')::timestamptz,
		    end_date = (o ->> 'endDate')::timestamptz,
		    type = o ->> 'type', status = o ->> 'status',
		    visibility = o ->> 'visibility',
		    locations = coalesce(o -> 'locations', '[]'),
		    uris = coalesce(o -> 'uris', '[]'),
		    categories = coalesce(o -> 'categories', '[]'),
		    rev = coalesce(k_rev[p.n], e.rev),
		    author_did = coalesce(e.author_did, k_d[p.n]),
		    rkey = coalesce(e.rkey, k_rk[p.n]),
		    cid = coalesce(k_cid[p.n], e.cid),
		    deleted_at = NULL, updated_at = now()
		FROM (SELECT n, ops -> (b + n) AS o
		    FROM generate_series(1, nops) n
		    WHERE k_op[n] = 'event.put' AND eid[n] IS NOT NULL
		    AND atcal_rev_newer(k_rev[n], crev[n])) p
		WHERE e.id = eid[p.n];
	END IF;

	IF ndel > 0 THEN
		-- Deletes: a tombstone for an unknown record, else the row
		-- emptied into one.
		PERFORM set_config('plan_cache_mode', mode, true);
		WITH p AS (SELECT n FROM generate_series(1, nops) n
		    WHERE k_op[n] = 'event.del' AND eid[n] IS NULL),
		i AS (INSERT INTO events (tenant_id, source_type, source_id,
		    slug, rev, deleted_at, author_did, rkey)
		    SELECT t, k_st[n], k_sid[n], 'deleted-' ||
		    md5(k_st[n] || ':' || k_sid[n]), k_rev[n], now(), k_d[n],
		    k_rk[n] FROM p ORDER BY n
		    ON CONFLICT DO NOTHING RETURNING 1)
		SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM p)
		INTO nrow, nexp;
		IF nrow <> nexp THEN
			RAISE SQLSTATE 'AT001' USING MESSAGE =
			    'tombstone conflict';
		END IF;
		PERFORM set_config('plan_cache_mode', 'force_custom_plan',
		    true);
		UPDATE events e SET deleted_at = coalesce(e.deleted_at, now()),
		    slug = 'deleted-' || md5(e.source_type || ':' || e.source_id),
		    rev = coalesce(k_rev[p.n], e.rev), updated_at = now(),
		    source_url = NULL, source_handle = NULL,
		    source_metadata = '{}', raw_record = NULL,
		    creator_id = NULL, name = NULL, description = NULL,
		    start_date = NULL, end_date = NULL, type = NULL,
		    status = NULL, visibility = NULL, locations = '[]',
		    uris = '[]', categories = '[]', cid = NULL
		FROM (SELECT n FROM generate_series(1, nops) n
		    WHERE k_op[n] = 'event.del' AND eid[n] IS NOT NULL
		    AND atcal_rev_newer(k_rev[n], crev[n])) p
		WHERE e.id = eid[p.n];
	END IF;

	IF nrput > 0 THEN
		-- 4. The event of each RSVP, after the event writes (an RSVP
		-- may follow its event's write in a segment, never precede it).
		SELECT array_agg(v ORDER BY n), array_agg((SELECT
		    deleted_at IS NOT NULL FROM events WHERE id = v) ORDER BY n)
		INTO reid, rgone
		FROM (SELECT n, CASE WHEN k_op[n] = 'rsvp.put' THEN
		    coalesce((SELECT id FROM events e WHERE e.tenant_id = t
		    AND e.source_type = k_est[n]
		    AND e.source_id = k_esid[n]),
		    CASE WHEN k_edid[n] IS NOT NULL THEN (SELECT id
		    FROM events e WHERE e.tenant_id = t
		    AND e.author_did = k_edid[n] AND e.rkey = k_erk[n]
		    AND e.author_did IS NOT NULL AND e.rkey IS NOT NULL) END)
		    END AS v FROM generate_series(1, nops) n) s;
	END IF;

	IF nput + nrput > 0 THEN
		-- 5. Users of the RSVPs that found their event, made as in
		-- step 2; then the handle of every user an op reached (a
		-- segment holds at most one handle per DID, so one update
		-- gives the state the ops one by one would).
		IF nrput > 0 THEN
			WITH dids AS (SELECT DISTINCT ON (k_d[n]) k_d[n] AS d,
			    k_h[n] AS h FROM generate_series(1, nops) n
			    WHERE k_op[n] = 'rsvp.put' AND reid[n] IS NOT NULL
			    AND k_d[n] IS NOT NULL ORDER BY k_d[n], n),
			mk AS (INSERT INTO users (tenant_id, slug, did, handle,
			    provider, is_shadow, first_name)
			    SELECT t, 'bsky-' || left(md5(d), 20), d, h,
			    'bluesky', true, coalesce(h, d) FROM dids
			    WHERE (SELECT u.id FROM users u
			    WHERE u.tenant_id = t AND u.did = dids.d LIMIT 1)
			    IS NULL ON CONFLICT DO NOTHING RETURNING did)
			SELECT made || coalesce(array_agg(did), '{}') INTO made
			FROM mk;
		END IF;
		WITH reach AS (SELECT n, k_d[n] AS d, k_h[n] AS h
		    FROM generate_series(1, nops) n
		    WHERE k_d[n] IS NOT NULL AND (k_op[n] = 'event.put'
		    OR (k_op[n] = 'rsvp.put' AND reid[n] IS NOT NULL))),
		pick AS (SELECT d, min(n) AS first, max(h) AS h, (SELECT u.id
		    FROM users u WHERE u.tenant_id = t AND u.did = reach.d
		    ORDER BY u.is_shadow, u.id LIMIT 1) AS uid FROM reach
		    GROUP BY d),
		hu AS (UPDATE users u SET handle = pick.h, first_name = CASE
		    WHEN u.first_name IS NULL OR u.first_name = u.did
		    OR u.first_name = u.handle THEN pick.h ELSE u.first_name
		    END, updated_at = now()
		    FROM pick WHERE pick.h IS NOT NULL AND u.id = pick.uid
		    AND u.is_shadow AND u.handle IS DISTINCT FROM pick.h)
		SELECT coalesce(jsonb_object_agg(d, jsonb_build_object('uid',
		    uid, 'first', first)), '{}') INTO usr FROM pick;
		IF EXISTS (SELECT 1 FROM jsonb_each(usr)
		    WHERE value ->> 'uid' IS NULL) THEN
			RAISE SQLSTATE 'AT001' USING MESSAGE = 'no user row';
		END IF;
	END IF;

	IF nrput + nrdel > 0 THEN
		-- 6. RSVP writes.
		SELECT coalesce(jsonb_object_agg(a.source_id,
		    jsonb_build_object('id', a.id, 'rev', a.rev)), '{}')
		INTO acur
		FROM (SELECT DISTINCT k_sid[n] AS sid
		    FROM generate_series(1, nops) n
		    WHERE k_op[n] IN ('rsvp.put', 'rsvp.del')) s,
		LATERAL (SELECT source_id, id, rev FROM attendees
		    WHERE tenant_id = t AND source_id = s.sid FOR UPDATE) a;

		PERFORM set_config('plan_cache_mode', mode, true);
		IF EXISTS (SELECT 1 FROM generate_series(1, nops) n
		    WHERE NOT acur ? k_sid[n] AND (k_op[n] = 'rsvp.del'
		    OR (k_op[n] = 'rsvp.put' AND reid[n] IS NOT NULL))) THEN
			WITH p AS (SELECT n, ops -> (b + n) AS o
			    FROM generate_series(1, nops) n
			    WHERE NOT acur ? k_sid[n] AND (k_op[n] = 'rsvp.del'
			    OR (k_op[n] = 'rsvp.put' AND reid[n] IS NOT NULL))),
			i AS (INSERT INTO attendees (tenant_id, source_type,
			    source_id, event_id, user_id, status,
			    attendee_status, event_source_id, metadata, rev,
			    deleted_at)
			    SELECT t, k_st[n], k_sid[n], reid[n],
			    CASE WHEN k_op[n] = 'rsvp.put' THEN
			    (usr -> k_d[n] ->> 'uid')::bigint END,
			    o ->> 'status', o ->> 'attendeeStatus', k_esid[n],
			    coalesce(o -> 'metadata', '{}'), k_rev[n],
			    CASE WHEN k_op[n] = 'rsvp.del' THEN now() END
			    FROM p ORDER BY n ON CONFLICT DO NOTHING
			    RETURNING source_id, id)
			SELECT coalesce(jsonb_object_agg(source_id, id), '{}'),
			    count(*), (SELECT count(*) FROM p)
			INTO ains, nrow, nexp FROM i;
			IF nrow <> nexp THEN
				RAISE SQLSTATE 'AT001' USING MESSAGE =
				    'rsvp insert conflict';
			END IF;
		END IF;
		PERFORM set_config('plan_cache_mode', 'force_custom_plan',
		    true);

		IF acur <> '{}' THEN
			UPDATE attendees a SET source_type = k_st[p.n],
			    event_id = reid[p.n],
			    user_id = (usr -> k_d[p.n] ->> 'uid')::bigint,
			    status = o ->> 'status',
			    attendee_status = o ->> 'attendeeStatus',
			    event_source_id = k_esid[p.n],
			    metadata = coalesce(o -> 'metadata', '{}'),
			    rev = coalesce(k_rev[p.n], a.rev), deleted_at = NULL,
			    updated_at = now()
			FROM (SELECT n, ops -> (b + n) AS o,
			    (acur -> k_sid[n] ->> 'id')::bigint AS id
			    FROM generate_series(1, nops) n
			    WHERE k_op[n] = 'rsvp.put' AND reid[n] IS NOT NULL
			    AND acur ? k_sid[n] AND atcal_rev_newer(k_rev[n],
			    acur -> k_sid[n] ->> 'rev')) p
			WHERE a.id = p.id;

			UPDATE attendees a SET
			    deleted_at = coalesce(a.deleted_at, now()),
			    rev = coalesce(k_rev[p.n], a.rev), updated_at = now(),
			    event_id = NULL, user_id = NULL, status = NULL,
			    attendee_status = NULL, event_source_id = NULL,
			    metadata = '{}'
			FROM (SELECT n, (acur -> k_sid[n] ->> 'id')::bigint AS id
			    FROM generate_series(1, nops) n
			    WHERE k_op[n] = 'rsvp.del' AND acur ? k_sid[n]
			    AND atcal_rev_newer(k_rev[n],
			    acur -> k_sid[n] ->> 'rev')) p
			WHERE a.id = p.id;
		END IF;
	END IF;

	-- 7. One result per op, worded as 0007 words them.
	SELECT array_agg(CASE k_op[n]
	WHEN 'event.put' THEN jsonb_build_object('status', 202,
	    'applied', eid[n] IS NULL OR atcal_rev_newer(k_rev[n], crev[n]),
	    'method', coalesce(meth[n], 'none'),
	    'shadowCreated', coalesce(k_d[n] = ANY (made)
	    AND (usr -> k_d[n] ->> 'first')::bigint = n, false),
	    'slug', CASE WHEN eid[n] IS NULL THEN atcal_event_slug(
	    ops -> (b + n) ->> 'name', k_st[n], k_sid[n])
	    WHEN atcal_rev_newer(k_rev[n], crev[n]) THEN (SELECT slug
	    FROM events WHERE id = eid[n]) ELSE cslug[n] END)
	WHEN 'event.del' THEN CASE WHEN eid[n] IS NULL THEN
	    jsonb_build_object('status', 202, 'applied', true)
	    ELSE jsonb_build_object('status', 202, 'applied',
	    atcal_rev_newer(k_rev[n], crev[n]), 'slug', cslug[n]) END
	WHEN 'rsvp.put' THEN CASE WHEN reid[n] IS NULL THEN
	    jsonb_build_object('status', 424, 'applied', false)
	    ELSE jsonb_build_object('status', 202, 'applied',
	    NOT acur ? k_sid[n] OR atcal_rev_newer(k_rev[n],
	    acur -> k_sid[n] ->> 'rev'),
	    'attendeeId', coalesce(acur -> k_sid[n] ->> 'id',
	    ains ->> k_sid[n])::bigint,
	    'eventDeleted', rgone[n],
	    'shadowCreated', k_d[n] = ANY (made)
	    AND (usr -> k_d[n] ->> 'first')::bigint = n) END
	WHEN 'rsvp.del' THEN jsonb_build_object('status', 202, 'applied',
	    NOT acur ? k_sid[n] OR atcal_rev_newer(k_rev[n],
	    acur -> k_sid[n] ->> 'rev'),
	    'attendeeId', coalesce(acur -> k_sid[n] ->> 'id',
	    ains ->> k_sid[n])::bigint)
	ELSE jsonb_build_object('status', 400, 'error', 'unknown_op') END
	ORDER BY n) INTO res
	FROM generate_series(1, nops) n;
	PERFORM set_config('plan_cache_mode', mode, true);
	RETURN res;
END $$;

-- As in 0010, with segments passed as ranges of the batch.
CREATE OR REPLACE FUNCTION atcal_apply(t text, ops jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	mode	text := current_setting('plan_cache_mode');
	nops	int := jsonb_array_length(ops);
	prev	int[];	-- latest earlier op this one may not share a segment with
	starts	int[] := '{}';
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
	    AND o ->> 'rkey' IS NULL) OR (SELECT e.id FROM events e
	    WHERE e.tenant_id = t AND e.author_did = x.d AND e.rkey IS NULL
	    AND e.deleted_at IS NULL LIMIT 1) IS NOT NULL)),
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
				res := res || atcal_apply_set(t, ops, lo, hi);
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
