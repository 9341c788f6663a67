/* SPDX-License-Identifier: ISC */
/*
 * `consumer decode`: a capture file in, Jetstream v1 lines out, exactly as
 * the live consumer would publish them (same frame decoder, same writer).
 * Lines are batched in one buffer and written in large chunks. Without
 * --keep-going the first bad frame or op stops the run with exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
#include "cmd_decode.h"
#include "frame.h"
#include "jsout.h"
#include "util.h"

#define DECODE_MAXCOLLECTIONS	100
#define DECODE_FLUSH		(64 * 1024)

static const char *const	default_collections[] = {
	"community.lexicon.calendar.event",
	"community.lexicon.calendar.rsvp",
	NULL,
};

static void
decode_usage(void)
{
	fprintf(stderr, "usage: consumer decode [--collection NSID]... [--all] "
	    "[--keep-going] [FILE|-]\n");
}

int
cmd_decode_read_file(struct atc_buf *out, const char *path, size_t max,
    char *err, size_t errlen)
{
	ssize_t	n;
	int	fd = -1, ret = -1;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return atc_seterr(err, errlen, "%s: %s", path, strerror(errno));
	for (;;) {
		atc_buf_reserve(out, 64 * 1024);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			atc_seterr(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > max) {
			atc_seterr(err, errlen, "%s: larger than %zu bytes",
			    path, max);
			goto out;
		}
	}
	ret = 0;
out:
	if (fd != STDIN_FILENO)
		close(fd);
	return ret;
}

static int
digits(const char **s, int n, int *out)
{
	int	v = 0;

	while (n-- > 0) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (*(*s)++ - '0');
	}
	*out = v;
	return 0;
}

int
cmd_decode_time_us(const char *s, uint64_t *out)
{
	struct tm	tm;
	time_t		t;
	int		y, mo, d, h, mi, sec, oh, om, sign;
	uint64_t	frac = 0, scale = 1000000;

	memset(&tm, 0, sizeof(tm));
	if (digits(&s, 4, &y) == -1 || *s++ != '-' ||
	    digits(&s, 2, &mo) == -1 || *s++ != '-' ||
	    digits(&s, 2, &d) == -1 || (*s != 'T' && *s != 't') ||
	    (s++, digits(&s, 2, &h)) == -1 || *s++ != ':' ||
	    digits(&s, 2, &mi) == -1 || *s++ != ':' ||
	    digits(&s, 2, &sec) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
			s++;
		}
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1 || t < 0)
		return -1;
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh) == -1 || *s++ != ':' ||
		    digits(&s, 2, &om) == -1)
			return -1;
		t -= sign * (oh * 3600 + om * 60);
	} else
		return -1;
	if (*s != '\0' || t < 0)
		return -1;
	*out = (uint64_t)t * 1000000 + frac;
	return 0;
}

int
cmd_decode_frame(struct atc_frame *f, struct atc_buf *out,
    const uint8_t *data, size_t len, const struct atc_frame_opts *opts,
    size_t *nevents, size_t *nfailed, char *err, size_t errlen)
{
	uint64_t	time_us = 0;
	size_t		old = out->len, i, n = 0;
	int		ret = -1;

	*nevents = 0;
	*nfailed = 0;
	if (atc_frame_decode(f, data, len, opts, err, errlen) == -1)
		goto out;
	if (f->time != NULL && cmd_decode_time_us(f->time, &time_us) == -1)
		time_us = 0;
	switch (f->kind) {
	case ATC_FRAME_COMMIT:
		for (i = 0; i < f->nops; i++) {
			if (f->ops[i].status == ATC_OP_FILTERED)
				continue;
			if (f->ops[i].status == ATC_OP_FAILED) {
				if ((*nfailed)++ == 0)
					atc_seterr(err, errlen,
					    "op %zu (%s/%s): %s", i,
					    f->ops[i].collection ?
					    f->ops[i].collection : "?",
					    f->ops[i].rkey ? f->ops[i].rkey :
					    "?", f->ops[i].error);
				continue;
			}
			if (atc_jsout_commit_op(out, f, i, time_us, NULL, err,
			    errlen) == -1)
				goto out;
			atc_buf_putc(out, '\n');
			n++;
		}
		break;
	case ATC_FRAME_IDENTITY:
		if (atc_jsout_identity(out, f, time_us, err, errlen) == -1)
			goto out;
		atc_buf_putc(out, '\n');
		n++;
		break;
	case ATC_FRAME_ACCOUNT:
		if (atc_jsout_account(out, f, time_us, err, errlen) == -1)
			goto out;
		atc_buf_putc(out, '\n');
		n++;
		break;
	default:
		break;
	}
	*nevents = n;
	ret = 0;
out:
	if (ret == -1)
		atc_buf_truncate(out, old);
	return ret;
}

static int
flush(struct atc_buf *b)
{
	if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len)
		return -1;
	atc_buf_reset(b);
	return 0;
}

int
cmd_decode_main(int argc, char **argv)
{
	const char		*colls[DECODE_MAXCOLLECTIONS + 1];
	const char		*path = "-";
	struct atc_frame_opts	 opts;
	struct atc_frame	 f;
	struct atc_capture	 cap;
	struct atc_buf		 in, out;
	const uint8_t		*data;
	char			 err[ATC_ERRLEN];
	size_t			 len, ncolls = 0, nframes = 0, nevents = 0;
	size_t			 nbad = 0, n, nfail;
	char			 seq[32];
	bool			 all = false, keep_going = false, have_path = false;
	int			 i, r, ret = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--collection") == 0 && i + 1 < argc) {
			if (ncolls == DECODE_MAXCOLLECTIONS) {
				fprintf(stderr, "decode: more than %d "
				    "collections\n", DECODE_MAXCOLLECTIONS);
				return 2;
			}
			colls[ncolls++] = argv[++i];
		} else if (strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "--keep-going") == 0)
			keep_going = true;
		else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) &&
		    !have_path) {
			path = argv[i];
			have_path = true;
		} else {
			decode_usage();
			return 2;
		}
	}
	colls[ncolls] = NULL;
	memset(&opts, 0, sizeof(opts));
	opts.verify = true;
	if (!all)
		opts.collections = ncolls > 0 ? colls : default_collections;

	atc_buf_init(&in, 0);
	atc_buf_init(&out, DECODE_FLUSH * 2);
	atc_frame_init(&f);
	memset(&cap, 0, sizeof(cap));
	if (cmd_decode_read_file(&in, path, ATC_CAPTURE_MAXLEN, err,
	    sizeof(err)) == -1 ||
	    atc_capture_open(&cap, in.data, in.len, err, sizeof(err)) == -1) {
		fprintf(stderr, "decode: %s\n", err);
		goto out;
	}
	while ((r = atc_capture_next(&cap, &data, &len, err,
	    sizeof(err))) == 1) {
		nframes++;
		r = cmd_decode_frame(&f, &out, data, len, &opts, &n, &nfail,
		    err, sizeof(err));
		seq[0] = '\0';
		if (f.has_seq)
			(void)snprintf(seq, sizeof(seq), " seq %lld",
			    (long long)f.seq);
		if (r == -1 || nfail > 0) {
			fprintf(stderr, "decode: frame %zu%s: %s%s\n",
			    cap.index - 1, seq, err, nfail > 1 ?
			    " (and more ops)" : "");
			nbad += r == -1 ? 1 : nfail;
			if (!keep_going)
				goto out;
		}
		if (r == -1)
			continue;
		nevents += n;
		if (out.len >= DECODE_FLUSH && flush(&out) == -1) {
			fprintf(stderr, "decode: stdout: %s\n", strerror(errno));
			goto out;
		}
	}
	if (r == -1) {
		fprintf(stderr, "decode: %s\n", err);
		nbad++;
		if (!keep_going)
			goto out;
	}
	ret = nbad > 0 && !keep_going ? 1 : 0;
out:
	if (flush(&out) == -1 || fflush(stdout) == EOF) {
		fprintf(stderr, "decode: stdout: %s\n", strerror(errno));
		ret = 1;
	}
	if (keep_going)
		fprintf(stderr, "decode: %zu frames, %zu events, %zu skipped\n",
		    nframes, nevents, nbad);
	atc_capture_cleanup(&cap);
	atc_frame_cleanup(&f);
	atc_buf_cleanup(&out);
	atc_buf_cleanup(&in);
	return ret;
}
