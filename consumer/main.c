/* SPDX-License-Identifier: ISC */
/*
 * consumer: AT Protocol firehose -> RabbitMQ. main() only dispatches the
 * subcommands and wires configuration, logging, signals and the live loop.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "backfill.h"
#include "cmd_bench.h"
#include "cmd_capture.h"
#include "cmd_decode.h"
#include "ingest.h"
#include "labels.h"
#include "live.h"
#include "log.h"
#include "settings.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: consumer                  run the live ingester (env config)\n"
	    "       consumer --check-config   validate the environment and exit\n"
	    "       consumer decode [--collection NSID]... [--all] [--keep-going] [FILE|-]\n"
	    "       consumer bench FILE [--passes N] [--no-verify]\n"
	    "       consumer capture URL [--cursor N] [--max-frames N] [-o FILE]\n"
	    "       consumer backfill [--reset]   backfill stored records (BACKFILL_*)\n"
	    "       consumer labels             subscribe to LABELER_HOSTS\n"
	    "       consumer --help\n");
}

static void
on_signal(int sig)
{
	(void)sig;
	live_request_stop();
}

int
main(int argc, char **argv)
{
	struct consumer_config	cfg;
	struct sigaction	sa;
	enum atc_log_level	level = ATC_LOG_INFO;
	int			rc;

	if (argc > 1 && strcmp(argv[1], "decode") == 0)
		return cmd_decode_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "bench") == 0)
		return cmd_bench_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "capture") == 0)
		return cmd_capture_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "backfill") == 0)
		return backfill_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "labels") == 0)
		return labels_main(argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage();
		settings_usage();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--check-config") != 0) {
		usage();
		return 2;
	}
	if (settings_load(&cfg) == -1)
		return 1;
	if (argc > 1) {
		printf("configuration OK\n");
		settings_free(&cfg);
		return 0;
	}
	(void)atc_log_level_parse(cfg.log_level, &level);
	atc_log_init("consumer", level);
	settings_log(&cfg);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	rc = live_run(&cfg) == 0 ? 0 : 1;
	settings_free(&cfg);
	return rc;
}
