/* SPDX-License-Identifier: ISC */
/*
 * The decode floor: the least work any verifying firehose decoder must do
 * per frame. "sha256" hashes every CAR block of every frame and nothing
 * else; "floor" adds a bare DAG-CBOR walk (full validation, no output) of
 * the frame's header and payload and of every block. "ops_floor" is the
 * floor of what a consumer must verify: the walk of the frame plus hash and
 * walk of each op's record block only (the blocks the consumer hashes;
 * commit and MST nodes are not needed to emit records). Frames are loaded and
 * decompressed before the clock starts, as in `consumer bench`, so the
 * numbers compare directly. Prints one JSON line on stdout.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "capture.h"
#include "car.h"
#include "cbor.h"
#include "crypto_hash.h"
#include "frame.h"
#include "util.h"

#define FLOOR_DEFAULT_PASSES	200
#define FLOOR_MAX_PASSES	1000000
#define FLOOR_MAX_FILE		((size_t)64 << 20)

struct floor_frame {
	const uint8_t	*data;
	size_t		 len;
	const uint8_t	*blocks;	/* CAR bytes inside data, or NULL */
	size_t		 blocks_len;
	size_t		 first_rec;	/* index into the record table */
	size_t		 nrecs;
};

struct floor_rec {
	const uint8_t	*data;		/* an op's record block, in the frame */
	size_t		 len;
};

struct floor_run {
	size_t		 nframes;
	size_t		 nblocks;	/* per pass */
	size_t		 bytes;		/* frame bytes per pass */
	size_t		 block_bytes;	/* block bytes per pass */
	uint8_t		 sink;		/* keeps the hashes observable */
};

static double
floor_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
floor_read_file(struct atc_buf *out, const char *path, char *err,
    size_t errlen)
{
	FILE	*fp;
	uint8_t	 chunk[65536];
	size_t	 n;
	int	 ret = -1;

	if ((fp = fopen(path, "rb")) == NULL)
		return atc_seterr(err, errlen, "cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (out->len + n > FLOOR_MAX_FILE) {
			atc_seterr(err, errlen, "%s is over %zu bytes", path,
			    FLOOR_MAX_FILE);
			goto out;
		}
		atc_buf_append(out, chunk, n);
	}
	if (ferror(fp)) {
		atc_seterr(err, errlen, "read error on %s", path);
		goto out;
	}
	ret = 0;
out:
	fclose(fp);
	return ret;
}

/*
 * Walks one frame: header and payload, each validated in full. The payload's
 * "blocks" byte string is remembered so the CAR can be walked afterwards.
 */
static int
floor_walk_frame(struct floor_frame *fr, char *err, size_t errlen)
{
	struct atc_cbor		c;
	struct atc_cbor_item	it, key;
	size_t			used, i, npairs;

	if (atc_cbor_value_len(fr->data, fr->len, 0, &used, err,
	    errlen) == -1)
		return -1;
	atc_cbor_init(&c, fr->data + used, fr->len - used, used);
	if (atc_cbor_read(&c, &it, err, errlen) == -1)
		return -1;
	if (it.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen, "payload is not a map");
	npairs = it.count;
	for (i = 0; i < npairs; i++) {
		if (atc_cbor_read(&c, &key, err, errlen) == -1)
			return -1;
		if (atc_cbor_eq(&key, "blocks")) {
			if (atc_cbor_read(&c, &it, err, errlen) == -1)
				return -1;
			if (it.type == ATC_CBOR_BYTES) {
				fr->blocks = it.ptr;
				fr->blocks_len = it.len;
			}
		} else if (atc_cbor_skip(&c, err, errlen) == -1)
			return -1;
	}
	if (atc_cbor_offset(&c) != fr->len)
		return atc_seterr(err, errlen, "trailing bytes after payload");
	return 0;
}

/* Hashes (and when walk, validates) every block of one frame's CAR. */
static int
floor_blocks(const struct floor_frame *fr, bool walk, struct floor_run *run,
    char *err, size_t errlen)
{
	struct atc_car		car;
	struct atc_car_block	b;
	uint8_t			md[ATC_SHA256_LEN];
	size_t			pos;
	int			r;

	if (fr->blocks == NULL)
		return 0;
	if (atc_car_open(&car, fr->blocks, fr->blocks_len, 0, err,
	    errlen) == -1)
		return -1;
	pos = car.first;
	while ((r = atc_car_next(&car, &pos, &b, err, errlen)) == 1) {
		atc_sha256(md, b.data, b.len);
		run->sink ^= md[0];
		if (walk && atc_cbor_validate(b.data, b.len, 0, err,
		    errlen) == -1)
			return -1;
	}
	return r;
}

/* Walk of the frame, then hash and walk of each op's record block. */
static int
floor_ops(struct floor_frame *fr, const struct floor_rec *recs,
    struct floor_run *run, char *err, size_t errlen)
{
	uint8_t	md[ATC_SHA256_LEN];
	size_t	i;

	if (floor_walk_frame(fr, err, errlen) == -1)
		return -1;
	for (i = fr->first_rec; i < fr->first_rec + fr->nrecs; i++) {
		atc_sha256(md, recs[i].data, recs[i].len);
		run->sink ^= md[0];
		if (atc_cbor_validate(recs[i].data, recs[i].len, 0, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

static void
floor_usage(void)
{
	fprintf(stderr, "usage: decode_floor FILE [--passes N]\n");
}

int
main(int argc, char **argv)
{
	struct atc_capture	 cap;
	struct atc_buf		 in;
	struct floor_frame	*frames = NULL;
	struct floor_rec	*recs = NULL;
	struct atc_frame	 f;
	struct atc_frame_opts	 fopts;
	size_t			 nrecs = 0, caprecs = 0, j;
	struct floor_run	 run;
	const uint8_t		*data;
	const char		*path = NULL;
	char			 err[ATC_ERRLEN], *end;
	size_t			 len, capn = 0, k, pass;
	struct atc_car		 car;
	struct atc_car_block	 b;
	unsigned long		 passes = FLOOR_DEFAULT_PASSES;
	double			 t0, t_sha, t_floor, t_ops;
	int			 i, r, ret = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
			passes = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || passes == 0 ||
			    passes > FLOOR_MAX_PASSES) {
				fprintf(stderr, "decode_floor: --passes must "
				    "be 1..%d\n", FLOOR_MAX_PASSES);
				return 2;
			}
		} else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else {
			floor_usage();
			return 2;
		}
	}
	if (path == NULL) {
		floor_usage();
		return 2;
	}
	memset(&run, 0, sizeof(run));
	memset(&cap, 0, sizeof(cap));
	memset(&fopts, 0, sizeof(fopts));
	atc_frame_init(&f);
	atc_buf_init(&in, 0);
	if (floor_read_file(&in, path, err, sizeof(err)) == -1 ||
	    atc_capture_open(&cap, in.data, in.len, err, sizeof(err)) == -1)
		goto fail;
	while ((r = atc_capture_next(&cap, &data, &len, err,
	    sizeof(err))) == 1) {
		if (run.nframes == capn) {
			capn = capn ? capn * 2 : 256;
			frames = atc_xrealloc(frames, capn * sizeof(*frames));
		}
		memset(&frames[run.nframes], 0, sizeof(*frames));
		frames[run.nframes].data = data;
		frames[run.nframes].len = len;
		if (floor_walk_frame(&frames[run.nframes], err,
		    sizeof(err)) == -1)
			goto fail;
		/* The record blocks the ops name, found once, untimed. */
		if (atc_frame_decode(&f, data, len, &fopts, err,
		    sizeof(err)) == -1)
			goto fail;
		frames[run.nframes].first_rec = nrecs;
		for (j = 0; j < f.nops; j++) {
			if (f.ops[j].record == NULL)
				continue;
			if (nrecs == caprecs) {
				caprecs = caprecs ? caprecs * 2 : 256;
				recs = atc_xrealloc(recs, caprecs *
				    sizeof(*recs));
			}
			recs[nrecs].data = f.ops[j].record;
			recs[nrecs++].len = f.ops[j].record_len;
			frames[run.nframes].nrecs++;
		}
		run.bytes += len;
		run.nframes++;
	}
	if (r == -1)
		goto fail;
	if (run.nframes == 0) {
		atc_seterr(err, sizeof(err), "%s holds no frames", path);
		goto fail;
	}
	for (k = 0; k < run.nframes; k++) {
		if (frames[k].blocks == NULL ||
		    atc_car_open(&car, frames[k].blocks, frames[k].blocks_len,
		    0, err, sizeof(err)) == -1)
			continue;
		len = car.first;
		while (atc_car_next(&car, &len, &b, err, sizeof(err)) == 1) {
			run.nblocks++;
			run.block_bytes += b.len;
		}
	}

	t0 = floor_now();
	for (pass = 0; pass < passes; pass++)
		for (k = 0; k < run.nframes; k++)
			if (floor_blocks(&frames[k], false, &run, err,
			    sizeof(err)) == -1)
				goto fail;
	t_sha = floor_now() - t0;

	t0 = floor_now();
	for (pass = 0; pass < passes; pass++)
		for (k = 0; k < run.nframes; k++)
			if (floor_walk_frame(&frames[k], err,
			    sizeof(err)) == -1 ||
			    floor_blocks(&frames[k], true, &run, err,
			    sizeof(err)) == -1)
				goto fail;
	t_floor = floor_now() - t0;

	t0 = floor_now();
	for (pass = 0; pass < passes; pass++)
		for (k = 0; k < run.nframes; k++)
			if (floor_ops(&frames[k], recs, &run, err,
			    sizeof(err)) == -1)
				goto fail;
	t_ops = floor_now() - t0;
	if (t_ops <= 0)
		t_ops = 1e-9;
	if (t_sha <= 0)
		t_sha = 1e-9;
	if (t_floor <= 0)
		t_floor = 1e-9;

	printf("{\"frames\":%zu,\"blocks_per_pass\":%zu,"
	    "\"block_bytes_per_pass\":%zu,\"passes\":%lu,"
	    "\"sha256_frames_per_s\":%.0f,\"sha256_mb_per_s\":%.1f,"
	    "\"floor_frames_per_s\":%.0f,\"floor_mb_per_s\":%.1f,"
	    "\"record_blocks_per_pass\":%zu,"
	    "\"ops_floor_frames_per_s\":%.0f,\"ops_floor_mb_per_s\":%.1f,"
	    "\"sink\":%u}\n",
	    run.nframes, run.nblocks, run.block_bytes, passes,
	    (double)run.nframes * (double)passes / t_sha,
	    (double)run.bytes * (double)passes / t_sha / 1e6,
	    (double)run.nframes * (double)passes / t_floor,
	    (double)run.bytes * (double)passes / t_floor / 1e6, nrecs,
	    (double)run.nframes * (double)passes / t_ops,
	    (double)run.bytes * (double)passes / t_ops / 1e6,
	    (unsigned)run.sink);
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "decode_floor: %s\n", err);
out:
	free(recs);
	free(frames);
	atc_frame_cleanup(&f);
	atc_capture_cleanup(&cap);
	atc_buf_cleanup(&in);
	return ret;
}
