/* SPDX-License-Identifier: ISC */
/*
 * processor: RabbitMQ -> integration API. main() only wires settings,
 * logging, signals and either the pipeline loop or the DLQ CLI; everything
 * else lives in its module.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dlq.h"
#include "log.h"
#include "metrics.h"
#include "ops_http.h"
#include "pipeline.h"
#include "settings.h"
#include "telemetry.h"
#include "util.h"

static volatile sig_atomic_t	stop_requested;

/* Ready while consuming: the broker is the dependency the processor cannot
 * work without (an API outage is retried, not a reason to restart). */
static bool
processor_ready(void *arg, char *why, size_t whylen)
{
	struct processor_metrics	*m = arg;

	if (atc_metric_value(m->queue_connected) < 1) {
		(void)snprintf(why, whylen, "broker unreachable");
		return false;
	}
	return true;
}

static void
on_signal(int sig)
{
	stop_requested = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: processor [--check-config | --help]\n"
	    "       processor dlq list | show N | "
	    "replay --all|--filter SUBSTR|N | purge\n");
}

int
main(int argc, char **argv)
{
	struct settings		 cfg;
	struct processor_metrics m;
	struct atc_metrics	*metrics = NULL;
	struct atc_ops_http	*ops = NULL;
	struct atc_buf		 errs;
	struct sigaction	 sa;
	enum atc_log_level	 level = ATC_LOG_INFO;
	char			 err[ATC_ERRLEN];
	bool			 check = false, dlq = false;
	int			 rc = 0;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage();
		settings_usage();
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--check-config") == 0)
		check = true;
	else if (argc > 1 && strcmp(argv[1], "dlq") == 0)
		dlq = true;
	else if (argc > 1) {
		usage();
		return 2;
	}

	memset(&cfg, 0, sizeof(cfg));
	atc_buf_init(&errs, 256);
	if ((dlq ? settings_load_mq(&cfg, &errs) :
	    settings_load(&cfg, &errs)) != 0) {
		fprintf(stderr, "processor: invalid configuration:\n%s",
		    atc_buf_cstr(&errs));
		atc_buf_cleanup(&errs);
		settings_cleanup(&cfg);
		return 1;
	}
	atc_buf_cleanup(&errs);
	(void)atc_log_level_parse(cfg.log_level, &level);
	atc_log_init("processor", level);
	if (check) {
		printf("configuration OK\n");
		goto out;
	}
	if (dlq) {
		rc = dlq_main(&cfg, argc - 2, argv + 2);
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	settings_log(&cfg);
	if ((metrics = atc_metrics_new(1024, false)) == NULL)
		atc_fatal("processor_start", "cause=\"metrics registry\"");
	ptelemetry_init(&m, metrics);
	/* A busy metrics port is loud but does not stop delivery. */
	if (cfg.metrics_listen != NULL &&
	    strcmp(cfg.metrics_listen, "off") != 0 &&
	    (ops = atc_ops_http_start(cfg.metrics_listen, metrics,
	    cfg.metrics_token, processor_ready, &m, err, sizeof(err))) == NULL)
		atc_log_err("metrics_unavailable", "cause=\"%s\"", err);
	if (pipeline_run(&cfg, &m, &stop_requested, err, sizeof(err)) == -1)
		atc_fatal("processor_start", "cause=\"%s\"", err);
	atc_ops_http_free(ops);
	atc_metrics_free(metrics);
out:
	settings_cleanup(&cfg);
	return rc;
}
