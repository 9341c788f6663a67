/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: a CAR file (a getRepo export or a frame's blocks)
 * through the CAR reader, the block index, hash checks, the commit reader
 * and the MST walk from the commit's data root.
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "car.h"
#include "mst.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
count(void *arg, const char *path, size_t path_len, const uint8_t *cid,
    size_t cid_len)
{
	size_t	*n = arg;

	(*n)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct atc_car		 car;
	struct atc_car_block	 b;
	struct atc_car_index	*idx;
	struct atc_repo_commit	 rc;
	struct atc_buf		 unsig;
	char			 err[ATC_ERRLEN];
	size_t			 pos, n = 0;

	if (atc_car_open(&car, data, len, 0, err, sizeof(err)) == -1)
		return 0;
	pos = car.first;
	while (atc_car_next(&car, &pos, &b, err, sizeof(err)) == 1)
		(void)atc_car_block_verify(&b, err, sizeof(err));
	if ((idx = atc_car_index_new(&car, err, sizeof(err))) == NULL)
		return 0;
	if (car.root != NULL && atc_repo_commit_read(&rc, idx, car.root,
	    car.root_len, err, sizeof(err)) == 0) {
		atc_buf_init(&unsig, 256);
		(void)atc_repo_commit_unsigned(&unsig, &rc, err, sizeof(err));
		atc_buf_cleanup(&unsig);
		(void)atc_mst_walk(idx, rc.data, rc.data_len, count, &n, err,
		    sizeof(err));
	}
	atc_car_index_free(idx);
	return 0;
}
