/* SPDX-License-Identifier: ISC */
#ifndef CMD_BENCH_H
#define CMD_BENCH_H

/* `consumer bench FILE [--passes N] [--no-verify]`: decode throughput of a
 * capture (decode + JSON of every op), printed as one JSON line on stdout.
 * argv[0] is the subcommand name. Returns the process exit status. */
int	cmd_bench_main(int argc, char **argv);

#endif
