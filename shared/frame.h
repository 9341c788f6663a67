/* SPDX-License-Identifier: ISC */
#ifndef ATC_FRAME_H
#define ATC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * com.atproto.sync.subscribeRepos frame decoding: a frame is exactly two
 * DAG-CBOR objects, header {op, t} and payload. Decoding fills a reusable
 * struct atc_frame whose byte fields point into the input frame and whose
 * text fields are NUL-terminated copies in the frame's own scratch buffer
 * (reserved once per frame, so no allocation in steady state). Both stay
 * valid until the next atc_frame_decode() or atc_frame_cleanup(), and the
 * byte fields only while the input lives.
 */
#define ATC_FRAME_MAXLEN	(5u * 1024 * 1024)	/* whole frame */
#define ATC_FRAME_MAXRECORD	(1u * 1024 * 1024)	/* one record block */
#define ATC_FRAME_MAXOPS	200

enum atc_frame_kind {
	ATC_FRAME_IGNORED = 0,	/* unknown op or t, #migrate: skip it */
	ATC_FRAME_COMMIT,
	ATC_FRAME_SYNC,
	ATC_FRAME_IDENTITY,	/* also legacy #handle */
	ATC_FRAME_ACCOUNT,	/* also legacy #tombstone (active false) */
	ATC_FRAME_INFO,
	ATC_FRAME_ERROR,	/* op -1 */
};

enum atc_op_action {
	ATC_OP_CREATE = 0,
	ATC_OP_UPDATE,
	ATC_OP_DELETE,
};

enum atc_op_status {
	ATC_OP_OK = 0,		/* kept; record verified (unless verify off) */
	ATC_OP_FILTERED,	/* not wanted by the filter: never hashed */
	ATC_OP_FAILED,		/* error says why (missing block, hash...) */
};

struct atc_frame_op {
	enum atc_op_action	 action;
	enum atc_op_status	 status;
	const char		*collection;	/* NUL-terminated, scratch */
	const char		*rkey;		/* NUL-terminated, scratch */
	const uint8_t		*cid;		/* binary CID in input; NULL on delete */
	size_t			 cid_len;
	const uint8_t		*prev;		/* binary CID or NULL */
	size_t			 prev_len;
	const uint8_t		*record;	/* DAG-CBOR map in input, or NULL */
	size_t			 record_len;
	size_t			 record_offset;	/* of record in the frame */
	const char		*error;		/* FAILED: why (scratch), else NULL */
};

/* Filter: called with each op's collection (NUL-terminated) before any
 * hashing; return true to keep. */
typedef bool (*atc_frame_want_fn)(void *arg, const char *collection);

struct atc_frame_opts {
	bool			  verify;	/* check record SHA-256 vs op.cid */
	const char *const	 *collections;	/* NULL-terminated keep list */
	atc_frame_want_fn	  want;		/* or a callback; both NULL = all */
	void			 *want_arg;
};

struct atc_frame {
	enum atc_frame_kind	 kind;
	int64_t			 op;		/* header op (1, -1, ...) */
	const char		*type;		/* header t ("#commit"), "" if none */
	bool			 has_seq;
	int64_t			 seq;
	const char		*did;		/* commit: repo; NULL if absent */
	const char		*rev;		/* commit/sync */
	const char		*since;		/* commit; NULL when null */
	const char		*time;		/* RFC 3339 as sent */
	const uint8_t		*commit;	/* commit CID (sync: CAR root) */
	size_t			 commit_len;
	const uint8_t		*blocks;	/* CAR bytes in input */
	size_t			 blocks_len;
	size_t			 blocks_offset;	/* of blocks in the frame */
	struct atc_frame_op	*ops;		/* nops entries, owned */
	size_t			 nops;
	size_t			 nkept;		/* ops with status OK */
	size_t			 nfailed;	/* ops with status FAILED */
	const char		*handle;	/* identity; NULL if absent */
	bool			 active;	/* account */
	const char		*status;	/* account; NULL if absent */
	const char		*name;		/* info / error frame */
	const char		*message;	/* info / error; NULL if absent */
	struct atc_buf		 scratch;	/* private: text copies */
};

/* Caller-owned storage: atc_frame_init() once, atc_frame_cleanup() at the
 * end (frees ops and scratch). */
void	atc_frame_init(struct atc_frame *);
void	atc_frame_cleanup(struct atc_frame *);

/* Decodes frame data[0..len) into out (previous contents are replaced).
 * opts may be NULL (verify on, keep all). Returns 0 when the frame is
 * well-formed (individual ops may still be FAILED), -1 and err otherwise
 * ("frame: ...", "cbor: ... at offset N"). */
int	atc_frame_decode(struct atc_frame *out, const uint8_t *data,
	    size_t len, const struct atc_frame_opts *opts, char *err,
	    size_t errlen);

/* Finds the block with binary CID cid in f's CAR blocks, checking its hash
 * when verify. *block / *block_len point into the input. Returns 0, or -1
 * and err (absent, mismatch, malformed). For commit-object checks. */
int	atc_frame_block(const struct atc_frame *f, const uint8_t *cid,
	    size_t cid_len, bool verify, const uint8_t **block,
	    size_t *block_len, char *err, size_t errlen);

/* Stable lower-case names: "commit", "create", ... */
const char	*atc_frame_kind_name(enum atc_frame_kind);
const char	*atc_op_action_name(enum atc_op_action);

#endif
