/* SPDX-License-Identifier: ISC */
/*
 * A deliberately small HTTP/1.0-style server for operations traffic only:
 * one request per connection, request head capped at 4 KiB and read with a
 * 2 s deadline, GET only. It never touches service state except through
 * the registry's atomics and the readiness callback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "metrics.h"
#include "ops_http.h"
#include "util.h"

#define HEAD_MAX	4096
#define IO_TIMEOUT_MS	2000

struct atc_ops_http {
	int			 fd;		/* listening socket */
	int			 stop_pipe[2];
	pthread_t		 thread;
	struct atc_metrics	*metrics;	/* borrowed */
	char			*token;		/* owned or NULL */
	atc_ready_fn		 ready;
	void			*ready_arg;
};

static void
reply(int fd, int status, const char *ctype, const char *body, size_t len)
{
	char		 head[256];
	const char	*reason;
	int		 n;

	reason = status == 200 ? "OK" : status == 401 ? "Unauthorized" :
	    status == 404 ? "Not Found" : status == 405 ?
	    "Method Not Allowed" : status == 503 ? "Service Unavailable" :
	    "Bad Request";
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s"
	    "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
	    reason, ctype, len);
	if (n > 0 && send(fd, head, (size_t)n, MSG_NOSIGNAL) == n && len > 0)
		(void)send(fd, body, len, MSG_NOSIGNAL);
}

static int
read_head(int fd, char *buf, size_t cap)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	size_t		len = 0;
	ssize_t		n;
	uint64_t	deadline = atc_mono_ms() + IO_TIMEOUT_MS;

	while (len < cap - 1) {
		int left = (int)(deadline - atc_mono_ms());

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		if ((n = recv(fd, buf + len, cap - 1 - len, 0)) <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n"))
			return 0;
	}
	return -1;
}

static int
authorized(struct atc_ops_http *s, const char *head)
{
	const char	*h, *end;
	size_t		 n;

	if (s->token == NULL)
		return 1;
	if ((h = strcasestr(head, "\nAuthorization: Bearer ")) == NULL)
		return 0;
	h += strlen("\nAuthorization: Bearer ");
	end = h + strcspn(h, "\r\n");
	n = (size_t)(end - h);
	return atc_ct_equal(h, n, s->token, strlen(s->token));
}

static void
serve(struct atc_ops_http *s, int fd)
{
	char		head[HEAD_MAX], why[128], path[256];
	struct atc_buf	body;

	if (read_head(fd, head, sizeof(head)) == -1) {
		reply(fd, 400, "text/plain", "bad request\n", 12);
		return;
	}
	if (strncmp(head, "GET ", 4) != 0) {
		reply(fd, 405, "text/plain", "GET only\n", 9);
		return;
	}
	(void)snprintf(path, sizeof(path), "%.*s",
	    (int)strcspn(head + 4, " ?\r\n"), head + 4);
	if (strcmp(path, "/health/liveness") == 0) {
		reply(fd, 200, "application/json", "{\"status\":\"ok\"}\n", 16);
		return;
	}
	if (strcmp(path, "/health/readiness") == 0) {
		why[0] = '\0';
		if (s->ready == NULL || s->ready(s->ready_arg, why,
		    sizeof(why))) {
			reply(fd, 200, "application/json",
			    "{\"status\":\"ok\"}\n", 16);
			return;
		}
		atc_buf_init(&body, 256);
		atc_buf_appendf(&body, "{\"status\":\"unavailable\","
		    "\"reason\":\"%s\"}\n", why);
		reply(fd, 503, "application/json", atc_buf_cstr(&body),
		    body.len);
		atc_buf_cleanup(&body);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		if (!authorized(s, head)) {
			reply(fd, 401, "text/plain", "unauthorized\n", 13);
			return;
		}
		atc_buf_init(&body, 16384);
		atc_metrics_render(s->metrics, &body);
		reply(fd, 200, "text/plain; version=0.0.4", atc_buf_cstr(&body),
		    body.len);
		atc_buf_cleanup(&body);
		return;
	}
	reply(fd, 404, "text/plain", "not found\n", 10);
}

static void *
run(void *arg)
{
	struct atc_ops_http	*s = arg;
	struct pollfd		 pfd[2];
	int			 c;

	pfd[0].fd = s->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = s->stop_pipe[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if ((c = accept(s->fd, NULL, NULL)) == -1)
			continue;
		serve(s, c);
		close(c);
	}
	return NULL;
}

struct atc_ops_http *
atc_ops_http_start(const char *listen_addr, struct atc_metrics *metrics,
    const char *token, atc_ready_fn ready, void *ready_arg, char *err,
    size_t errlen)
{
	struct atc_ops_http	*s;
	struct addrinfo		 hints, *res = NULL;
	char			 host[256], port[16];
	int			 p, one = 1;

	if (atc_config_split_hostport(listen_addr, host, sizeof(host),
	    &p) == -1) {
		atc_seterr(err, errlen, "ops http: bad address %s",
		    listen_addr);
		return NULL;
	}
	(void)snprintf(port, sizeof(port), "%d", p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		atc_seterr(err, errlen, "ops http: bad address %s",
		    listen_addr);
		return NULL;
	}
	s = atc_xcalloc(1, sizeof(*s));
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	s->metrics = metrics;
	s->token = token && *token ? atc_xstrdup(token) : NULL;
	s->ready = ready;
	s->ready_arg = ready_arg;
	s->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd == -1 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    bind(s->fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(s->fd, 16) == -1 || pipe(s->stop_pipe) == -1) {
		atc_seterr(err, errlen, "ops http: %s: %s", listen_addr,
		    strerror(errno));
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		atc_seterr(err, errlen, "ops http: cannot start thread");
		goto fail;
	}
	freeaddrinfo(res);
	return s;
fail:
	freeaddrinfo(res);
	if (s->fd != -1)
		close(s->fd);
	if (s->stop_pipe[0] != -1) {
		close(s->stop_pipe[0]);
		close(s->stop_pipe[1]);
	}
	free(s->token);
	free(s);
	return NULL;
}

void
atc_ops_http_free(struct atc_ops_http *s)
{
	if (s == NULL)
		return;
	(void)write(s->stop_pipe[1], "x", 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	free(s->token);
	free(s);
}
