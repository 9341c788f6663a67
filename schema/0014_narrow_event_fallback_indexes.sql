-- The source-url and CID dedup fallbacks (0007 atcal_event_find, 0013)
-- only look for events not linked to a record: rkey IS NULL and not
-- deleted. Index just those rows, so the usual write, an AT Protocol
-- record (it has an rkey), skips two index inserts, as does every
-- tombstone. Plain CREATE INDEX: it holds writes on events while it
-- builds, which the migration's short window allows (it indexes only the
-- unlinked events, a small part of the table).

DROP INDEX IF EXISTS events_author_url_idx;
CREATE INDEX events_author_url_idx ON events (tenant_id, author_did,
    source_url)
    WHERE source_url IS NOT NULL AND rkey IS NULL AND deleted_at IS NULL;

DROP INDEX IF EXISTS events_author_cid_idx;
CREATE INDEX events_author_cid_idx ON events (tenant_id, author_did, cid)
    WHERE cid IS NOT NULL AND rkey IS NULL AND deleted_at IS NULL;
