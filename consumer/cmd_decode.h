/* SPDX-License-Identifier: ISC */
#ifndef CMD_DECODE_H
#define CMD_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct atc_buf;
struct atc_frame;
struct atc_frame_opts;

/* `consumer decode [--collection NSID]... [--all] [--keep-going] [FILE|-]`:
 * prints one Jetstream v1 JSON line per event of a capture (plain or zstd).
 * argv[0] is the subcommand name. Returns the process exit status
 * (0 ok, 1 bad input, 2 usage). */
int	cmd_decode_main(int argc, char **argv);

/* Reads all of path ("-" = stdin) into out (at most max bytes). Returns 0
 * or -1 and err. */
int	cmd_decode_read_file(struct atc_buf *out, const char *path,
	    size_t max, char *err, size_t errlen);

/* Decodes one frame into f and appends its Jetstream v1 lines (each ending
 * in '\n') to out; *nevents gets the number of lines. Frames of other kinds
 * add nothing. time_us is the frame's own `time` (the receive time is not
 * in a capture). Failed ops are skipped: *nfailed counts them and err
 * describes the first. Returns 0, or -1 and err for a malformed frame
 * (out is then restored). */
int	cmd_decode_frame(struct atc_frame *f, struct atc_buf *out,
	    const uint8_t *data, size_t len, const struct atc_frame_opts *opts,
	    size_t *nevents, size_t *nfailed, char *err, size_t errlen);

/* Parses an RFC 3339 timestamp ("2026-07-04T14:38:07.877Z", offsets
 * allowed) to Unix microseconds. Returns 0 or -1. */
int	cmd_decode_time_us(const char *s, uint64_t *out);

#endif
