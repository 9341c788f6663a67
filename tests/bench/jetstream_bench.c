/* SPDX-License-Identifier: ISC */
/*
 * Jetstream throughput: parse, filter and re-emit of JSON events with the
 * consumer's own jetstream_translate(), plain and zstd-compressed with the
 * Jetstream dictionary (each event one zstd frame, as compress=true sends
 * them; decompressed through shared/zst.h like the live consumer). The
 * compressed inputs are made once before the clock starts; that setup is
 * the only direct libzstd use, since the project has no compressor.
 * Prints one JSON line per case on stdout.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "buf.h"
#include "jetstream.h"
#include "util.h"
#include "zst.h"

#define JSB_DEFAULT_PASSES	2000
#define JSB_MAX_PASSES		1000000
#define JSB_MAX_FILE		((size_t)64 << 20)
#define JSB_MAX_EVENT		((size_t)1 << 20)

struct jsb_event {
	const char	*json;		/* borrowed from the input file */
	size_t		 len;
	uint8_t		*zst;		/* owned: one zstd frame */
	size_t		 zst_len;
};

struct jsb_result {
	size_t	 published;
	size_t	 skipped;
	size_t	 out_bytes;
};

static const char *const jsb_calendar[] = {
	"community.lexicon.calendar.event", "community.lexicon.calendar.rsvp",
	"events.smokesignal.calendar.event", "events.smokesignal.calendar.rsvp",
	NULL
};

static double
jsb_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
jsb_read_file(struct atc_buf *out, const char *path, char *err,
    size_t errlen)
{
	FILE	*fp;
	uint8_t	 chunk[65536];
	size_t	 n;
	int	 ret = -1;

	if ((fp = fopen(path, "rb")) == NULL)
		return atc_seterr(err, errlen, "cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (out->len + n > JSB_MAX_FILE) {
			atc_seterr(err, errlen, "%s is over %zu bytes", path,
			    JSB_MAX_FILE);
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

/* Runs every event through translate `passes` times. zst: decompress
 * first. Returns seconds, or -1 and err on an invalid event. */
static double
jsb_run(const struct jsb_event *evs, size_t nevs, unsigned long passes,
    struct atc_zst *zst, const char *const *collections,
    struct jsb_result *res, char *err, size_t errlen)
{
	struct jetstream_event	ev;
	struct atc_buf		body, plain;
	enum jetstream_result	r;
	const char		*data;
	size_t			len, k;
	unsigned long		pass;
	double			t0, secs = -1;

	memset(res, 0, sizeof(*res));
	atc_buf_init(&body, 4096);
	atc_buf_init(&plain, 4096);
	t0 = jsb_now();
	for (pass = 0; pass < passes; pass++) {
		for (k = 0; k < nevs; k++) {
			data = evs[k].json;
			len = evs[k].len;
			if (zst != NULL) {
				atc_buf_reset(&plain);
				if (atc_zst_message(zst, &plain, evs[k].zst,
				    evs[k].zst_len, JSB_MAX_EVENT, err,
				    errlen) == -1)
					goto out;
				data = (const char *)plain.data;
				len = plain.len;
			}
			atc_buf_reset(&body);
			r = jetstream_translate(data, len, collections, false,
			    "127.0.0.1:6008", &body, &ev, err, errlen);
			if (r == JETSTREAM_INVALID)
				goto out;
			if (r == JETSTREAM_PUBLISH) {
				res->published++;
				res->out_bytes += body.len;
			} else
				res->skipped++;
		}
	}
	secs = jsb_now() - t0;
	if (secs <= 0)
		secs = 1e-9;
out:
	atc_buf_cleanup(&plain);
	atc_buf_cleanup(&body);
	return secs;
}

static void
jsb_usage(void)
{
	fprintf(stderr, "usage: jetstream_bench EVENTS.jsonl DICT "
	    "[--passes N]\n");
}

int
main(int argc, char **argv)
{
	struct atc_buf		 file, dict;
	struct jsb_event	*evs = NULL;
	struct jsb_result	 res;
	struct atc_zst		*zst = NULL;
	ZSTD_CDict		*cdict = NULL;
	ZSTD_CCtx		*cctx = NULL;
	const char		*path = NULL, *dictpath = NULL, *p, *nl, *fend;
	const char *const	*colls;
	char			 err[ATC_ERRLEN], *end;
	size_t			 nevs = 0, capn = 0, k, bytes = 0, zbytes = 0;
	size_t			 bound;
	unsigned long		 passes = JSB_DEFAULT_PASSES;
	double			 secs;
	int			 i, c, ret = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc) {
			passes = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || passes == 0 ||
			    passes > JSB_MAX_PASSES) {
				fprintf(stderr, "jetstream_bench: --passes "
				    "must be 1..%d\n", JSB_MAX_PASSES);
				return 2;
			}
		} else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else if (argv[i][0] != '-' && dictpath == NULL)
			dictpath = argv[i];
		else {
			jsb_usage();
			return 2;
		}
	}
	if (path == NULL || dictpath == NULL) {
		jsb_usage();
		return 2;
	}
	atc_buf_init(&file, 0);
	atc_buf_init(&dict, 0);
	if (jsb_read_file(&file, path, err, sizeof(err)) == -1 ||
	    jsb_read_file(&dict, dictpath, err, sizeof(err)) == -1)
		goto fail;
	if ((zst = atc_zst_new(dict.data, dict.len, err, sizeof(err))) == NULL)
		goto fail;
	if ((cdict = ZSTD_createCDict(dict.data, dict.len, 3)) == NULL ||
	    (cctx = ZSTD_createCCtx()) == NULL) {
		atc_seterr(err, sizeof(err), "cannot load the dictionary");
		goto fail;
	}

	p = (const char *)file.data;
	fend = p + file.len;
	while (p < fend) {
		nl = memchr(p, '\n', (size_t)(fend - p));
		if (nl == NULL)
			nl = fend;
		if (nl > p) {
			if (nevs == capn) {
				capn = capn ? capn * 2 : 256;
				evs = atc_xrealloc(evs, capn * sizeof(*evs));
			}
			evs[nevs].json = p;
			evs[nevs].len = (size_t)(nl - p);
			bound = ZSTD_compressBound(evs[nevs].len);
			evs[nevs].zst = atc_xmalloc(bound);
			evs[nevs].zst_len = ZSTD_compress_usingCDict(cctx,
			    evs[nevs].zst, bound, p, evs[nevs].len, cdict);
			if (ZSTD_isError(evs[nevs].zst_len)) {
				free(evs[nevs].zst);
				atc_seterr(err, sizeof(err), "zstd: %s",
				    ZSTD_getErrorName(evs[nevs].zst_len));
				goto fail;
			}
			bytes += evs[nevs].len;
			zbytes += evs[nevs].zst_len;
			nevs++;
		}
		p = nl + 1;
	}
	if (nevs == 0) {
		atc_seterr(err, sizeof(err), "%s holds no events", path);
		goto fail;
	}

	/* calendar: the production filter (this corpus has no calendar
	 * records, so everything is parsed and dropped); all: every commit
	 * is re-emitted as a message body. */
	for (c = 0; c < 4; c++) {
		colls = c % 2 == 0 ? jsb_calendar : NULL;
		secs = jsb_run(evs, nevs, passes, c < 2 ? NULL : zst, colls,
		    &res, err, sizeof(err));
		if (secs < 0)
			goto fail;
		printf("{\"case\":\"%s_%s\",\"events\":%zu,\"seconds\":%.6f,"
		    "\"events_per_s\":%.0f,\"in_mb_per_s\":%.1f,"
		    "\"published\":%zu,\"skipped\":%zu,"
		    "\"out_mb_per_s\":%.1f}\n",
		    c < 2 ? "plain" : "zstd", colls ? "calendar" : "all",
		    nevs * (size_t)passes, secs,
		    (double)nevs * (double)passes / secs,
		    (double)(c < 2 ? bytes : zbytes) * (double)passes /
		    secs / 1e6, res.published, res.skipped,
		    (double)res.out_bytes / secs / 1e6);
	}
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "jetstream_bench: %s\n", err);
out:
	for (k = 0; k < nevs; k++)
		free(evs[k].zst);
	free(evs);
	ZSTD_freeCCtx(cctx);
	ZSTD_freeCDict(cdict);
	atc_zst_free(zst);
	atc_buf_cleanup(&dict);
	atc_buf_cleanup(&file);
	return ret;
}
