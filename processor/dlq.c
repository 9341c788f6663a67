/* SPDX-License-Identifier: ISC */
/*
 * The dead-letter queue CLI: a printer over shared/dlq.c, which owns the
 * guarantees (list/show never remove anything; a replay is acked only
 * after the main exchange confirmed the republish; a run reads at most the
 * depth the queue had when it started). Output lines are stable: scripts
 * and tests grep them.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../shared/dlq.h"	/* processor/dlq.h shadows the name */
#include "dlq.h"
#include "mq.h"
#include "settings.h"
#include "util.h"

static void
print_value(const char *key, const char *v)
{
	printf(" %s=\"", key);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			putchar('\\');
		putchar((unsigned char)*v < 0x20 ? ' ' : *v);
	}
	putchar('"');
}

static void
print_line(const struct atc_dlq_entry *e)
{
	printf("%zu uri=%s status=%lld attempts=%lld routing_key=%s",
	    e->index, e->uri[0] ? e->uri : "-", e->status, e->attempts,
	    e->routing_key[0] ? e->routing_key : "-");
	print_value("reason", e->reason[0] ? e->reason : "-");
	print_value("last_error", e->last_error);
	printf(" parked_at=%s\n", e->last_failure_at[0] ?
	    e->last_failure_at : "-");
}

static void
print_body(const struct atc_dlq_entry *e)
{
	json_error_t	 jerr;
	json_t		*v;
	char		*s;

	v = json_loadb((const char *)e->body, e->len, 0, &jerr);
	if (v != NULL && (s = json_dumps(v, JSON_INDENT(2))) != NULL) {
		printf("%s\n", s);
		free(s);
	} else
		printf("%.*s\n", (int)e->len, (const char *)e->body);
	json_decref(v);
}

static void
visit_list(void *arg, const struct atc_dlq_entry *e)
{
	print_line(e);
}

static void
visit_show(void *arg, const struct atc_dlq_entry *e)
{
	print_line(e);
	printf("message_id: %s\nfirst_failure_at: %s\n",
	    e->message_id ? e->message_id : "-",
	    e->first_failure_at[0] ? e->first_failure_at : "-");
	print_body(e);
}

static void
visit_replay(void *arg, const struct atc_dlq_entry *e)
{
	if (e->state == ATC_DLQ_NO_ROUTE)
		fprintf(stderr, "dlq: message %zu: original routing key "
		    "unknown, left in place\n", e->index);
	else
		printf("replayed %zu uri=%s routing_key=%s\n", e->index,
		    e->uri[0] ? e->uri : "-", e->routing_key);
}

/* One run of shared/dlq.c with this CLI's printer; 0 or 1. */
static int
dlq_cmd(const struct settings *cfg, struct atc_dlq_req *req)
{
	struct atc_dlq_result	res;
	char			err[ATC_ERRLEN];

	if (req->op == ATC_DLQ_LIST)
		req->visit = visit_list;
	else if (req->op == ATC_DLQ_SHOW)
		req->visit = visit_show;
	else
		req->visit = visit_replay;
	if (atc_dlq_run(cfg->rabbitmq_url, "atcal-processor-dlq", req, &res,
	    err, sizeof(err)) == -1) {
		if (req->op == ATC_DLQ_REPLAY)
			printf("replayed %zu message(s)\n", res.nreplayed);
		fprintf(stderr, "dlq: %s\n", err);
		return 1;
	}
	if (req->index > 0 && !res.found) {
		fprintf(stderr, "dlq: no message %zu: the dead-letter queue "
		    "holds %lld\n", req->index, res.depth);
		return 1;
	}
	if (req->op == ATC_DLQ_LIST)
		printf("%lld message(s) in %s\n", res.depth, ATC_MQ_DLQ);
	else if (req->op == ATC_DLQ_REPLAY)
		printf("replayed %zu message(s)\n", res.nreplayed);
	return 0;
}

static int
dlq_purge(const struct settings *cfg)
{
	char		err[ATC_ERRLEN];
	long long	n;

	if ((n = atc_dlq_purge(cfg->rabbitmq_url, "atcal-processor-dlq", err,
	    sizeof(err))) < 0) {
		fprintf(stderr, "dlq: %s\n", err);
		return 1;
	}
	printf("purged %lld message(s)\n", n);
	return 0;
}

static int
parse_index(const char *s, size_t *out)
{
	char		*end;
	unsigned long	 v;

	if (s == NULL || *s < '1' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0)
		return -1;
	*out = v;
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: processor dlq list\n"
	    "       processor dlq show N\n"
	    "       processor dlq replay --all | --filter SUBSTR | N\n"
	    "       processor dlq purge\n");
	return 2;
}

int
dlq_main(const struct settings *cfg, int argc, char **argv)
{
	struct atc_dlq_req	req;

	memset(&req, 0, sizeof(req));
	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "list") == 0 && argc == 1) {
		req.op = ATC_DLQ_LIST;
		return dlq_cmd(cfg, &req);
	}
	if (strcmp(argv[0], "show") == 0 && argc == 2 &&
	    parse_index(argv[1], &req.index) == 0) {
		req.op = ATC_DLQ_SHOW;
		return dlq_cmd(cfg, &req);
	}
	if (strcmp(argv[0], "purge") == 0 && argc == 1)
		return dlq_purge(cfg);
	if (strcmp(argv[0], "replay") == 0) {
		req.op = ATC_DLQ_REPLAY;
		if (argc == 2 && strcmp(argv[1], "--all") == 0) {
			req.all = true;
			return dlq_cmd(cfg, &req);
		}
		if (argc == 3 && strcmp(argv[1], "--filter") == 0 &&
		    argv[2][0] != '\0') {
			req.filter = argv[2];
			return dlq_cmd(cfg, &req);
		}
		if (argc == 2 && parse_index(argv[1], &req.index) == 0)
			return dlq_cmd(cfg, &req);
	}
	return usage();
}
