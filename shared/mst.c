/* SPDX-License-Identifier: ISC */
/*
 * Repo snapshot reader: the commit object and an in-order walk of the
 * Merkle Search Tree. A node is {l: CID|null, e: [{p, k, v, t}]}; keys are
 * prefix-compressed within a node. Canonical key order puts "e" before "l"
 * in the bytes, so each node is read twice with a zero-copy cursor (find l,
 * walk it, then stream the entries) instead of buffering entries. Each node
 * is hash-checked before use, keys must rise strictly across the walk, and
 * the walk visits at most as many nodes as the CAR has blocks, so a hostile
 * DAG that reuses nodes cannot make it loop or explode.
 * Not checked, by choice: node layers (leading zero bits of each key's
 * SHA-256): the walk lists what the tree holds, it does not prove the tree
 * is the unique MST of those keys (the spec lets consumers skip this).
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "car.h"
#include "cbor.h"
#include "cid.h"
#include "mst.h"
#include "syntax.h"
#include "tid.h"
#include "util.h"

struct walk {
	const struct atc_car_index *idx;
	int		(*visit)(void *, const char *, size_t,
			    const uint8_t *, size_t);
	void		*arg;
	char		 last[ATC_MST_MAXKEY + 1];
	size_t		 last_len;	/* 0: none yet */
	size_t		 nodes;		/* visited so far */
	size_t		 maxnodes;	/* blocks in the CAR */
};

/* Fetches and hash-checks the block with this CID. */
static const struct atc_car_block *
get_block(const struct atc_car_index *idx, const uint8_t *cid,
    size_t cid_len, const char *what, char *err, size_t errlen)
{
	const struct atc_car_block	*b;
	char				 s[ATC_CID_STRLEN], why[ATC_ERRLEN];

	if (atc_cid_format(s, sizeof(s), cid, cid_len, NULL, 0) == -1)
		(void)strcpy(s, "(invalid CID)");
	if ((b = atc_car_index_get(idx, cid, cid_len)) == NULL) {
		atc_seterr(err, errlen, "mst: %s block %s missing", what, s);
		return NULL;
	}
	if (atc_car_block_verify(b, why, sizeof(why)) == -1) {
		atc_seterr(err, errlen, "mst: %s block %s: %s", what, s, why);
		return NULL;
	}
	return b;
}

/* Bytewise order, a prefix first: true when b sorts strictly after a. */
static bool
key_after(const char *a, size_t alen, const char *b, size_t blen)
{
	int	r;

	r = memcmp(a, b, alen < blen ? alen : blen);
	return r < 0 || (r == 0 && alen < blen);
}

/* Reads a value that must be a link (or null when nullable). */
static int
read_link(struct atc_cbor *c, bool nullable, const uint8_t **cid,
    size_t *cid_len, const char *what, char *err, size_t errlen)
{
	struct atc_cbor_item	it;

	if (atc_cbor_read(c, &it, err, errlen) == -1)
		return -1;
	if (it.type == ATC_CBOR_NULL && nullable) {
		*cid = NULL;
		*cid_len = 0;
		return 0;
	}
	if (it.type != ATC_CBOR_LINK)
		return atc_seterr(err, errlen, "mst: %s is not a link at "
		    "offset %zu", what, it.offset);
	*cid = it.ptr;
	*cid_len = it.len;
	return 0;
}

static int	walk_node(struct walk *, const uint8_t *, size_t, int, char *,
		    size_t);

/* Reads one entry map {k, p, t, v}, extends key (length *key_len) and
 * visits the record, then its right subtree. */
static int
walk_entry(struct walk *w, struct atc_cbor *c, char *key, size_t *key_len,
    int height, char *err, size_t errlen)
{
	struct atc_cbor_item	 it;
	const uint8_t		*v = NULL, *t = NULL, *k = NULL;
	size_t			 v_len = 0, t_len = 0, k_len = 0, i, n;
	int64_t			 p = -1;
	char			 why[ATC_ERRLEN];
	int			 r;

	if (atc_cbor_read(c, &it, err, errlen) == -1)
		return -1;
	if (it.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen, "mst: entry is not a map at "
		    "offset %zu", it.offset);
	n = it.count;
	for (i = 0; i < n; i++) {
		if (atc_cbor_read(c, &it, err, errlen) == -1)
			return -1;
		if (atc_cbor_eq(&it, "k")) {
			if (atc_cbor_read(c, &it, err, errlen) == -1)
				return -1;
			if (it.type != ATC_CBOR_BYTES)
				return atc_seterr(err, errlen, "mst: entry k "
				    "is not bytes at offset %zu", it.offset);
			k = it.ptr;
			k_len = it.len;
		} else if (atc_cbor_eq(&it, "p")) {
			if (atc_cbor_read(c, &it, err, errlen) == -1)
				return -1;
			if (it.type != ATC_CBOR_INT || it.i < 0)
				return atc_seterr(err, errlen, "mst: entry p "
				    "is not an integer >= 0 at offset %zu",
				    it.offset);
			p = it.i;
		} else if (atc_cbor_eq(&it, "t")) {
			if (read_link(c, true, &t, &t_len, "entry t", err,
			    errlen) == -1)
				return -1;
		} else if (atc_cbor_eq(&it, "v")) {
			if (read_link(c, false, &v, &v_len, "entry v", err,
			    errlen) == -1)
				return -1;
		} else if (atc_cbor_skip(c, err, errlen) == -1)
			return -1;
	}
	if (k == NULL || p < 0 || v == NULL)
		return atc_seterr(err, errlen, "mst: entry lacks k, p or v");
	if ((size_t)p > *key_len)
		return atc_seterr(err, errlen, "mst: entry prefix %lld longer "
		    "than the previous key", (long long)p);
	if ((size_t)p + k_len > ATC_MST_MAXKEY)
		return atc_seterr(err, errlen, "mst: key longer than %d bytes",
		    ATC_MST_MAXKEY);
	memcpy(key + p, k, k_len);
	*key_len = (size_t)p + k_len;
	key[*key_len] = '\0';
	if (strlen(key) != *key_len)
		return atc_seterr(err, errlen, "mst: key holds a NUL byte");
	if (atc_syntax_repo_path(key, why, sizeof(why)) == -1)
		return atc_seterr(err, errlen, "mst: bad key \"%.64s\": %s",
		    key, why);
	if (w->last_len > 0 && !key_after(w->last, w->last_len, key,
	    *key_len))
		return atc_seterr(err, errlen, "mst: key \"%.64s\" not after "
		    "\"%.64s\"", key, w->last);
	memcpy(w->last, key, *key_len + 1);
	w->last_len = *key_len;
	if ((r = w->visit(w->arg, key, *key_len, v, v_len)) != 0)
		return r;
	if (t != NULL)
		return walk_node(w, t, t_len, height + 1, err, errlen);
	return 0;
}

static int
walk_node(struct walk *w, const uint8_t *cid, size_t cid_len, int height,
    char *err, size_t errlen)
{
	const struct atc_car_block	*b;
	struct atc_cbor			 c;
	struct atc_cbor_item		 it;
	const uint8_t			*l = NULL;
	char				 key[ATC_MST_MAXKEY + 1];
	size_t				 l_len = 0, key_len = 0, i, j, n;
	bool				 has_e = false;
	int				 pass, r;

	if (height > ATC_MST_MAXHEIGHT)
		return atc_seterr(err, errlen, "mst: tree deeper than %d",
		    ATC_MST_MAXHEIGHT);
	if (++w->nodes > w->maxnodes)
		return atc_seterr(err, errlen, "mst: more nodes than blocks "
		    "(a node is reused)");
	if ((b = get_block(w->idx, cid, cid_len, "node", err, errlen)) == NULL)
		return -1;
	/* Pass 0 finds l and checks the shape; pass 1 walks the entries. */
	for (pass = 0; pass < 2; pass++) {
		atc_cbor_init(&c, b->data, b->len, b->offset);
		if (atc_cbor_read(&c, &it, err, errlen) == -1)
			return -1;
		if (it.type != ATC_CBOR_MAP)
			return atc_seterr(err, errlen, "mst: node is not a "
			    "map at offset %zu", it.offset);
		n = it.count;
		for (i = 0; i < n; i++) {
			if (atc_cbor_read(&c, &it, err, errlen) == -1)
				return -1;
			if (atc_cbor_eq(&it, "l")) {
				if (read_link(&c, true, &l, &l_len, "node l",
				    err, errlen) == -1)
					return -1;
				continue;
			}
			if (!atc_cbor_eq(&it, "e")) {
				if (atc_cbor_skip(&c, err, errlen) == -1)
					return -1;
				continue;
			}
			has_e = true;
			if (pass == 0) {
				if (atc_cbor_skip(&c, err, errlen) == -1)
					return -1;
				continue;
			}
			if (atc_cbor_read(&c, &it, err, errlen) == -1)
				return -1;
			if (it.type != ATC_CBOR_ARRAY)
				return atc_seterr(err, errlen, "mst: node e "
				    "is not an array at offset %zu",
				    it.offset);
			for (j = it.count; j > 0; j--)
				if ((r = walk_entry(w, &c, key, &key_len,
				    height, err, errlen)) != 0)
					return r;
		}
		if (!atc_cbor_done(&c) || atc_cbor_offset(&c) !=
		    b->offset + b->len)
			return atc_seterr(err, errlen, "mst: node has "
			    "trailing bytes");
		if (pass == 0 && !has_e)
			return atc_seterr(err, errlen, "mst: node lacks e");
		if (pass == 0 && l != NULL &&
		    (r = walk_node(w, l, l_len, height + 1, err, errlen)) != 0)
			return r;
	}
	return 0;
}

int
atc_mst_walk(const struct atc_car_index *idx, const uint8_t *root,
    size_t root_len,
    int (*visit)(void *, const char *, size_t, const uint8_t *, size_t),
    void *arg, char *err, size_t errlen)
{
	struct walk	w;

	memset(&w, 0, sizeof(w));
	w.idx = idx;
	w.visit = visit;
	w.arg = arg;
	w.maxnodes = atc_car_index_count(idx);
	return walk_node(&w, root, root_len, 0, err, errlen);
}

int
atc_repo_commit_read(struct atc_repo_commit *out,
    const struct atc_car_index *idx, const uint8_t *cid, size_t cid_len,
    char *err, size_t errlen)
{
	const struct atc_car_block	*b;
	struct atc_repo_commit		 rc;
	struct atc_cbor			 c;
	struct atc_cbor_item		 it, v;
	const uint8_t			*prev;
	char				 did[2049], tmp[ATC_TID_STRLEN + 1];
	char				 why[ATC_ERRLEN];
	size_t				 i, n, prev_len;

	memset(&rc, 0, sizeof(rc));
	if ((b = get_block(idx, cid, cid_len, "commit", err, errlen)) == NULL)
		return -1;
	rc.block = b->data;
	rc.block_len = b->len;
	atc_cbor_init(&c, b->data, b->len, b->offset);
	if (atc_cbor_read(&c, &it, err, errlen) == -1)
		return -1;
	if (it.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen, "commit: not a map");
	n = it.count;
	for (i = 0; i < n; i++) {
		if (atc_cbor_read(&c, &it, err, errlen) == -1)
			return -1;
		if (atc_cbor_eq(&it, "data")) {
			if (read_link(&c, false, &rc.data, &rc.data_len,
			    "commit data", err, errlen) == -1)
				return -1;
			continue;
		}
		if (atc_cbor_eq(&it, "prev")) {
			if (read_link(&c, true, &prev, &prev_len,
			    "commit prev", err, errlen) == -1)
				return -1;
			continue;
		}
		if (!atc_cbor_eq(&it, "did") && !atc_cbor_eq(&it, "rev") &&
		    !atc_cbor_eq(&it, "sig") && !atc_cbor_eq(&it, "version")) {
			if (atc_cbor_skip(&c, err, errlen) == -1)
				return -1;
			continue;
		}
		/* it (the key) is still needed to place the value. */
		if (atc_cbor_read(&c, &v, err, errlen) == -1)
			return -1;
		if (atc_cbor_eq(&it, "version") && v.type == ATC_CBOR_INT)
			rc.version = v.i;
		else if (atc_cbor_eq(&it, "sig") && v.type == ATC_CBOR_BYTES) {
			rc.sig = v.ptr;
			rc.sig_len = v.len;
		} else if (atc_cbor_eq(&it, "did") && v.type == ATC_CBOR_TEXT) {
			rc.did = (const char *)v.ptr;
			rc.did_len = v.len;
		} else if (atc_cbor_eq(&it, "rev") && v.type == ATC_CBOR_TEXT) {
			rc.rev = (const char *)v.ptr;
			rc.rev_len = v.len;
		} else
			return atc_seterr(err, errlen, "commit: field %.*s has "
			    "the wrong type", (int)it.len,
			    (const char *)it.ptr);
	}
	if (!atc_cbor_done(&c) || atc_cbor_offset(&c) != b->offset + b->len)
		return atc_seterr(err, errlen, "commit: trailing bytes");
	if (rc.did == NULL || rc.rev == NULL || rc.data == NULL ||
	    rc.sig == NULL)
		return atc_seterr(err, errlen, "commit: did, rev, data or sig "
		    "missing");
	if (rc.version != 2 && rc.version != 3)
		return atc_seterr(err, errlen, "commit: version %lld "
		    "unsupported", (long long)rc.version);
	if (rc.did_len > 2048)
		return atc_seterr(err, errlen, "commit: did too long");
	memcpy(did, rc.did, rc.did_len);
	did[rc.did_len] = '\0';
	if (strlen(did) != rc.did_len)
		return atc_seterr(err, errlen, "commit: did holds a NUL byte");
	if (atc_syntax_did(did, why, sizeof(why)) == -1)
		return atc_seterr(err, errlen, "commit: bad did: %s", why);
	if (rc.rev_len != ATC_TID_STRLEN)
		return atc_seterr(err, errlen, "commit: rev is not a TID");
	memcpy(tmp, rc.rev, ATC_TID_STRLEN);
	tmp[ATC_TID_STRLEN] = '\0';
	if (atc_syntax_tid(tmp, why, sizeof(why)) == -1)
		return atc_seterr(err, errlen, "commit: bad rev: %s", why);
	*out = rc;
	return 0;
}

int
atc_repo_commit_unsigned(struct atc_buf *out,
    const struct atc_repo_commit *rc, char *err, size_t errlen)
{
	struct atc_cbor		c;
	struct atc_cbor_item	it;
	size_t			i, n, start, key_at, end, oldlen;
	bool			found = false;
	uint8_t			head[3];

	oldlen = out->len;
	atc_cbor_init(&c, rc->block, rc->block_len, 0);
	if (atc_cbor_read(&c, &it, err, errlen) == -1)
		goto fail;
	if (it.type != ATC_CBOR_MAP || it.count == 0 || it.count > 255) {
		atc_seterr(err, errlen, "commit: not a small map");
		goto fail;
	}
	n = it.count;
	/* Canonical head of a map with n - 1 pairs (n <= 255). */
	if (n - 1 < 24) {
		head[0] = (uint8_t)(0xa0 | (n - 1));
		atc_buf_append(out, head, 1);
	} else {
		head[0] = 0xb8;
		head[1] = (uint8_t)(n - 1);
		atc_buf_append(out, head, 2);
	}
	start = atc_cbor_offset(&c);
	for (i = 0; i < n; i++) {
		key_at = atc_cbor_offset(&c);
		if (atc_cbor_read(&c, &it, err, errlen) == -1)
			goto fail;
		if (atc_cbor_eq(&it, "sig")) {
			/* Copy what came before, skip this pair. */
			atc_buf_append(out, rc->block + start, key_at - start);
			if (atc_cbor_skip(&c, err, errlen) == -1)
				goto fail;
			start = atc_cbor_offset(&c);
			found = true;
		} else if (atc_cbor_skip(&c, err, errlen) == -1)
			goto fail;
	}
	end = atc_cbor_offset(&c);
	if (!found || end != rc->block_len) {
		atc_seterr(err, errlen, "commit: no sig or trailing bytes");
		goto fail;
	}
	atc_buf_append(out, rc->block + start, end - start);
	return 0;
fail:
	out->len = oldlen;
	return -1;
}
