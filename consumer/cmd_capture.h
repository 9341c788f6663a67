/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_CMD_CAPTURE_H
#define CONSUMER_CMD_CAPTURE_H

/* `consumer capture URL [--cursor N] [--max-frames N] [-o FILE]`: records
 * raw frames from a live source as [u32 LE length][frame]... (the capture
 * format `consumer decode` reads). argv[0] is "capture". Returns the exit
 * status. */
int	cmd_capture_main(int argc, char **argv);

#endif
