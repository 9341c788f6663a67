/* SPDX-License-Identifier: ISC */
/*
 * Hooks that turn what the handlers know into series of one shared
 * registry (shared/metrics.c: atomics in MAP_SHARED memory, so the forked
 * Kore workers all count into it and any worker can render it). The
 * registry pointer is this module's one per-process singleton, set in the
 * parent before fork and inherited. Series are looked up by name and
 * labels on each call: the registry's lookup is a short scan, cheap next to
 * a database round trip, and it keeps the hooks stateless.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"
#include "telemetry.h"
#include "util.h"

#define LABEL_MAX	72

static struct atc_metrics	*reg;

int
telemetry_init(size_t max_series, char *err, size_t errlen)
{
	if (reg != NULL)
		return 0;
	if ((reg = atc_metrics_new(max_series, true)) == NULL)
		return atc_seterr(err, errlen, "cannot map %zu metric series",
		    max_series);
	/* Series every dashboard expects, present from the first scrape. */
	(void)atc_metrics_counter(reg, "atcal_api_auth_failures_total",
	    "Failed authentications by reason", "reason=\"bad_key\"");
	(void)atc_metrics_counter(reg,
	    "atcal_api_shadow_accounts_created_total",
	    "Shadow accounts created for unknown DIDs", NULL);
	(void)atc_metrics_counter(reg, "atcal_api_db_errors_total",
	    "Failed store calls (statement errors and lost connections)",
	    NULL);
	(void)atc_metrics_histogram(reg, "atcal_api_db_duration_seconds",
	    "Time spent in one store call", NULL, atc_metrics_latency_buckets,
	    atc_metrics_nlatency_buckets);
	return 0;
}

/* Copies v into out reduced to label-safe characters. */
static const char *
clean(char out[LABEL_MAX], const char *v)
{
	size_t	i;
	int	c;

	if (v == NULL || *v == '\0')
		v = "-";
	for (i = 0; v[i] != '\0' && i < LABEL_MAX - 1; i++) {
		c = (unsigned char)v[i];
		out[i] = (char)((c >= 'a' && c <= 'z') || (c >= 'A' &&
		    c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		    c == '.' || c == ':' || c == '/' || c == '-' ? c : '_');
	}
	out[i] = '\0';
	return out;
}

static void
latency(const char *name, const char *help, const char *labels,
    double seconds)
{
	atc_histogram_observe(atc_metrics_histogram(reg, name, help, labels,
	    atc_metrics_latency_buckets, atc_metrics_nlatency_buckets),
	    seconds);
}

void
telemetry_request(const char *route, const char *method, int status,
    double seconds)
{
	char	labels[256], r[LABEL_MAX], m[LABEL_MAX];

	if (reg == NULL)
		return;
	clean(r, route);
	clean(m, method);
	(void)snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\","
	    "status=\"%d\"", r, m, status);
	atc_metric_inc(atc_metrics_counter(reg, "atcal_api_requests_total",
	    "Answered requests by route, method and status", labels));
	(void)snprintf(labels, sizeof(labels), "route=\"%s\"", r);
	latency("atcal_api_request_duration_seconds", "Time to answer a "
	    "request, by route", labels, seconds);
}

void
telemetry_db(double seconds, int failed)
{
	if (reg == NULL)
		return;
	latency("atcal_api_db_duration_seconds", "Time spent in one store "
	    "call", NULL, seconds);
	if (failed)
		atc_metric_inc(atc_metrics_counter(reg,
		    "atcal_api_db_errors_total", "Failed store calls "
		    "(statement errors and lost connections)", NULL));
}

void
telemetry_processed(const char *kind, const char *tenant,
    const char *source_type, const char *op, double seconds)
{
	char		 labels[256], t[LABEL_MAX], s[LABEL_MAX], o[LABEL_MAX];
	int		 rsvp;

	if (reg == NULL)
		return;
	rsvp = kind != NULL && strcmp(kind, "rsvp") == 0;
	(void)snprintf(labels, sizeof(labels), "tenant=\"%s\","
	    "source_type=\"%s\",operation=\"%s\"", clean(t, tenant),
	    clean(s, source_type), clean(o, op));
	atc_metric_inc(atc_metrics_counter(reg, rsvp ?
	    "rsvp_integration_processed_total" :
	    "event_integration_processed_total", rsvp ?
	    "RSVP integration writes processed" :
	    "Event integration writes processed", labels));
	latency(rsvp ? "rsvp_integration_processing_duration_seconds" :
	    "event_integration_processing_duration_seconds", rsvp ?
	    "Time to process one RSVP integration write" :
	    "Time to process one event integration write", NULL, seconds);
}

void
telemetry_dedup(const char *tenant, const char *method)
{
	char	labels[256], t[LABEL_MAX], m[LABEL_MAX];

	if (reg == NULL)
		return;
	(void)snprintf(labels, sizeof(labels), "tenant=\"%s\",method=\"%s\"",
	    clean(t, tenant), clean(m, method));
	atc_metric_inc(atc_metrics_counter(reg,
	    "event_integration_deduplication_matches_total",
	    "Incoming events matched to a stored one, by method", labels));
}

void
telemetry_shadow_created(void)
{
	atc_metric_inc(atc_metrics_counter(reg,
	    "atcal_api_shadow_accounts_created_total",
	    "Shadow accounts created for unknown DIDs", NULL));
}

void
telemetry_lifecycle(const char *kind, const char *outcome)
{
	char	labels[128], k[LABEL_MAX], o[LABEL_MAX];

	if (reg == NULL)
		return;
	(void)snprintf(labels, sizeof(labels), "kind=\"%s\",outcome=\"%s\"",
	    clean(k, kind), clean(o, outcome));
	atc_metric_inc(atc_metrics_counter(reg,
	    "atcal_api_lifecycle_messages_total",
	    "Identity, account, profile and label messages by outcome",
	    labels));
}

void
telemetry_auth_failure(const char *reason)
{
	char	labels[128], r[LABEL_MAX];

	if (reg == NULL)
		return;
	(void)snprintf(labels, sizeof(labels), "reason=\"%s\"",
	    clean(r, reason));
	atc_metric_inc(atc_metrics_counter(reg, "atcal_api_auth_failures_total",
	    "Failed authentications by reason", labels));
}

void
telemetry_rate_limited(const char *key)
{
	char	labels[128], k[LABEL_MAX];

	if (reg == NULL)
		return;
	(void)snprintf(labels, sizeof(labels), "key=\"%s\"", clean(k, key));
	atc_metric_inc(atc_metrics_counter(reg, "atcal_api_rate_limited_total",
	    "Requests refused by a rate limit, by key fingerprint", labels));
}

void
telemetry_fault(const char *kind)
{
	char	labels[128], k[LABEL_MAX];

	if (reg == NULL)
		return;
	(void)snprintf(labels, sizeof(labels), "kind=\"%s\"", clean(k, kind));
	atc_metric_inc(atc_metrics_counter(reg, "atcal_api_test_faults_total",
	    "Faults injected by the test-only switch (ATCAL_TEST_FAULTS)",
	    labels));
}

int
telemetry_render(struct atc_buf *out)
{
	if (reg == NULL)
		return -1;
	atc_metrics_render(reg, out);
	return 0;
}
