/* SPDX-License-Identifier: ISC */
#ifndef ATC_MST_H
#define ATC_MST_H

#include <stddef.h>
#include <stdint.h>

struct atc_buf;
struct atc_car_index;

/*
 * Repository snapshots (com.atproto.sync.getRepo CAR exports): the signed
 * commit object and the Merkle Search Tree below its `data` CID. Every
 * block read is hash-checked against its CID first. Nothing is copied:
 * results borrow the CAR bytes (valid while they and the index live).
 */
#define ATC_MST_MAXKEY		1024	/* "collection/rkey" bytes */
#define ATC_MST_MAXHEIGHT	64	/* nested subtrees */

/* The commit object {did, version, data, rev, prev, sig}. */
struct atc_repo_commit {
	const char	*did;		/* borrowed, not NUL-terminated */
	size_t		 did_len;
	const char	*rev;		/* borrowed, not NUL-terminated */
	size_t		 rev_len;
	int64_t		 version;	/* 2 or 3 */
	const uint8_t	*data;		/* MST root binary CID, borrowed */
	size_t		 data_len;
	const uint8_t	*sig;		/* signature, borrowed */
	size_t		 sig_len;
	const uint8_t	*block;		/* whole commit block, borrowed */
	size_t		 block_len;
};

/* Reads and hash-checks the commit block with binary CID cid from idx and
 * decodes it into out. did must be a valid DID and rev a valid TID.
 * Returns 0, or -1 and err. */
int	atc_repo_commit_read(struct atc_repo_commit *out,
	    const struct atc_car_index *idx, const uint8_t *cid,
	    size_t cid_len, char *err, size_t errlen);
/* Appends to out the DAG-CBOR bytes that the signature covers: the commit
 * map without its "sig" entry (made from the original bytes, which must be
 * canonical DAG-CBOR). Returns 0, or -1 and err. */
int	atc_repo_commit_unsigned(struct atc_buf *out,
	    const struct atc_repo_commit *, char *err, size_t errlen);

/*
 * Visits every record of the tree rooted at binary CID root, in key order:
 * visit(arg, path, path_len, cid, cid_len) with path "collection/rkey"
 * (NUL-terminated, valid only during the call) and the record's binary CID
 * (borrowed from the CAR). A non-zero return from visit stops the walk and
 * is returned. Returns 0 when done, or -1 and err on a missing or corrupt
 * node, a hash mismatch, keys out of order, an invalid path, or a tree
 * deeper than ATC_MST_MAXHEIGHT / with more nodes than blocks.
 */
int	atc_mst_walk(const struct atc_car_index *idx, const uint8_t *root,
	    size_t root_len,
	    int (*visit)(void *arg, const char *path, size_t path_len,
	    const uint8_t *cid, size_t cid_len),
	    void *arg, char *err, size_t errlen);

#endif
