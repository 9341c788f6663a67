-- Deduplication keys of an event, kept as plain columns so each fallback
-- of the lookup chain (source type+id, source url / OpenMeet slug, rkey,
-- CID) is one index probe scoped to the author's DID (OpenMeet failure 7:
-- its rkey and CID lookups matched other users' records). author_did is
-- the DID of the repo holding the record (the at-uri authority, or
-- source.metadata.did for other sources); rkey and cid come from the
-- at-uri and source.metadata.
ALTER TABLE events
	ADD COLUMN author_did	text,
	ADD COLUMN rkey		text,
	ADD COLUMN cid		text;

UPDATE events SET
	author_did = CASE WHEN source_id LIKE 'at://%'
	    THEN split_part(substr(source_id, 6), '/', 1)
	    ELSE source_metadata ->> 'did' END,
	rkey = CASE WHEN source_id LIKE 'at://%'
	    THEN split_part(substr(source_id, 6), '/', 3)
	    ELSE source_metadata ->> 'rkey' END,
	cid = source_metadata ->> 'cid';

-- One record of a repo is one event: two live rows of one author can never
-- share an rkey (the rkey fallback finds the first before a second is
-- inserted; writers of one DID are serialised, see 0007).
CREATE UNIQUE INDEX events_author_rkey_key ON events (tenant_id, author_did,
    rkey) WHERE author_did IS NOT NULL AND rkey IS NOT NULL;
CREATE INDEX events_author_url_idx ON events (tenant_id, author_did,
    source_url) WHERE source_url IS NOT NULL;
CREATE INDEX events_author_cid_idx ON events (tenant_id, author_did, cid)
    WHERE cid IS NOT NULL;
-- Read API: stable listing order (start date, id) of visible events.
CREATE INDEX events_listing_idx ON events (tenant_id, start_date, id)
    WHERE deleted_at IS NULL AND visibility = 'public';
