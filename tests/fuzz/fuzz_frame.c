/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: one subscribeRepos frame through the decoder, with and
 * without record hashing (so mutated records still reach the op paths),
 * then the commit object of #commit frames through the repo commit reader
 * and its unsigned re-encoding. Every Jetstream line written for a kept op,
 * identity or account event must parse as JSON (jansson, JSON_ALLOW_NUL):
 * that is what the processor does with it. Any crash or sanitizer report
 * is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "buf.h"
#include "car.h"
#include "frame.h"
#include "jsout.h"
#include "mst.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_commit(const struct atc_frame *f)
{
	struct atc_car		 car;
	struct atc_car_index	*idx;
	struct atc_repo_commit	 rc;
	struct atc_buf		 unsig;
	char			 err[ATC_ERRLEN];

	if (f->commit == NULL || f->blocks == NULL)
		return;
	if (atc_car_open(&car, f->blocks, f->blocks_len, f->blocks_offset,
	    err, sizeof(err)) == -1)
		return;
	if ((idx = atc_car_index_new(&car, err, sizeof(err))) == NULL)
		return;
	if (atc_repo_commit_read(&rc, idx, f->commit, f->commit_len, err,
	    sizeof(err)) == 0) {
		atc_buf_init(&unsig, 256);
		(void)atc_repo_commit_unsigned(&unsig, &rc, err, sizeof(err));
		atc_buf_cleanup(&unsig);
	}
	atc_car_index_free(idx);
}

static void
check_json(const struct atc_buf *line)
{
	json_error_t	 jerr;
	json_t		*v;

	v = json_loadb((const char *)line->data, line->len, JSON_ALLOW_NUL,
	    &jerr);
	if (v == NULL) {
		fprintf(stderr, "jsout line is not JSON: %s\n", jerr.text);
		abort();
	}
	json_decref(v);
}

static void
check_lines(const struct atc_frame *f)
{
	struct atc_buf	line;
	char		err[ATC_ERRLEN];
	size_t		i;
	int		r = -1;

	atc_buf_init(&line, 256);
	if (f->kind == ATC_FRAME_COMMIT) {
		for (i = 0; i < f->nops; i++) {
			if (f->ops[i].status != ATC_OP_OK)
				continue;
			atc_buf_reset(&line);
			if (atc_jsout_commit_op(&line, f, i, 1, "fuzz", err,
			    sizeof(err)) == 0)
				check_json(&line);
		}
	} else if (f->kind == ATC_FRAME_IDENTITY)
		r = atc_jsout_identity(&line, f, 1, err, sizeof(err));
	else if (f->kind == ATC_FRAME_ACCOUNT)
		r = atc_jsout_account(&line, f, 1, err, sizeof(err));
	if (r == 0)
		check_json(&line);
	atc_buf_cleanup(&line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct atc_frame	f;
	struct atc_frame_opts	opts = { .verify = false };
	char			err[ATC_ERRLEN];
	int			pass;

	atc_frame_init(&f);
	for (pass = 0; pass < 2; pass++) {
		opts.verify = pass == 0;
		if (atc_frame_decode(&f, data, len, &opts, err,
		    sizeof(err)) == -1)
			continue;
		check_lines(&f);
		if (f.kind == ATC_FRAME_COMMIT)
			check_commit(&f);
	}
	atc_frame_cleanup(&f);
	return 0;
}
