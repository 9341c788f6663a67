/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_DLQ_H
#define PROCESSOR_DLQ_H

struct settings;

/* `processor dlq list | show N | replay --all|--filter SUBSTR|N | purge`
 * against the real dead-letter queue. argv[0] is the subcommand. Prints
 * results on stdout, errors on stderr; returns the process exit status
 * (0 ok, 1 failure, 2 usage). */
int	dlq_main(const struct settings *cfg, int argc, char **argv);

#endif
