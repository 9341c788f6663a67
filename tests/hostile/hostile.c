/* SPDX-License-Identifier: ISC */
/*
 * Hostile client for the integration API: N requests over C concurrent
 * libcurl multi transfers, each drawn from a table of attack cases
 * (malformed and mutated JSON, wrong types, oversized and deep bodies,
 * invalid UTF-8, header abuse, bad and missing keys, wrong tenants, SQL
 * metacharacters) mixed with valid event writes. Every case lists the
 * answers it may get; anything else (a 5xx, a dropped connection, an
 * undocumented status) is counted as unexpected. Valid writes go to their
 * own tenant with unique at-uris, so the caller can check the database
 * changed by exactly the writes answered 202 ("valid_created=").
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hostile.h"

#define rnd	hostile_rnd

static const struct kase *
pick(void)
{
	static int	total;
	size_t		k;
	int		r;

	if (total == 0)
		for (k = 0; k < hostile_ncases; k++)
			total += hostile_cases[k].weight;
	r = (int)rnd((unsigned)total);
	for (k = 0; r >= hostile_cases[k].weight; k++)
		r -= hostile_cases[k].weight;
	return &hostile_cases[k];
}

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	return sz * n;
}

static void
xfer_start(CURLM *m, struct xfer *x, const struct opts *o, long i)
{
	x->k = pick();
	x->valid = false;
	x->iface[0] = '\0';
	x->h = curl_easy_init();
	x->k->build(x, o, i);
	curl_easy_setopt(x->h, CURLOPT_URL, x->url);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	if (x->body != NULL) {
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)x->len);
	}
	curl_easy_setopt(x->h, CURLOPT_INTERFACE, x->iface[0] ? x->iface :
	    "127.0.0.1");
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_multi_add_handle(m, x->h);
}

static void
xfer_end(CURLM *m, struct xfer *x)
{
	curl_multi_remove_handle(m, x->h);
	curl_easy_cleanup(x->h);
	curl_slist_free_all(x->hdrs);
	free(x->body);
	memset(x, 0, sizeof(*x));
}

int
main(int argc, char *argv[])
{
	struct opts	 o = { .n = 10000, .conc = 16, .seed = 1,
	    .body_max = 1048576, .tenant = "hostile", .other = "seed" };
	struct xfer	 xs[MAX_CONC], *x;
	struct kase	*k;
	CURLMsg		*msg;
	CURLM		*m;
	long		 started = 0, done = 0, status, created = 0, bad = 0;
	long		 transport = 0, s5xx = 0;
	size_t		 ki;
	int		 c, running, left, j, okst;

	while ((c = getopt(argc, argv, "u:k:K:t:T:n:c:s:b:")) != -1) {
		switch (c) {
		case 'u': o.base = optarg; break;
		case 'k': o.key = optarg; break;
		case 'K': o.tkey = optarg; break;
		case 't': o.tenant = optarg; break;
		case 'T': o.other = optarg; break;
		case 'n': o.n = atol(optarg); break;
		case 'c': o.conc = atoi(optarg); break;
		case 's': o.seed = (unsigned)atol(optarg); break;
		case 'b': o.body_max = atol(optarg); break;
		default: goto usage;
		}
	}
	if (o.base == NULL || o.key == NULL || o.tkey == NULL || o.n < 1 ||
	    o.conc < 1 || o.conc > MAX_CONC || o.body_max < 1024)
		goto usage;
	hostile_seed(o.seed);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	memset(xs, 0, sizeof(xs));
	for (j = 0; j < o.conc && started < o.n; j++)
		xfer_start(m, &xs[j], &o, started++);
	while (done < o.n) {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&x);
			status = 0;
			curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE,
			    &status);
			k = (struct kase *)x->k;
			k->count++;
			okst = 0;
			if (msg->data.result != CURLE_OK) {
				transport++;
				okst = k->may_close;
				status = 0;
			} else {
				for (j = 0; j < MAX_STATUS && k->ok[j]; j++)
					okst |= k->ok[j] == status;
			}
			if (status >= 0 && status < 600)
				k->by_status[status]++;
			if (status >= 500)
				s5xx++;
			if (!okst) {
				k->unexpected++;
				if (bad++ < 20)
					fprintf(stderr, "unexpected: case=%s "
					    "status=%ld curl=%s\n", k->name,
					    status, curl_easy_strerror(
					    msg->data.result));
			}
			if (x->valid && status == 202)
				created++;
			xfer_end(m, x);
			done++;
			if (started < o.n)
				xfer_start(m, x, &o, started++);
		}
		if (done < o.n)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (ki = 0; ki < hostile_ncases; ki++) {
		k = &hostile_cases[ki];
		printf("case=%s count=%ld unexpected=%ld statuses=", k->name,
		    k->count, k->unexpected);
		for (j = 0; j < 600; j++)
			if (k->by_status[j] > 0)
				printf("%d:%ld,", j, k->by_status[j]);
		printf("\n");
	}
	printf("total=%ld valid_created=%ld status_5xx=%ld "
	    "transport_errors=%ld "
	    "unexpected=%ld\n", done, created, s5xx, transport, bad);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	return bad == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: hostile -u base-url -k key -K key-for-t2 "
	    "[-t tenant] [-T other-tenant] [-n requests] [-c concurrency] "
	    "[-s seed] [-b body-max]\n");
	return 2;
}
