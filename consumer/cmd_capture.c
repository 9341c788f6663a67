/* SPDX-License-Identifier: ISC */
/*
 * Raw frame recorder for bug reports and fixtures. Frames are written
 * exactly as received, each prefixed by its length, so a capture replays
 * byte for byte through `consumer decode`.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd_capture.h"
#include "frame.h"
#include "util.h"
#include "ws.h"

struct capture {
	struct ws_client	*ws;
	FILE			*out;
	long long		 max_frames;
	long long		 frames;
	int			 failed;
	int			 done;
};

static volatile sig_atomic_t	capture_stop;

static void
capture_on_signal(int sig)
{
	(void)sig;
	capture_stop = 1;
}

static int
capture_message(void *arg, const uint8_t *data, size_t len, int binary)
{
	struct capture	*c = arg;
	uint8_t		 hdr[4];

	if (c->done)
		return 0;
	hdr[0] = (uint8_t)len;
	hdr[1] = (uint8_t)(len >> 8);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)(len >> 24);
	if (fwrite(hdr, 1, 4, c->out) != 4 ||
	    fwrite(data, 1, len, c->out) != len) {
		fprintf(stderr, "capture: write failed: %s\n", strerror(errno));
		c->failed = 1;
		c->done = 1;
		ws_stop(c->ws);
		return -1;
	}
	if (!binary)
		fprintf(stderr, "capture: note: text frame %lld\n", c->frames);
	if (++c->frames >= c->max_frames && c->max_frames > 0) {
		c->done = 1;
		ws_stop(c->ws);
	}
	return 0;
}

static void
capture_oversized(void *arg, size_t len)
{
	fprintf(stderr, "capture: skipped a %zu-byte message (over limit)\n",
	    len);
}

static void
capture_disconnected(void *arg, const char *reason, int retry_after_s)
{
	struct capture	*c = arg;

	if (!c->done)
		fprintf(stderr, "capture: disconnected: %s\n", reason);
	c->done = 1;
	ws_stop(c->ws);
}

static void
capture_tick(void *arg)
{
	struct capture	*c = arg;

	if (capture_stop && !c->done) {
		c->done = 1;
		ws_stop(c->ws);
	}
}

int
cmd_capture_main(int argc, char **argv)
{
	struct capture		 c;
	struct ws_events	 ev;
	struct atc_buf		 url;
	const char		*src = NULL, *outpath = NULL, *cursor = NULL;
	char			 err[ATC_ERRLEN];
	int			 i, ret = 1;

	memset(&c, 0, sizeof(c));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--cursor") == 0 && i + 1 < argc)
			cursor = argv[++i];
		else if (strcmp(argv[i], "--max-frames") == 0 && i + 1 < argc)
			c.max_frames = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			outpath = argv[++i];
		else if (argv[i][0] != '-' && src == NULL)
			src = argv[i];
		else {
			fprintf(stderr, "usage: consumer capture URL "
			    "[--cursor N] [--max-frames N] [-o FILE]\n");
			return 2;
		}
	}
	if (src == NULL) {
		fprintf(stderr, "usage: consumer capture URL [--cursor N] "
		    "[--max-frames N] [-o FILE]\n");
		return 2;
	}
	c.out = outpath ? fopen(outpath, "wb") : stdout;
	if (c.out == NULL) {
		fprintf(stderr, "capture: %s: %s\n", outpath, strerror(errno));
		return 1;
	}
	signal(SIGINT, capture_on_signal);
	signal(SIGTERM, capture_on_signal);
	memset(&ev, 0, sizeof(ev));
	ev.arg = &c;
	ev.message = capture_message;
	ev.oversized = capture_oversized;
	ev.disconnected = capture_disconnected;
	ev.tick = capture_tick;
	atc_buf_init(&url, 256);
	atc_buf_puts(&url, src);
	if (cursor != NULL)
		atc_buf_appendf(&url, "%scursor=%s", strchr(src, '?') ? "&" :
		    "?", cursor);
	if ((c.ws = ws_new(&ev, ATC_FRAME_MAXLEN + 1024, 60, err,
	    sizeof(err))) == NULL ||
	    ws_open(c.ws, atc_buf_cstr(&url), err, sizeof(err)) == -1) {
		fprintf(stderr, "capture: %s\n", err);
		goto out;
	}
	ws_run(c.ws);
	fprintf(stderr, "capture: %lld frames\n", c.frames);
	ret = c.failed ? 1 : 0;
out:
	if (fflush(c.out) != 0)
		ret = 1;
	if (outpath != NULL)
		fclose(c.out);
	ws_free(c.ws);
	atc_buf_cleanup(&url);
	return ret;
}
