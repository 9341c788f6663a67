/* SPDX-License-Identifier: ISC */
/*
 * A one-thread HTTP/1.1 server on 127.0.0.1 for unit tests of HTTP
 * clients (the DID resolver): each request's path is looked up in a table
 * of canned answers, one connection per request. An answer can be repeated
 * a number of times before the next row with the same path applies (5xx
 * then 200), can stall (no answer: client timeouts) or be large. Header-only
 * so tests link it without a Makefile rule; every function is static.
 */
#ifndef TESTS_TINY_HTTPD_H
#define TESTS_TINY_HTTPD_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TINY_MAXROUTES	16

struct tiny_route {
	const char	*path;		/* exact request path */
	int		 status;	/* 0 = stall: read, never answer */
	const char	*body;		/* NULL with big_len: big_len 'x' */
	size_t		 big_len;
	int		 times;		/* answers before the next row; 0 = all */
	int		 served;	/* so far */
};

struct tiny_httpd {
	int			fd;
	int			port;
	pthread_t		thread;
	atomic_int		stop;
	atomic_int		nrequests;
	pthread_mutex_t		mu;
	struct tiny_route	routes[TINY_MAXROUTES];
	size_t			nroutes;
};

static struct tiny_route *
tiny_match(struct tiny_httpd *h, const char *path)
{
	struct tiny_route	*r, *last = NULL;
	size_t			 i;

	for (i = 0; i < h->nroutes; i++) {
		r = &h->routes[i];
		if (strcmp(r->path, path) != 0)
			continue;
		last = r;
		if (r->times == 0 || r->served < r->times)
			return r;
	}
	return last;
}

static void
tiny_answer(struct tiny_httpd *h, int c)
{
	struct tiny_route	*r;
	char			 req[4096], path[1024], head[256];
	const char		*body;
	char			*big = NULL;
	size_t			 len = 0, blen;
	ssize_t			 n;
	int			 status;

	while (len < sizeof(req) - 1 &&
	    (n = read(c, req + len, sizeof(req) - 1 - len)) > 0) {
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[len] = '\0';
	if (sscanf(req, "GET %1023s ", path) != 1)
		return;
	atomic_fetch_add(&h->nrequests, 1);
	pthread_mutex_lock(&h->mu);
	r = tiny_match(h, path);
	if (r != NULL)
		r->served++;
	status = r != NULL ? r->status : 404;
	body = r != NULL && r->body != NULL ? r->body : "{}";
	blen = strlen(body);
	if (r != NULL && r->body == NULL && r->big_len > 0) {
		big = malloc(r->big_len);
		memset(big, 'x', r->big_len);
		body = big;
		blen = r->big_len;
	}
	pthread_mutex_unlock(&h->mu);
	if (status == 0) {	/* stall until the client gives up */
		while (!atomic_load(&h->stop) && read(c, req, 1) > 0)
			;
		free(big);
		return;
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n", status, blen);
	(void)!write(c, head, (size_t)n);
	while (blen > 0 && (n = write(c, body, blen)) > 0) {
		body += n;
		blen -= (size_t)n;
	}
	free(big);
}

static void *
tiny_run(void *arg)
{
	struct tiny_httpd	*h = arg;
	int			 c;

	while (!atomic_load(&h->stop)) {
		if ((c = accept(h->fd, NULL, NULL)) == -1)
			continue;
		if (!atomic_load(&h->stop))
			tiny_answer(h, c);
		close(c);
	}
	return NULL;
}

/* Starts the server with a copy of routes; returns 0 or -1. */
static int
tiny_start(struct tiny_httpd *h, const struct tiny_route *routes, size_t n)
{
	struct sockaddr_in	sa;
	socklen_t		salen = sizeof(sa);

	memset(h, 0, sizeof(*h));
	if (n > TINY_MAXROUTES)
		return -1;
	memcpy(h->routes, routes, n * sizeof(*routes));
	h->nroutes = n;
	pthread_mutex_init(&h->mu, NULL);
	if ((h->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(h->fd, 16) == -1 ||
	    getsockname(h->fd, (struct sockaddr *)&sa, &salen) == -1) {
		close(h->fd);
		return -1;
	}
	h->port = ntohs(sa.sin_port);
	if (pthread_create(&h->thread, NULL, tiny_run, h) != 0) {
		close(h->fd);
		return -1;
	}
	return 0;
}

/* Stops the thread (a last connection wakes accept) and closes. */
static void
tiny_stop(struct tiny_httpd *h)
{
	struct sockaddr_in	sa;
	int			c;

	atomic_store(&h->stop, 1);
	shutdown(h->fd, SHUT_RDWR);
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) != -1) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t)h->port);
		(void)connect(c, (struct sockaddr *)&sa, sizeof(sa));
		close(c);
	}
	pthread_join(h->thread, NULL);
	close(h->fd);
	pthread_mutex_destroy(&h->mu);
}

#endif
