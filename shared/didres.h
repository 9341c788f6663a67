/* SPDX-License-Identifier: ISC */
#ifndef ATC_DIDRES_H
#define ATC_DIDRES_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto_sig.h"

struct atc_metrics;
struct json_t;

/*
 * DID resolution: did:plc documents from a PLC directory
 * (GET {plc_url}/{did}) and did:web documents
 * (https://{host}/.well-known/did.json, hostname only), reduced to what
 * atproto needs. didres_doc.c parses (pure, no I/O); didres.c fetches and
 * caches, and is the only libcurl user in shared/.
 */
#define ATC_DID_MAXLEN		2048
#define ATC_DID_MAXHANDLE	253
#define ATC_DID_MAXURL		512
#define ATC_DID_MAXDOC		(256u * 1024)	/* document bytes accepted */

/* The atproto view of a DID document. Fixed-size: copied by value. */
struct atc_did_doc {
	char			handle[ATC_DID_MAXHANDLE + 1]; /* lower-case;
						 * "" = handle.invalid */
	char			pds[ATC_DID_MAXURL + 1]; /* #atproto_pds
						 * endpoint; "" = none */
	bool			has_key;	/* key holds #atproto */
	struct atc_pubkey	key;		/* signing key */
};

/* Reduces the parsed JSON document doc of did into out: handle = first
 * valid at:// alias of alsoKnownAs (lower-cased), PDS = service whose id
 * ends in #atproto_pds with type AtprotoPersonalDataServer, key =
 * verificationMethod whose id ends in #atproto (publicKeyMultibase). A
 * missing or invalid handle, PDS or key leaves that field empty. Returns
 * 0, or -1 and err when doc is not an object or its id is not did.
 * Borrows doc. */
int	atc_did_doc_parse(struct atc_did_doc *out, const char *did,
	    const struct json_t *doc, char *err, size_t errlen);
/* Same from JSON text text[0..len) (at most ATC_DID_MAXDOC bytes). */
int	atc_did_doc_parse_text(struct atc_did_doc *out, const char *did,
	    const char *text, size_t len, char *err, size_t errlen);
/* Builds the document URL of did into out (capacity outlen): plc_url/did
 * for did:plc (base32 identifier of 24 chars), https://host/.well-known/
 * did.json for did:web (a hostname: no port, no path). Returns 0, or -1
 * and err for other methods and malformed DIDs. */
int	atc_did_doc_url(char *out, size_t outlen, const char *plc_url,
	    const char *did, char *err, size_t errlen);

/* Resolver settings; zero fields take the defaults in brackets. The PLC
 * URL may be http:// (a local directory); did:web is always https. */
struct atc_didres_opts {
	const char	*plc_url;	/* [https://plc.directory] */
	size_t		 max_entries;	/* cache size [10000] */
	long long	 ttl_ms;	/* documents [24 h] */
	long long	 error_ttl_ms;	/* failures [2 min] */
	long long	 timeout_ms;	/* one HTTP request [10 s] */
	int		 attempts;	/* tries on transient failures [3] */
	long long	 backoff_ms;	/* first retry delay, doubled [250] */
	double		 host_rate;	/* requests/s per host [10] */
	double		 host_burst;	/* bucket size [20] */
	long long	 refresh_min_ms; /* forced refresh of one DID at most
					  * this often [10 s] */
};

enum atc_didres_result {
	ATC_DIDRES_OK = 0,
	ATC_DIDRES_GONE,	/* 404, 410 (tombstoned), invalid document */
	ATC_DIDRES_FAIL,	/* transient: network, timeout, 5xx, 429 */
};

struct atc_didres;

/* Returns a new resolver; free with atc_didres_free(). metrics may be NULL;
 * otherwise atcal_didres_* series are created in it (borrowed, must
 * outlive the resolver). NULL and err on bad options. */
struct atc_didres	*atc_didres_new(const struct atc_didres_opts *,
			    struct atc_metrics *metrics, char *err,
			    size_t errlen);
void			 atc_didres_free(struct atc_didres *);
/* Safe from any thread: a resolution in progress gives up within about a
 * second (its request aborted, its waits cut short) and returns
 * ATC_DIDRES_FAIL, "cancelled"; so does every later one that needs a
 * fetch. For stopping a thread that owns the resolver; not undone. */
void			 atc_didres_cancel(struct atc_didres *);

/* Resolves did into out, from the cache when fresh (no I/O), else over
 * HTTP (blocking: retries, backoff and the per-host rate limit included).
 * force skips a cached document unless it was fetched less than
 * refresh_min_ms ago. *tombstoned (may be NULL) is set on a PLC 410.
 * Failures are cached for error_ttl_ms. Returns the result; err says why
 * when not OK. */
enum atc_didres_result	 atc_didres_resolve(struct atc_didres *,
			    const char *did, bool force,
			    struct atc_did_doc *out, bool *tombstoned,
			    char *err, size_t errlen);

/* Stores the JSON document doc of did as freshly fetched (tests, warm
 * starts). Returns 0, or -1 and err when it does not parse. */
int	atc_didres_seed(struct atc_didres *, const char *did,
	    const struct json_t *doc, char *err, size_t errlen);
/* Seeds every member of a JSON object text[0..len) mapping DID ->
 * document. Returns the number seeded, or -1 and err (bad JSON, or a
 * document that does not parse). */
long	atc_didres_seed_json(struct atc_didres *, const char *text,
	    size_t len, char *err, size_t errlen);

/* Counters since creation. */
struct atc_didres_stats {
	unsigned long long	hits;		/* answered from the cache */
	unsigned long long	misses;		/* needed a fetch */
	unsigned long long	fetches;	/* HTTP requests made */
	unsigned long long	errors;		/* resolutions not OK */
	unsigned long long	evictions;
	size_t			entries;
};
void	atc_didres_stats(const struct atc_didres *,
	    struct atc_didres_stats *out);

#endif
