/* SPDX-License-Identifier: ISC */
#ifndef ATC_METRICS_H
#define ATC_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct atc_buf;

/*
 * Prometheus metrics. A registry is a fixed arena of series whose values are
 * atomics, so updates need no lock and the arena may live in shared memory
 * (created before fork) for services with several worker processes. A
 * series is found or created by (name, labels); callers keep the returned
 * pointer and update it on hot paths. Every update function accepts NULL
 * (a full registry degrades to not counting, never to crashing).
 */
enum atc_metric_type {
	ATC_METRIC_COUNTER,
	ATC_METRIC_GAUGE,
	ATC_METRIC_HISTOGRAM,
};

struct atc_metrics;
struct atc_metric;
struct atc_histogram;

/* Returns a new registry holding up to max_series series (a histogram
 * takes buckets + 3); shared: in MAP_SHARED memory, for forked workers.
 * Free with atc_metrics_free(). */
struct atc_metrics	*atc_metrics_new(size_t max_series, bool shared);
void			 atc_metrics_free(struct atc_metrics *);

/* Finds or creates the counter/gauge `name{labels}`; labels is the text
 * between the braces (`type="event",operation="create"`) or NULL. The
 * first call for a name fixes its help and type. Returns a pointer valid
 * while the registry lives, or NULL when full or on a type clash. */
struct atc_metric	*atc_metrics_counter(struct atc_metrics *,
			    const char *name, const char *help,
			    const char *labels);
struct atc_metric	*atc_metrics_gauge(struct atc_metrics *,
			    const char *name, const char *help,
			    const char *labels);
/* Same for a histogram with the given upper bounds (ascending, at most
 * 16; +Inf is implicit). */
struct atc_histogram	*atc_metrics_histogram(struct atc_metrics *,
			    const char *name, const char *help,
			    const char *labels, const double *bounds,
			    size_t nbounds);

void	atc_metric_inc(struct atc_metric *);
void	atc_metric_add(struct atc_metric *, double);
void	atc_metric_set(struct atc_metric *, double);
double	atc_metric_value(const struct atc_metric *);
void	atc_histogram_observe(struct atc_histogram *, double);

/* Appends the whole registry in the Prometheus text format 0.0.4. */
void	atc_metrics_render(struct atc_metrics *, struct atc_buf *out);

/* Default latency buckets in seconds (1 ms .. 10 s). */
extern const double	atc_metrics_latency_buckets[];
extern const size_t	atc_metrics_nlatency_buckets;

#endif
