/* SPDX-License-Identifier: ISC */
/*
 * loadsrc: a subscribeRepos firehose on loopback for the end-to-end
 * benchmark. One WebSocket client at a time (a new one replaces the old);
 * frames come from loadgen at a fixed rate of ops per second, paced against
 * the clock from the first connection. ?cursor=N replays from N+1 (frames
 * are a pure function of seq) and then continues live. Each op's at-uri,
 * rev and first send time (Unix us) go to the --log file as TSV, which the
 * benchmark joins with the rows in Postgres for loss and latency. Output
 * is bounded: frames are generated only while less than LS_OUT_MAX bytes
 * wait for the socket, so a slow consumer slows the source down instead of
 * growing memory; the achieved rate is reported.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "loadgen.h"
#include "util.h"

#define LS_OUT_MAX	(256 * 1024)	/* bytes waiting for the socket */
#define LS_IN_MAX	(16 * 1024)	/* request or client frames buffered */
#define LS_WS_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct ls_client {
	int		 fd;		/* -1 when none */
	bool		 streaming;	/* handshake done */
	struct atc_buf	 in;		/* request / client frames */
	struct atc_buf	 out;		/* frames not yet written */
	size_t		 out_off;	/* written bytes of out */
	uint64_t	 next_seq;	/* next frame to send */
};

struct ls_state {
	struct loadgen	 gen;
	uint64_t	 rate;		/* ops per second */
	uint64_t	 nops;		/* total live ops */
	uint64_t	 head;		/* highest seq generated so far */
	uint64_t	 t0_us;		/* wall time of the first live op */
	uint64_t	 last_us;	/* wall time of the last one */
	uint64_t	 max_lag_us;	/* worst delay behind the schedule */
	uint64_t	 hold_us;	/* idle time before the first live op */
	FILE		*log;		/* TSV uri, rev, sent_us */
	bool		 reported;
	struct atc_buf	 frame;		/* scratch */
};

static volatile sig_atomic_t	ls_stop;

static void
ls_on_signal(int sig)
{
	(void)sig;
	ls_stop = 1;
}

static void
ls_client_close(struct ls_client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->streaming = false;
	atc_buf_reset(&c->in);
	atc_buf_reset(&c->out);
	c->out_off = 0;
}

static void
ls_ws_header(struct atc_buf *out, int opcode, size_t len)
{
	uint8_t	h[10];
	size_t	n, i;

	h[0] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		h[1] = (uint8_t)len;
		n = 2;
	} else if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		n = 4;
	} else {
		h[1] = 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	atc_buf_append(out, h, n);
}

/* Parses the upgrade request once complete: 1 done, 0 need more, -1 bad. */
static int
ls_handshake(struct ls_state *st, struct ls_client *c)
{
	const char	*req = atc_buf_cstr(&c->in), *end, *p, *k, *ke;
	char		 key[128], acc[64];
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	unsigned long long cursor;

	if ((end = strstr(req, "\r\n\r\n")) == NULL)
		return c->in.len >= LS_IN_MAX ? -1 : 0;
	if (strncmp(req, "GET ", 4) != 0)
		return -1;
	k = NULL;
	for (p = strstr(req, "\r\n"); p != NULL && p < end;
	    p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, "sec-websocket-key:", 18) == 0) {
			k = p + 20;
			break;
		}
	if (k == NULL)
		return -1;
	while (*k == ' ')
		k++;
	if ((ke = strstr(k, "\r\n")) == NULL || ke - k <= 0 ||
	    (size_t)(ke - k) + sizeof(LS_WS_GUID) > sizeof(key))
		return -1;
	(void)snprintf(key, sizeof(key), "%.*s%s", (int)(ke - k), k,
	    LS_WS_GUID);
	if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha1(), NULL) != 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)acc, md, (int)mdlen);

	c->next_seq = st->head + 1;
	p = strstr(req, "cursor=");
	if (p != NULL && p < strstr(req, "\r\n")) {
		cursor = strtoull(p + 7, NULL, 10);
		if (cursor < st->head)
			c->next_seq = cursor + 1;
	}
	atc_buf_appendf(&c->out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
	atc_buf_reset(&c->in);
	c->streaming = true;
	if (st->t0_us == 0)
		st->t0_us = atc_wall_us() + st->hold_us;
	fprintf(stderr, "loadsrc: client streaming from seq %" PRIu64 "\n",
	    c->next_seq);
	return 1;
}

/* Consumes complete client frames: answers pings, honours close.
 * Returns -1 when the connection must end. */
static int
ls_client_frames(struct ls_client *c)
{
	uint8_t		*d;
	uint64_t	 len;
	size_t		 hl, i, used = 0, avail;
	int		 opcode;

	for (;;) {
		d = c->in.data + used;
		avail = c->in.len - used;
		if (avail < 2)
			break;
		opcode = d[0] & 0x0f;
		len = d[1] & 0x7f;
		hl = 2;
		if (len == 126) {
			if (avail < 4)
				break;
			len = (uint64_t)d[2] << 8 | d[3];
			hl = 4;
		} else if (len == 127)
			return -1;	/* clients send nothing that big */
		if (d[1] & 0x80)
			hl += 4;
		if (len > LS_IN_MAX)
			return -1;
		if (avail < hl + len)
			break;
		if (d[1] & 0x80)
			for (i = 0; i < len; i++)
				d[hl + i] ^= d[hl - 4 + (i & 3)];
		if (opcode == 0x8)
			return -1;
		if (opcode == 0x9) {
			ls_ws_header(&c->out, 0xa, (size_t)len);
			atc_buf_append(&c->out, d + hl, (size_t)len);
		}
		used += hl + (size_t)len;
	}
	if (used > 0) {
		memmove(c->in.data, c->in.data + used, c->in.len - used);
		c->in.len -= used;
	}
	return c->in.len >= LS_IN_MAX ? -1 : 0;
}

static void
ls_queue_frame(struct ls_state *st, struct ls_client *c, uint64_t s,
    uint64_t now_us)
{
	char	uri[160], rev[14];

	atc_buf_reset(&st->frame);
	loadgen_frame(&st->gen, s, now_us, &st->frame);
	ls_ws_header(&c->out, 0x2, st->frame.len);
	atc_buf_append(&c->out, st->frame.data, st->frame.len);
	if (s > st->head) {
		st->head = s;
		st->last_us = now_us;
		(void)loadgen_op(&st->gen, s, uri, sizeof(uri), rev);
		if (st->log != NULL)
			fprintf(st->log, "%s\t%s\t%" PRIu64 "\n", uri, rev,
			    now_us);
	}
}

/* Queues every frame that is due. Returns microseconds until the next
 * one (0: more are due right now but the output is full). */
static uint64_t
ls_fill(struct ls_state *st, struct ls_client *c)
{
	uint64_t	now = atc_wall_us(), due, lag;

	while (c->out.len - c->out_off < LS_OUT_MAX) {
		if (c->next_seq <= st->head) {
			ls_queue_frame(st, c, c->next_seq++, now);
			continue;
		}
		if (c->next_seq > st->nops)
			return 1000000;
		due = st->t0_us + (c->next_seq - 1) * 1000000 / st->rate;
		if (due > now)
			return due - now;
		lag = now - due;
		if (lag > st->max_lag_us)
			st->max_lag_us = lag;
		ls_queue_frame(st, c, c->next_seq++, now);
	}
	return 0;
}

static void
ls_report(struct ls_state *st)
{
	double	secs;

	if (st->reported || st->head < st->nops)
		return;
	st->reported = true;
	if (st->log != NULL)
		fflush(st->log);
	secs = (double)(st->last_us - st->t0_us) / 1e6;
	printf("{\"sent\":%" PRIu64 ",\"first_us\":%" PRIu64 ",\"last_us\":%"
	    PRIu64 ",\"seconds\":%.3f,\"ops_per_s\":%.0f,\"target_ops_per_s\":%"
	    PRIu64 ",\"max_lag_ms\":%.1f}\n", st->head, st->t0_us,
	    st->last_us, secs, secs > 0 ? (double)st->head / secs : 0.0,
	    st->rate, (double)st->max_lag_us / 1000);
	fflush(stdout);
}

static int
ls_listen(const char *hostport)
{
	struct sockaddr_in	sin;
	char			host[64];
	const char		*colon = strrchr(hostport, ':');
	int			fd, one = 1;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 8) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
ls_usage(void)
{
	fprintf(stderr, "usage: loadsrc --listen HOST:PORT --rate OPS_PER_S "
	    "--ops N [--dids N] [--lag-s S] [--hold-ms MS]\n"
	    "               [--log FILE]\n");
}

static int
ls_arg(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char			*end;
	unsigned long long	 n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static void
ls_io(struct ls_state *st, struct ls_client *c, short revents)
{
	uint8_t	 chunk[4096];
	ssize_t	 n;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = read(c->fd, chunk, sizeof(chunk));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			fprintf(stderr, "loadsrc: client gone\n");
			ls_client_close(c);
			return;
		}
		if (n > 0)
			atc_buf_append(&c->in, chunk, (size_t)n);
		if (!c->streaming) {
			if (ls_handshake(st, c) == -1) {
				fprintf(stderr, "loadsrc: bad handshake\n");
				ls_client_close(c);
				return;
			}
		} else if (ls_client_frames(c) == -1) {
			ls_client_close(c);
			return;
		}
	}
	while (c->out_off < c->out.len) {
		n = write(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off);
		if (n <= 0) {
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				ls_client_close(c);
				return;
			}
			break;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out.len) {
		atc_buf_reset(&c->out);
		c->out_off = 0;
	}
}

int
main(int argc, char **argv)
{
	struct ls_state		 st;
	struct ls_client	 c;
	struct pollfd		 pfd[2];
	struct sigaction	 sa;
	struct timespec		 ts;
	const char		*listen_at = NULL, *logpath = NULL;
	uint64_t		 ndids = 1000, lag_s = 3, hold_ms = 0, wait_us;
	uint64_t		 lag;
	int			 lfd, fd, i, one = 1, ret = 1;

	memset(&st, 0, sizeof(st));
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			ls_usage();
			return 2;
		}
		if (strcmp(argv[i], "--listen") == 0)
			listen_at = argv[++i];
		else if (strcmp(argv[i], "--log") == 0)
			logpath = argv[++i];
		else if ((strcmp(argv[i], "--rate") == 0 &&
		    ls_arg(argv[++i], 1, 10000000, &st.rate) == 0) ||
		    (strcmp(argv[i], "--ops") == 0 &&
		    ls_arg(argv[++i], 1, 1000000000, &st.nops) == 0) ||
		    (strcmp(argv[i], "--dids") == 0 &&
		    ls_arg(argv[++i], 1, 10000000, &ndids) == 0) ||
		    (strcmp(argv[i], "--lag-s") == 0 &&
		    ls_arg(argv[++i], 0, 3600, &lag_s) == 0) ||
		    (strcmp(argv[i], "--hold-ms") == 0 &&
		    ls_arg(argv[++i], 0, 3600000, &hold_ms) == 0))
			continue;
		else {
			ls_usage();
			return 2;
		}
	}
	if (listen_at == NULL || st.rate == 0 || st.nops == 0) {
		ls_usage();
		return 2;
	}
	if ((lfd = ls_listen(listen_at)) == -1) {
		fprintf(stderr, "loadsrc: cannot listen on %s: %s\n",
		    listen_at, strerror(errno));
		return 1;
	}
	if (logpath != NULL && (st.log = fopen(logpath, "w")) == NULL) {
		fprintf(stderr, "loadsrc: cannot write %s\n", logpath);
		close(lfd);
		return 1;
	}
	/* A reference must trail its record by lag_s seconds of this DID's
	 * ops: rate / ndids ops per second each. */
	st.hold_us = hold_ms * 1000;
	lag = (lag_s * st.rate + ndids - 1) / ndids + 1;
	loadgen_init(&st.gen, atc_wall_us(), ndids, lag);
	atc_buf_init(&st.frame, 2048);
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	atc_buf_init(&c.in, 1024);
	atc_buf_init(&c.out, LS_OUT_MAX + 8192);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ls_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	fprintf(stderr, "loadsrc: listening on %s, %" PRIu64 " ops at %" PRIu64
	    "/s over %" PRIu64 " DIDs, reference lag %" PRIu64 " ops\n",
	    listen_at, st.nops, st.rate, ndids, lag);

	while (!ls_stop) {
		wait_us = 1000000;
		if (c.fd != -1 && c.streaming)
			wait_us = ls_fill(&st, &c);
		ls_report(&st);
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = c.fd;
		pfd[1].events = POLLIN;
		if (c.out_off < c.out.len)
			pfd[1].events |= POLLOUT;
		if (wait_us == 0 && !(pfd[1].events & POLLOUT))
			wait_us = 1000;
		ts.tv_sec = (time_t)(wait_us / 1000000);
		ts.tv_nsec = (long)(wait_us % 1000000) * 1000;
		if (ppoll(pfd, c.fd == -1 ? 1 : 2, &ts, NULL) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
			    SOCK_CLOEXEC);
			if (fd != -1) {
				/* Frames go out as they are due, as from a
				 * relay (Go sockets default to no Nagle):
				 * never held back for earlier ones' ACK. */
				(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
				    &one, sizeof(one));
				ls_client_close(&c);
				c.fd = fd;
			}
		}
		if (c.fd != -1 && pfd[1].revents != 0)
			ls_io(&st, &c, pfd[1].revents);
		else if (c.fd != -1 && c.out_off < c.out.len)
			ls_io(&st, &c, 0);
	}
	ret = 0;
	if (st.log != NULL)
		fclose(st.log);
	ls_client_close(&c);
	atc_buf_cleanup(&c.in);
	atc_buf_cleanup(&c.out);
	atc_buf_cleanup(&st.frame);
	loadgen_cleanup(&st.gen);
	close(lfd);
	return ret;
}
