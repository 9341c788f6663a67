/* SPDX-License-Identifier: ISC */
/*
 * The dead-letter queue CLI. Messages are read with basic.get and manual
 * acks: a message that is only looked at stays unacked and goes back to the
 * queue when the connection closes, so list/show never lose anything. A
 * replayed message is acked (removed) only after the main exchange has
 * confirmed the republish. Each command reads at most the depth the queue
 * had when it started, so re-parked replays cannot loop forever.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dlq.h"
#include "fate.h"
#include "map.h"
#include "mq.h"
#include "settings.h"
#include "util.h"

/* What the CLI shows of one parked message. */
struct parked {
	char		uri[512];
	char		reason[FATE_EXCERPT_LEN + 1];
	char		error[FATE_EXCERPT_LEN + 1];
	char		rk[256];	/* original routing key, "" unknown */
	char		parked_at[48];
	char		first_failure[48];
	long long	attempts;
	long long	status;
};

static void
parked_read(struct parked *pk, const struct atc_mq_msg *m)
{
	struct map_call	 c;
	char		 why[ATC_ERRLEN];
	const char	*h;

	memset(pk, 0, sizeof(*pk));
	if (atc_mq_msg_header_str(m, "x-reason", pk->reason,
	    sizeof(pk->reason)) == -1)
		(void)snprintf(pk->reason, sizeof(pk->reason), "-");
	(void)atc_mq_msg_header_str(m, "x-last-error", pk->error,
	    sizeof(pk->error));
	(void)atc_mq_msg_header_str(m, "x-routing-key", pk->rk,
	    sizeof(pk->rk));
	(void)atc_mq_msg_header_str(m, "x-last-failure-at", pk->parked_at,
	    sizeof(pk->parked_at));
	(void)atc_mq_msg_header_str(m, "x-first-failure-at",
	    pk->first_failure, sizeof(pk->first_failure));
	if (atc_mq_msg_header_int(m, "x-attempts", &pk->attempts) == -1)
		pk->attempts = 0;
	if (atc_mq_msg_header_int(m, "x-last-status", &pk->status) == -1)
		pk->status = 0;
	/* The uri comes from the message id (at-uri#rev), else the body. */
	if (m->message_id != NULL) {
		h = strchr(m->message_id, '#');
		(void)snprintf(pk->uri, sizeof(pk->uri), "%.*s",
		    (int)(h != NULL ? (size_t)(h - m->message_id) :
		    strlen(m->message_id)), m->message_id);
	}
	if (pk->uri[0] == '\0' || pk->rk[0] == '\0') {
		(void)map_message(&c, m->body, m->len, why, sizeof(why));
		if (pk->uri[0] == '\0')
			(void)snprintf(pk->uri, sizeof(pk->uri), "%s",
			    c.uri ? c.uri : "-");
		if (pk->rk[0] == '\0' && c.kind != NULL && c.op != NULL)
			(void)snprintf(pk->rk, sizeof(pk->rk), "%s.%s",
			    c.kind, c.op);
		map_call_cleanup(&c);
	}
}

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
print_line(size_t n, const struct parked *pk)
{
	printf("%zu uri=%s status=%lld attempts=%lld routing_key=%s", n,
	    pk->uri, pk->status, pk->attempts, pk->rk[0] ? pk->rk : "-");
	print_value("reason", pk->reason);
	print_value("last_error", pk->error);
	printf(" parked_at=%s\n", pk->parked_at[0] ? pk->parked_at : "-");
}

static void
print_body(const struct atc_mq_msg *m)
{
	json_error_t	 jerr;
	json_t		*v;
	char		*s;

	v = json_loadb((const char *)m->body, m->len, 0, &jerr);
	if (v != NULL && (s = json_dumps(v, JSON_INDENT(2))) != NULL) {
		printf("%s\n", s);
		free(s);
	} else
		printf("%.*s\n", (int)m->len, (const char *)m->body);
	json_decref(v);
}

static bool
matches(const struct parked *pk, const char *sub)
{
	return strstr(pk->uri, sub) != NULL || strstr(pk->reason, sub) !=
	    NULL || strstr(pk->error, sub) != NULL || strstr(pk->rk, sub) !=
	    NULL;
}

enum dlq_cmd {
	DLQ_LIST,
	DLQ_SHOW,
	DLQ_REPLAY,
};

/* Walks the queue once. For SHOW and REPLAY with a number only message
 * `nth` is used; for REPLAY with filter, those matching it; with all,
 * every one. */
static int
dlq_walk(const struct settings *cfg, enum dlq_cmd cmd, size_t nth,
    const char *filter, bool all)
{
	struct atc_mq		*get = NULL, *pub = NULL;
	struct atc_mq_msg	 m;
	struct parked		 pk;
	char			 err[ATC_ERRLEN];
	long long		 depth;
	size_t			 i, nreplayed = 0;
	bool			 sel;
	int			 rc, ret = 1;

	memset(&m, 0, sizeof(m));
	if ((get = atc_mq_connect(cfg->rabbitmq_url, "atcal-processor-dlq",
	    err, sizeof(err))) == NULL ||
	    atc_mq_declare_topology(get, err, sizeof(err)) == -1 ||
	    (depth = atc_mq_queue_depth(get, ATC_MQ_DLQ, err,
	    sizeof(err))) == -1)
		goto out;
	if (cmd == DLQ_REPLAY && ((pub = atc_mq_connect(cfg->rabbitmq_url,
	    "atcal-processor-dlq-replay", err, sizeof(err))) == NULL ||
	    atc_mq_confirm_select(pub, err, sizeof(err)) == -1))
		goto out;
	if (nth > 0 && (long long)nth > depth) {
		(void)snprintf(err, sizeof(err), "no message %zu: the "
		    "dead-letter queue holds %lld", nth, depth);
		goto out;
	}
	for (i = 1; i <= (size_t)depth; i++) {
		if ((rc = atc_mq_get(get, ATC_MQ_DLQ, &m, err,
		    sizeof(err))) == -1)
			goto out;
		if (rc == 0)
			break;
		parked_read(&pk, &m);
		if (cmd == DLQ_LIST)
			print_line(i, &pk);
		else if (cmd == DLQ_SHOW && i == nth) {
			print_line(i, &pk);
			printf("message_id: %s\nfirst_failure_at: %s\n",
			    m.message_id ? m.message_id : "-",
			    pk.first_failure[0] ? pk.first_failure : "-");
			print_body(&m);
		} else if (cmd == DLQ_REPLAY) {
			sel = all || (filter != NULL && matches(&pk, filter)) ||
			    i == nth;
			if (sel && pk.rk[0] == '\0') {
				fprintf(stderr, "dlq: message %zu: original "
				    "routing key unknown, left in place\n", i);
				sel = false;
			}
			if (sel) {
				if (fate_publish_confirmed(pub,
				    ATC_MQ_EXCHANGE, pk.rk, m.body, m.len,
				    m.message_id, NULL, 0, FATE_CONFIRM_MS,
				    err, sizeof(err)) == -1 ||
				    atc_mq_ack(get, m.tag, err,
				    sizeof(err)) == -1)
					goto out;
				nreplayed++;
				printf("replayed %zu uri=%s routing_key=%s\n",
				    i, pk.uri, pk.rk);
			}
		}
		atc_mq_msg_release(&m);
		if (nth > 0 && i == nth)
			break;
	}
	if (cmd == DLQ_LIST)
		printf("%lld message(s) in %s\n", depth, ATC_MQ_DLQ);
	else if (cmd == DLQ_REPLAY)
		printf("replayed %zu message(s)\n", nreplayed);
	ret = 0;
out:
	atc_mq_msg_release(&m);
	if (ret != 0)
		fprintf(stderr, "dlq: %s\n", err);
	/* Closing returns every message we did not ack to the queue. */
	atc_mq_free(get);
	atc_mq_free(pub);
	return ret;
}

static int
dlq_purge(const struct settings *cfg)
{
	struct atc_mq	*mq;
	char		 err[ATC_ERRLEN];
	long long	 n = -1;

	if ((mq = atc_mq_connect(cfg->rabbitmq_url, "atcal-processor-dlq",
	    err, sizeof(err))) != NULL &&
	    atc_mq_declare_topology(mq, err, sizeof(err)) == 0)
		n = atc_mq_queue_purge(mq, ATC_MQ_DLQ, err, sizeof(err));
	atc_mq_free(mq);
	if (n < 0) {
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
	size_t	n = 0;

	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		return dlq_walk(cfg, DLQ_LIST, 0, NULL, false);
	if (strcmp(argv[0], "show") == 0 && argc == 2 &&
	    parse_index(argv[1], &n) == 0)
		return dlq_walk(cfg, DLQ_SHOW, n, NULL, false);
	if (strcmp(argv[0], "purge") == 0 && argc == 1)
		return dlq_purge(cfg);
	if (strcmp(argv[0], "replay") == 0) {
		if (argc == 2 && strcmp(argv[1], "--all") == 0)
			return dlq_walk(cfg, DLQ_REPLAY, 0, NULL, true);
		if (argc == 3 && strcmp(argv[1], "--filter") == 0 &&
		    argv[2][0] != '\0')
			return dlq_walk(cfg, DLQ_REPLAY, 0, argv[2], false);
		if (argc == 2 && parse_index(argv[1], &n) == 0)
			return dlq_walk(cfg, DLQ_REPLAY, n, NULL, false);
	}
	return usage();
}
