/* SPDX-License-Identifier: ISC */
/*
 * Builds the fuzzers' seed corpora at run time from the team fixtures (read
 * in place, never copied into the repository): usage
 *   fuzz_seed FIXTURES_DIR OUTDIR
 * writes OUTDIR/{frame,car,cbor_json,jetstream_json}/ one input per file:
 * every relay frame, repo.car and every frame's CAR slice, every record and
 * commit block plus the data-model DAG-CBOR vectors, every Jetstream line
 * plus the data-model JSON vectors. Exits 1 with a message on any problem.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "buf.h"
#include "frame.h"
#include "util.h"
#include "zst.h"

static const char	*outdir;

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_seed: %s: %s\n", what, why);
	exit(1);
}

static void
put(const char *target, const char *name, size_t n, const void *data,
    size_t len)
{
	char	 path[1024];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		die(path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s/%s-%04zu", outdir, target, name,
	    n);
	if ((fp = fopen(path, "wb")) == NULL ||
	    fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		die(path, strerror(errno));
}

static void
slurp(struct atc_buf *out, const char *dir, const char *name)
{
	char	 path[1024], err[ATC_ERRLEN];
	uint8_t	 chunk[65536];
	FILE	*fp;
	size_t	 n;
	struct atc_buf	raw;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "rb")) == NULL)
		die(path, strerror(errno));
	atc_buf_init(&raw, sizeof(chunk));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		atc_buf_append(&raw, chunk, n);
	fclose(fp);
	n = strlen(name);
	if (n > 4 && strcmp(name + n - 4, ".zst") == 0) {
		if (atc_zst_decompress(out, raw.data, raw.len, 256u << 20, err,
		    sizeof(err)) == -1)
			die(path, err);
	} else
		atc_buf_append(out, raw.data, raw.len);
	atc_buf_cleanup(&raw);
}

static void
seed_frames(const char *fx)
{
	struct atc_buf		 frames;
	struct atc_frame	 f;
	const uint8_t		*blk;
	size_t			 off, flen, i, nf = 0, nrec = 0, blen;
	char			 err[ATC_ERRLEN];

	atc_buf_init(&frames, 1 << 20);
	slurp(&frames, fx, "jetstream-corpus/frames.bin.zst");
	atc_frame_init(&f);
	for (off = 0; off + 4 <= frames.len; off += 4 + flen) {
		flen = (size_t)frames.data[off] |
		    (size_t)frames.data[off + 1] << 8 |
		    (size_t)frames.data[off + 2] << 16 |
		    (size_t)frames.data[off + 3] << 24;
		if (flen > frames.len - off - 4)
			die("frames.bin.zst", "truncated frame");
		put("frame", "frame", nf, frames.data + off + 4, flen);
		if (atc_frame_decode(&f, frames.data + off + 4, flen, NULL,
		    err, sizeof(err)) == -1)
			die("frame", err);
		if (f.blocks != NULL)
			put("car", "blocks", nf, f.blocks, f.blocks_len);
		for (i = 0; i < f.nops; i++)
			if (f.ops[i].record != NULL)
				put("cbor_json", "record", nrec++,
				    f.ops[i].record, f.ops[i].record_len);
		if (f.commit != NULL && f.blocks != NULL &&
		    atc_frame_block(&f, f.commit, f.commit_len, true, &blk,
		    &blen, err, sizeof(err)) == 0)
			put("cbor_json", "commit", nf, blk, blen);
		nf++;
	}
	atc_frame_cleanup(&f);
	atc_buf_cleanup(&frames);
}

static void
seed_jetstream(const char *fx)
{
	struct atc_buf	 lines;
	char		*p, *nl;
	size_t		 n = 0;

	atc_buf_init(&lines, 1 << 17);
	slurp(&lines, fx, "jetstream-corpus/expected_v1.jsonl");
	for (p = (char *)lines.data; p < (char *)lines.data + lines.len;
	    p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)((char *)lines.data +
		    lines.len - p))) == NULL)
			nl = (char *)lines.data + lines.len;
		if (nl > p)
			put("jetstream_json", "line", n++, p, (size_t)(nl - p));
	}
	atc_buf_cleanup(&lines);
}

/* Standard base64, padding optional, into out. */
static void
b64(struct atc_buf *out, const char *s)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*pos;
	uint32_t		 acc = 0;
	int			 bits = 0;

	for (; *s != '\0' && *s != '='; s++) {
		if ((pos = strchr(tab, *s)) == NULL)
			die("base64", "bad character");
		acc = (acc << 6) | (uint32_t)(pos - tab);
		if ((bits += 6) >= 8) {
			bits -= 8;
			atc_buf_putc(out, (int)((acc >> bits) & 0xff));
		}
	}
}

static void
seed_datamodel(const char *fx)
{
	static const char *const files[] = { "data-model-valid.json",
	    "data-model-invalid.json", "data-model-fixtures.json" };
	char		 path[1024], *text;
	json_error_t	 jerr;
	json_t		*root, *ent;
	struct atc_buf	 bin;
	size_t		 f, i, n = 0, nb = 0;

	for (f = 0; f < ATC_NELEM(files); f++) {
		snprintf(path, sizeof(path), "%s/atproto-interop/%s", fx,
		    files[f]);
		if ((root = json_load_file(path, 0, &jerr)) == NULL)
			die(path, jerr.text);
		json_array_foreach(root, i, ent) {
			text = json_dumps(json_object_get(ent, "json"),
			    JSON_ENCODE_ANY | JSON_COMPACT);
			if (text == NULL)
				die(path, "cannot encode");
			put("jetstream_json", "datamodel", n++, text,
			    strlen(text));
			free(text);
			if (json_is_string(json_object_get(ent,
			    "cbor_base64"))) {
				atc_buf_init(&bin, 256);
				b64(&bin, json_string_value(json_object_get(
				    ent, "cbor_base64")));
				put("cbor_json", "datamodel", nb++, bin.data,
				    bin.len);
				atc_buf_cleanup(&bin);
			}
		}
		json_decref(root);
	}
}

int
main(int argc, char *argv[])
{
	struct atc_buf	car;

	if (argc != 3) {
		fprintf(stderr, "usage: fuzz_seed FIXTURES_DIR OUTDIR\n");
		return 2;
	}
	outdir = argv[2];
	if (mkdir(outdir, 0755) == -1 && errno != EEXIST)
		die(outdir, strerror(errno));
	seed_frames(argv[1]);
	atc_buf_init(&car, 8192);
	slurp(&car, argv[1], "jetstream-corpus/repo.car");
	put("car", "repo", 0, car.data, car.len);
	atc_buf_cleanup(&car);
	seed_jetstream(argv[1]);
	seed_datamodel(argv[1]);
	return 0;
}
