/* SPDX-License-Identifier: ISC */
/*
 * `consumer bench`: decode throughput on a capture. The capture is loaded
 * and decompressed before the clock starts; each pass then decodes every
 * frame and writes the JSON of every op into one reused buffer, which is
 * what the live consumer does per frame (minus the network and RabbitMQ).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "capture.h"
#include "cmd_bench.h"
#include "cmd_decode.h"
#include "frame.h"
#include "util.h"

#define BENCH_DEFAULT_PASSES	200
#define BENCH_MAX_PASSES	1000000

struct bench_frame {
	const uint8_t	*data;
	size_t		 len;
};

static double
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_usage(void)
{
	fprintf(stderr,
	    "usage: consumer bench FILE [--passes N] [--no-verify]\n");
}

int
cmd_bench_main(int argc, char **argv)
{
	struct atc_frame_opts	 opts;
	struct atc_frame	 f;
	struct atc_capture	 cap;
	struct atc_buf		 in, out;
	struct bench_frame	*frames = NULL;
	const char		*path = NULL;
	const uint8_t		*data;
	char			 err[ATC_ERRLEN], *end;
	size_t			 nframes = 0, cap_frames = 0, len, bytes = 0;
	size_t			 ops = 0, n, nfail, pass, k;
	unsigned long		 passes = BENCH_DEFAULT_PASSES;
	double			 t0, secs;
	bool			 verify = true;
	int			 i, r, ret = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
			passes = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || passes == 0 ||
			    passes > BENCH_MAX_PASSES) {
				fprintf(stderr, "bench: --passes must be 1..%d\n",
				    BENCH_MAX_PASSES);
				return 2;
			}
		} else if (strcmp(argv[i], "--no-verify") == 0)
			verify = false;
		else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else {
			bench_usage();
			return 2;
		}
	}
	if (path == NULL) {
		bench_usage();
		return 2;
	}
	memset(&opts, 0, sizeof(opts));
	opts.verify = verify;
	atc_buf_init(&in, 0);
	atc_buf_init(&out, 64 * 1024);
	atc_frame_init(&f);
	memset(&cap, 0, sizeof(cap));
	if (cmd_decode_read_file(&in, path, ATC_CAPTURE_MAXLEN, err,
	    sizeof(err)) == -1 ||
	    atc_capture_open(&cap, in.data, in.len, err, sizeof(err)) == -1) {
		fprintf(stderr, "bench: %s\n", err);
		goto out;
	}
	while ((r = atc_capture_next(&cap, &data, &len, err,
	    sizeof(err))) == 1) {
		if (nframes == cap_frames) {
			cap_frames = cap_frames ? cap_frames * 2 : 256;
			frames = atc_xrealloc(frames,
			    cap_frames * sizeof(*frames));
		}
		frames[nframes].data = data;
		frames[nframes++].len = len;
		bytes += len;
	}
	if (r == -1) {
		fprintf(stderr, "bench: %s\n", err);
		goto out;
	}
	if (nframes == 0) {
		fprintf(stderr, "bench: %s holds no frames\n", path);
		goto out;
	}

	t0 = bench_now();
	for (pass = 0; pass < passes; pass++) {
		for (k = 0; k < nframes; k++) {
			atc_buf_reset(&out);
			if (cmd_decode_frame(&f, &out, frames[k].data,
			    frames[k].len, &opts, &n, &nfail, err,
			    sizeof(err)) == -1 || nfail > 0) {
				fprintf(stderr, "bench: frame %zu: %s\n", k,
				    err);
				goto out;
			}
			ops += n;
		}
	}
	secs = bench_now() - t0;
	if (secs <= 0)
		secs = 1e-9;
	printf("{\"frames\":%zu,\"ops\":%zu,\"seconds\":%.6f,"
	    "\"frames_per_s\":%.0f,\"mb_per_s\":%.1f,\"verify\":%s}\n",
	    nframes * (size_t)passes, ops, secs,
	    (double)nframes * (double)passes / secs,
	    (double)bytes * (double)passes / secs / 1e6,
	    verify ? "true" : "false");
	ret = 0;
out:
	free(frames);
	atc_capture_cleanup(&cap);
	atc_frame_cleanup(&f);
	atc_buf_cleanup(&out);
	atc_buf_cleanup(&in);
	return ret;
}
