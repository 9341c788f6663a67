/* SPDX-License-Identifier: ISC */
/*
 * Lock-free metric values in a fixed arena. Values are doubles stored as
 * 64-bit patterns in atomics (add is a compare-and-swap loop), which works
 * across threads and across processes sharing the mapping. Creating or
 * finding a series takes a robust process-shared mutex in the arena (a
 * process killed while holding it cannot wedge the others); lookups
 * compare fixed-size keys, which is fine because callers cache the
 * pointers they get.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "metrics.h"
#include "util.h"

#define NAME_MAX_LEN	96
#define LABELS_MAX_LEN	192
#define HELP_MAX_LEN	160
#define MAX_FAMILIES	128
#define MAX_BOUNDS	16

struct family {
	char			name[NAME_MAX_LEN];
	char			help[HELP_MAX_LEN];
	enum atc_metric_type	type;
	size_t			nbounds;
	double			bounds[MAX_BOUNDS];
};

struct atc_metric {
	_Atomic uint64_t	 bits;		/* the value, as a double */
	struct family		*fam;		/* in the same arena */
	int			 family;	/* index into families */
	int			 part;		/* histogram: bucket i, or below */
	char			 labels[LABELS_MAX_LEN];
};

/* Histogram layout: nbounds + 1 bucket series (cumulative at render), then
 * the sum, then the count. */
#define PART_PLAIN	-1
#define PART_SUM	-2
#define PART_COUNT	-3

struct atc_histogram {
	struct atc_metric	m;	/* first series of the group */
};

struct atc_metrics {
	pthread_mutex_t		lock;	/* robust, process-shared */
	bool			shared;
	size_t			size;		/* bytes of this arena */
	size_t			max_series;
	size_t			nseries;
	size_t			nfamilies;
	struct family		families[MAX_FAMILIES];
	struct atc_metric	series[];	/* max_series */
};

const double atc_metrics_latency_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10,
};
const size_t atc_metrics_nlatency_buckets = ATC_NELEM(atc_metrics_latency_buckets);

static uint64_t
dbits(double d)
{
	uint64_t	u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
bitsd(uint64_t u)
{
	double	d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

struct atc_metrics *
atc_metrics_new(size_t max_series, bool shared)
{
	struct atc_metrics	*r;
	size_t			 size;
	void			*p;

	size = sizeof(*r) + max_series * sizeof(struct atc_metric);
	if (shared) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		memset(p, 0, size);
	} else
		p = atc_xcalloc(1, size);
	r = p;
	{
		pthread_mutexattr_t	a;

		/* Robust: a worker killed while creating a series must not
		 * leave the others waiting forever. */
		pthread_mutexattr_init(&a);
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
		pthread_mutex_init(&r->lock, &a);
		pthread_mutexattr_destroy(&a);
	}
	r->shared = shared;
	r->size = size;
	r->max_series = max_series;
	return r;
}

void
atc_metrics_free(struct atc_metrics *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	if (r->shared)
		munmap(r, r->size);
	else
		free(r);
}

static void
lock(struct atc_metrics *r)
{
	if (pthread_mutex_lock(&r->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&r->lock);
}

static void
unlock(struct atc_metrics *r)
{
	pthread_mutex_unlock(&r->lock);
}

/* Finds or adds the family; -1 on a type clash or when full. */
static int
family_get(struct atc_metrics *r, const char *name, const char *help,
    enum atc_metric_type type, const double *bounds, size_t nbounds)
{
	struct family	*f;
	size_t		 i;

	for (i = 0; i < r->nfamilies; i++) {
		if (strcmp(r->families[i].name, name) == 0)
			return r->families[i].type == type ? (int)i : -1;
	}
	if (r->nfamilies == MAX_FAMILIES || strlen(name) >= NAME_MAX_LEN ||
	    nbounds > MAX_BOUNDS)
		return -1;
	f = &r->families[r->nfamilies];
	(void)snprintf(f->name, sizeof(f->name), "%s", name);
	(void)snprintf(f->help, sizeof(f->help), "%s", help ? help : "");
	f->type = type;
	f->nbounds = nbounds;
	if (nbounds > 0)
		memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
	return (int)r->nfamilies++;
}

static struct atc_metric *
series_get(struct atc_metrics *r, enum atc_metric_type type, const char *name,
    const char *help, const char *labels, const double *bounds,
    size_t nbounds)
{
	struct atc_metric	*m = NULL;
	size_t			 i, need;
	int			 fam;

	if (r == NULL)
		return NULL;
	if (labels == NULL)
		labels = "";
	if (strlen(labels) >= LABELS_MAX_LEN)
		return NULL;
	lock(r);
	if ((fam = family_get(r, name, help, type, bounds, nbounds)) == -1)
		goto out;
	for (i = 0; i < r->nseries; i++) {
		if (r->series[i].family == fam &&
		    (r->series[i].part == PART_PLAIN || r->series[i].part == 0) &&
		    strcmp(r->series[i].labels, labels) == 0) {
			m = &r->series[i];
			goto out;
		}
	}
	need = type == ATC_METRIC_HISTOGRAM ? nbounds + 3 : 1;
	if (r->nseries + need > r->max_series)
		goto out;
	m = &r->series[r->nseries];
	for (i = 0; i < need; i++) {
		struct atc_metric *s = &r->series[r->nseries + i];

		s->family = fam;
		s->fam = &r->families[fam];
		(void)snprintf(s->labels, sizeof(s->labels), "%s", labels);
		if (type != ATC_METRIC_HISTOGRAM)
			s->part = PART_PLAIN;
		else if (i <= nbounds)
			s->part = (int)i;
		else
			s->part = i == nbounds + 1 ? PART_SUM : PART_COUNT;
		atomic_store(&s->bits, dbits(0));
	}
	r->nseries += need;
out:
	unlock(r);
	return m;
}

struct atc_metric *
atc_metrics_counter(struct atc_metrics *r, const char *name,
    const char *help, const char *labels)
{
	return series_get(r, ATC_METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct atc_metric *
atc_metrics_gauge(struct atc_metrics *r, const char *name, const char *help,
    const char *labels)
{
	return series_get(r, ATC_METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct atc_histogram *
atc_metrics_histogram(struct atc_metrics *r, const char *name,
    const char *help, const char *labels, const double *bounds,
    size_t nbounds)
{
	return (struct atc_histogram *)series_get(r, ATC_METRIC_HISTOGRAM,
	    name, help, labels, bounds, nbounds);
}

void
atc_metric_add(struct atc_metric *m, double v)
{
	uint64_t	old, new;

	if (m == NULL)
		return;
	old = atomic_load_explicit(&m->bits, memory_order_relaxed);
	do {
		new = dbits(bitsd(old) + v);
	} while (!atomic_compare_exchange_weak_explicit(&m->bits, &old, new,
	    memory_order_relaxed, memory_order_relaxed));
}

void
atc_metric_inc(struct atc_metric *m)
{
	atc_metric_add(m, 1);
}

void
atc_metric_set(struct atc_metric *m, double v)
{
	if (m != NULL)
		atomic_store_explicit(&m->bits, dbits(v), memory_order_relaxed);
}

double
atc_metric_value(const struct atc_metric *m)
{
	if (m == NULL)
		return 0;
	return bitsd(atomic_load_explicit(&((struct atc_metric *)m)->bits,
	    memory_order_relaxed));
}

void
atc_histogram_observe(struct atc_histogram *h, double v)
{
	struct atc_metric	*s;
	size_t			 b, n;

	if (h == NULL)
		return;
	s = &h->m;
	n = s->fam->nbounds;
	for (b = 0; b < n && v > s->fam->bounds[b]; b++)
		;
	/* Buckets are stored per interval; render accumulates them. */
	atc_metric_add(&s[b], 1);
	atc_metric_add(&s[n + 1], v);
	atc_metric_add(&s[n + 2], 1);
}

static const char *
type_name(enum atc_metric_type t)
{
	switch (t) {
	case ATC_METRIC_COUNTER:
		return "counter";
	case ATC_METRIC_GAUGE:
		return "gauge";
	default:
		return "histogram";
	}
}

static void
render_histogram(struct atc_buf *out, const struct family *f,
    struct atc_metric *s)
{
	const char	*sep = s->labels[0] ? "," : "";
	double		 cum = 0;
	size_t		 i;

	for (i = 0; i <= f->nbounds; i++) {
		cum += atc_metric_value(&s[i]);
		if (i < f->nbounds)
			atc_buf_appendf(out, "%s_bucket{%s%sle=\"%.15g\"} %.15g\n",
			    f->name, s->labels, sep, f->bounds[i], cum);
		else
			atc_buf_appendf(out, "%s_bucket{%s%sle=\"+Inf\"} %.15g\n",
			    f->name, s->labels, sep, cum);
	}
	atc_buf_appendf(out, "%s_sum%s%s%s %.15g\n", f->name,
	    s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
	    atc_metric_value(&s[f->nbounds + 1]));
	atc_buf_appendf(out, "%s_count%s%s%s %.15g\n", f->name,
	    s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
	    atc_metric_value(&s[f->nbounds + 2]));
}

void
atc_metrics_render(struct atc_metrics *r, struct atc_buf *out)
{
	const struct family	*f;
	struct atc_metric	*s;
	size_t			 fi, i, nseries;

	lock(r);
	nseries = r->nseries;
	unlock(r);
	for (fi = 0; fi < r->nfamilies; fi++) {
		f = &r->families[fi];
		atc_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name,
		    f->help, f->name, type_name(f->type));
		for (i = 0; i < nseries; i++) {
			s = &r->series[i];
			if (s->family != (int)fi)
				continue;
			if (s->part == PART_PLAIN)
				atc_buf_appendf(out, "%s%s%s%s %.15g\n", f->name,
				    s->labels[0] ? "{" : "", s->labels,
				    s->labels[0] ? "}" : "",
				    atc_metric_value(s));
			else if (s->part == 0)
				render_histogram(out, f, s);
		}
	}
}
