/* SPDX-License-Identifier: ISC */
/*
 * The processor's DID resolver thread. The loop thread never waits on the
 * network for a DID document: it queues a request and goes on; the worker
 * thread, sole user of its atc_didres (which is single-threaded), resolves
 * requests one at a time and queues each result, writing one byte to a
 * pipe when the result list becomes non-empty so the loop's poll wakes.
 * Both lists are guarded by one mutex; the pipe is drained under it when
 * the loop empties the result list, so a byte waits iff results do.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "didres.h"
#include "resolver.h"
#include "util.h"

struct req {
	uint64_t	 ticket;
	char		*did;		/* owned */
	bool		 force;
	struct req	*next;
};

struct done {
	struct resolver_result	 res;
	struct done		*next;
};

struct resolver {
	struct atc_didres	*didres;	/* owned; used by the thread */
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* requests or stop */
	struct req		*rhead, *rtail;	/* owned, guarded by mu */
	struct done		*dhead, *dtail;	/* owned, guarded by mu */
	bool			 stop;		/* guarded by mu */
	bool			 signalled;	/* a byte is in the pipe */
	int			 pipe[2];	/* [0] polled by the loop */
};

static void
notify_locked(struct resolver *r)
{
	char	c = 1;

	if (r->signalled)
		return;
	/* The pipe holds one byte at most: this write cannot block. */
	while (write(r->pipe[1], &c, 1) == -1 && errno == EINTR)
		;
	r->signalled = true;
}

static void *
resolver_run(void *arg)
{
	struct resolver	*r = arg;
	struct req	*q;
	struct done	*d;

	for (;;) {
		pthread_mutex_lock(&r->mu);
		while (!r->stop && r->rhead == NULL)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop) {
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		q = r->rhead;
		if ((r->rhead = q->next) == NULL)
			r->rtail = NULL;
		pthread_mutex_unlock(&r->mu);

		d = atc_xcalloc(1, sizeof(*d));
		d->res.ticket = q->ticket;
		d->res.result = atc_didres_resolve(r->didres, q->did, q->force,
		    &d->res.doc, &d->res.tombstoned, d->res.err,
		    sizeof(d->res.err));
		free(q->did);
		free(q);

		pthread_mutex_lock(&r->mu);
		if (r->dtail != NULL)
			r->dtail->next = d;
		else
			r->dhead = d;
		r->dtail = d;
		notify_locked(r);
		pthread_mutex_unlock(&r->mu);
	}
}

struct resolver *
resolver_new(const struct atc_didres_opts *opts, struct atc_metrics *metrics,
    char *err, size_t errlen)
{
	struct resolver	*r;
	int		 rc;

	r = atc_xcalloc(1, sizeof(*r));
	r->pipe[0] = r->pipe[1] = -1;
	if ((r->didres = atc_didres_new(opts, metrics, err, errlen)) == NULL)
		goto fail;
	if (pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		atc_seterr(err, errlen, "resolver: pipe: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if ((rc = pthread_create(&r->thread, NULL, resolver_run, r)) != 0) {
		atc_seterr(err, errlen, "resolver: thread: %s", strerror(rc));
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		goto fail;
	}
	return r;
fail:
	atc_didres_free(r->didres);
	if (r->pipe[0] != -1)
		close(r->pipe[0]);
	if (r->pipe[1] != -1)
		close(r->pipe[1]);
	free(r);
	return NULL;
}

void
resolver_free(struct resolver *r)
{
	struct req	*q;
	struct done	*d;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	atc_didres_cancel(r->didres);
	pthread_join(r->thread, NULL);
	while ((q = r->rhead) != NULL) {
		r->rhead = q->next;
		free(q->did);
		free(q);
	}
	while ((d = r->dhead) != NULL) {
		r->dhead = d->next;
		free(d);
	}
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	close(r->pipe[0]);
	close(r->pipe[1]);
	atc_didres_free(r->didres);
	free(r);
}

void
resolver_submit(struct resolver *r, uint64_t ticket, const char *did,
    bool force)
{
	struct req	*q;

	q = atc_xcalloc(1, sizeof(*q));
	q->ticket = ticket;
	q->did = atc_xstrdup(did);
	q->force = force;
	pthread_mutex_lock(&r->mu);
	if (r->rtail != NULL)
		r->rtail->next = q;
	else
		r->rhead = q;
	r->rtail = q;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int
resolver_fd(const struct resolver *r)
{
	return r->pipe[0];
}

int
resolver_next(struct resolver *r, struct resolver_result *out)
{
	struct done	*d;
	char		 c;

	pthread_mutex_lock(&r->mu);
	if ((d = r->dhead) != NULL && (r->dhead = d->next) == NULL)
		r->dtail = NULL;
	if (r->dhead == NULL && r->signalled) {
		while (read(r->pipe[0], &c, 1) == -1 && errno == EINTR)
			;
		r->signalled = false;
	}
	pthread_mutex_unlock(&r->mu);
	if (d == NULL)
		return 0;
	*out = d->res;
	free(d);
	return 1;
}
