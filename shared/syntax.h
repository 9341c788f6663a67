/* SPDX-License-Identifier: ISC */
#ifndef ATC_SYNTAX_H
#define ATC_SYNTAX_H

#include <stddef.h>

struct json_t;

/*
 * String-format validators of the AT Protocol (atproto.com/specs): each takes
 * a NUL-terminated string, returns 0 when it is valid and -1 otherwise,
 * filling err (capacity errlen, may be NULL) with the first rule broken.
 * None allocates or keeps state.
 */

/* did:<lowercase method>:<id>, at most 2048 bytes. */
int	atc_syntax_did(const char *, char *err, size_t errlen);
/* DNS-style handle: 2+ labels, at most 253 bytes, TLD starts with a letter. */
int	atc_syntax_handle(const char *, char *err, size_t errlen);
/* Namespaced identifier (reverse domain + name), at most 317 bytes. */
int	atc_syntax_nsid(const char *, char *err, size_t errlen);
/* Record key: 1-512 bytes of [A-Za-z0-9._:~-], not "." nor "..". */
int	atc_syntax_rkey(const char *, char *err, size_t errlen);
/* Repo path "collection/rkey" as in firehose ops. */
int	atc_syntax_repo_path(const char *, char *err, size_t errlen);
/* TID: 13 chars of sortable base32, the first one of [2-7a-j] (the spec's
 * pattern; atc_tid_parse() is stricter). */
int	atc_syntax_tid(const char *, char *err, size_t errlen);
/* RFC 3339 datetime as atproto restricts it: upper-case T and Z, seconds
 * required, timezone required ("-00:00" refused), real calendar date. */
int	atc_syntax_datetime(const char *, char *err, size_t errlen);
/* CID string: CIDv1 in multibase base32 ("b..."), version 1, whose
 * multihash length matches its digest. CIDv0 is not used by atproto. */
int	atc_syntax_cid(const char *, char *err, size_t errlen);

/* The parts of an at-uri, borrowed from the parsed string (not NUL-
 * terminated: use the lengths). Absent parts have NULL and length 0. */
struct atc_at_uri {
	const char	*authority;	/* DID or handle */
	size_t		 authority_len;
	const char	*collection;	/* NSID */
	size_t		 collection_len;
	const char	*rkey;
	size_t		 rkey_len;
};

/* Restricted at-uri: at://AUTHORITY[/COLLECTION[/RKEY]], no query, no
 * fragment, at most 8192 bytes. out may be NULL; on success it points into
 * the input, valid while the input lives. */
int	atc_syntax_at_uri(const char *, struct atc_at_uri *out, char *err,
	    size_t errlen);

/*
 * atproto JSON data model (specs/data-model): the value must be an object;
 * no non-integral numbers, integers within +/-(2^53-1); "$type", when
 * present, a non-empty string; {"$link"} and {"$bytes"} objects have exactly
 * that one string key holding a CID / base64; blobs ({"$type":"blob"}) have
 * ref ($link), mimeType (string) and an integer size >= 0. Nesting is capped
 * at 32. Borrows the value.
 */
int	atc_datamodel_validate(const struct json_t *, char *err,
	    size_t errlen);

#endif
