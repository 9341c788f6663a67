/* SPDX-License-Identifier: ISC */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

/*
 * The hostile client's request cases (cases.c) and what they share with
 * its driver (hostile.c): the options, one transfer's request, and the
 * case table with the answers each case may get.
 */
#define MAX_CONC	64
#define MAX_STATUS	8

struct opts {
	const char	*base;		/* http://host:port */
	const char	*key;		/* unrestricted key */
	const char	*tkey;		/* key restricted to tenant "t2" */
	const char	*tenant;	/* tenant of the valid writes */
	const char	*other;		/* a second tenant (untouched data) */
	long		 n;
	int		 conc;
	unsigned	 seed;
	long		 body_max;	/* API_BODY_MAX of the server */
};

struct kase;

/* One transfer's request, owned by its slot. */
struct xfer {
	CURL			*h;
	struct curl_slist	*hdrs;
	char			*body;
	size_t			 len;
	const struct kase	*k;
	char			 url[4096];
	char			 iface[32];
	bool			 valid;
};

struct kase {
	const char	*name;
	int		 weight;		/* relative share of requests */
	int		 ok[MAX_STATUS];	/* allowed statuses, 0-ended */
	bool		 may_close;	/* a closed connection is allowed */
	void		(*build)(struct xfer *, const struct opts *, long i);
	long		 count, unexpected;	/* tallies of this run */
	long		 by_status[600];	/* answers by status; 0 = none */
};

/* The case table (cases.c), in pick order. */
extern struct kase	hostile_cases[];
extern const size_t	hostile_ncases;

/* A pseudo-random number in [0, n) from the seeded generator. */
unsigned	hostile_rnd(unsigned n);
void		hostile_seed(unsigned seed);

#endif
