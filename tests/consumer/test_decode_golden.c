/* SPDX-License-Identifier: ISC */
/*
 * Golden test of "frame in, Jetstream JSON out": the 150 real relay frames
 * of frames.bin.zst, decoded with --all semantics, must equal production
 * Jetstream's expected_v1.jsonl line by line as JSON (time_us aside), with
 * the manifest's counts. Also the `consumer decode` exit statuses and the
 * capture/zstd limits. Fixtures are read in place and the tests skip when
 * they are absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "capture.h"
#include "cmd_decode.h"
#include "frame.h"
#include "util.h"
#include "zst.h"

static const char *
fixtures_dir(void)
{
	const char	*d;

	d = getenv("FIXTURES_DIR");
	return d != NULL && *d != '\0' ? d : "../shared/fixtures";
}

static void
fixture_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/jetstream-corpus/%s", fixtures_dir(), name);
}

static void
load(struct atc_buf *b, const char *name)
{
	char	path[512], err[ATC_ERRLEN];

	fixture_path(path, sizeof(path), name);
	if (access(path, R_OK) != 0) {
		print_message("fixture %s absent: skipping\n", path);
		skip();
	}
	if (cmd_decode_read_file(b, path, (size_t)1 << 30, err,
	    sizeof(err)) == -1)
		fail_msg("%s", err);
}

/* Decodes a capture with --all semantics into newline-separated lines. */
static void
decode_all(const struct atc_buf *in, struct atc_buf *out, size_t *nframes,
    size_t *ncommit_frames)
{
	struct atc_frame_opts	opts = { .verify = true };
	struct atc_frame	f;
	struct atc_capture	cap;
	const uint8_t		*data;
	char			err[ATC_ERRLEN];
	size_t			len, n, nfail;
	int			r;

	atc_frame_init(&f);
	*nframes = *ncommit_frames = 0;
	if (atc_capture_open(&cap, in->data, in->len, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	while ((r = atc_capture_next(&cap, &data, &len, err,
	    sizeof(err))) == 1) {
		if (cmd_decode_frame(&f, out, data, len, &opts, &n, &nfail, err,
		    sizeof(err)) == -1 || nfail > 0)
			fail_msg("frame %zu: %s", *nframes, err);
		(*nframes)++;
		if (f.kind == ATC_FRAME_COMMIT)
			(*ncommit_frames)++;
	}
	assert_int_equal(r, 0);
	atc_capture_cleanup(&cap);
	atc_frame_cleanup(&f);
}

static json_int_t
manifest_int(json_t *m, const char *key)
{
	json_t	*v = json_object_get(m, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void
test_decode_golden_matches_jetstream(void **state)
{
	struct atc_buf	 in, out, exp, man;
	json_t		*manifest, *got, *want, *c;
	json_error_t	 jerr;
	char		*gl, *wl, *gs = NULL, *ws = NULL;
	size_t		 nframes, ncommit, nlines = 0;
	size_t		 ncreate = 0, nupdate = 0, ndelete = 0, nident = 0;
	size_t		 nacct = 0;
	const char	*op, *kind;

	atc_buf_init(&in, 0);
	atc_buf_init(&out, 0);
	atc_buf_init(&exp, 0);
	atc_buf_init(&man, 0);
	load(&in, "frames.bin.zst");
	load(&exp, "expected_v1.jsonl");
	load(&man, "manifest.json");
	if ((manifest = json_loads(atc_buf_cstr(&man), 0, &jerr)) == NULL)
		fail_msg("manifest: %s", jerr.text);
	decode_all(&in, &out, &nframes, &ncommit);

	gl = strtok_r((char *)out.data, "\n", &gs);
	wl = strtok_r((char *)exp.data, "\n", &ws);
	while (gl != NULL || wl != NULL) {
		if (gl == NULL || wl == NULL)
			fail_msg("line %zu: %s output ends first", nlines + 1,
			    gl == NULL ? "our" : "expected");
		if ((got = json_loads(gl, 0, &jerr)) == NULL)
			fail_msg("line %zu is not JSON (%s): %s", nlines + 1,
			    jerr.text, gl);
		if ((want = json_loads(wl, 0, &jerr)) == NULL)
			fail_msg("expected line %zu: %s", nlines + 1, jerr.text);
		assert_true(json_is_integer(json_object_get(got, "time_us")));
		json_object_del(got, "time_us");
		json_object_del(want, "time_us");
		if (!json_equal(got, want))
			fail_msg("line %zu differs:\n got  %s\n want %s",
			    nlines + 1, gl, wl);
		kind = json_string_value(json_object_get(got, "kind"));
		if (strcmp(kind, "commit") == 0) {
			c = json_object_get(got, "commit");
			op = json_string_value(json_object_get(c, "operation"));
			ncreate += strcmp(op, "create") == 0;
			nupdate += strcmp(op, "update") == 0;
			ndelete += strcmp(op, "delete") == 0;
		} else if (strcmp(kind, "identity") == 0)
			nident++;
		else if (strcmp(kind, "account") == 0)
			nacct++;
		json_decref(got);
		json_decref(want);
		nlines++;
		gl = strtok_r(NULL, "\n", &gs);
		wl = strtok_r(NULL, "\n", &ws);
	}
	assert_int_equal(nlines, 152);
	assert_int_equal(nlines, manifest_int(manifest, "v1_events"));
	assert_int_equal(nframes, manifest_int(manifest, "frames"));
	assert_int_equal(ncommit, 148);
	assert_int_equal(ncommit, manifest_int(manifest, "commit_frames"));
	assert_int_equal(ncreate, 144);
	assert_int_equal(ncreate, manifest_int(manifest, "creates"));
	assert_int_equal(nupdate, manifest_int(manifest, "updates"));
	assert_int_equal(nupdate, 2);
	assert_int_equal(ndelete, manifest_int(manifest, "deletes"));
	assert_int_equal(ndelete, 4);
	assert_int_equal(nident, manifest_int(manifest, "identity"));
	assert_int_equal(nident, 1);
	assert_int_equal(nacct, manifest_int(manifest, "account"));
	assert_int_equal(nacct, 1);
	json_decref(manifest);
	atc_buf_cleanup(&man);
	atc_buf_cleanup(&exp);
	atc_buf_cleanup(&out);
	atc_buf_cleanup(&in);
}

/* Runs cmd_decode_main with stdout sent to a file; returns its status and
 * leaves the output in *out. */
static int
run_decode(struct atc_buf *out, int argc, char **argv)
{
	char	tmpl[] = "/tmp/test_decode_golden.XXXXXX", err[ATC_ERRLEN];
	int	fd, saved, ret;

	assert_true((fd = mkstemp(tmpl)) >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	ret = cmd_decode_main(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);
	atc_buf_reset(out);
	assert_int_equal(cmd_decode_read_file(out, tmpl, 1 << 24, err,
	    sizeof(err)), 0);
	unlink(tmpl);
	return ret;
}

static void
test_decode_golden_default_filter_and_status(void **state)
{
	char		 path[512], bad[] = "/tmp/test_decode_bad.XXXXXX";
	char		*argv[6];
	struct atc_buf	 out, in, plain;
	char		 err[ATC_ERRLEN];
	int		 fd;

	fixture_path(path, sizeof(path), "frames.bin.zst");
	if (access(path, R_OK) != 0) {
		print_message("fixture %s absent: skipping\n", path);
		skip();
	}
	atc_buf_init(&out, 0);
	atc_buf_init(&in, 0);
	atc_buf_init(&plain, 0);
	/* Default collections (calendar only): just identity and account. */
	argv[0] = "decode";
	argv[1] = path;
	assert_int_equal(run_decode(&out, 2, argv), 0);
	assert_non_null(strstr(atc_buf_cstr(&out), "\"kind\":\"identity\""));
	assert_non_null(strstr(atc_buf_cstr(&out), "\"kind\":\"account\""));
	assert_null(strstr(atc_buf_cstr(&out), "\"kind\":\"commit\""));
	argv[1] = "--collection";
	argv[2] = "app.bsky.feed.like";
	argv[3] = path;
	assert_int_equal(run_decode(&out, 4, argv), 0);
	assert_non_null(strstr(atc_buf_cstr(&out), "app.bsky.feed.like"));
	assert_null(strstr(atc_buf_cstr(&out),
	    "\"collection\":\"app.bsky.feed.post\""));

	/* A plain capture with a broken first frame and a cut last one. */
	assert_int_equal(cmd_decode_read_file(&in, path, 1 << 30, err,
	    sizeof(err)), 0);
	assert_int_equal(atc_zst_decompress(&plain, in.data, in.len, 1 << 30,
	    err, sizeof(err)), 0);
	assert_true(plain.len > 100);
	plain.data[4] = 0xff;		/* frame 0's header: a CBOR break */
	assert_true((fd = mkstemp(bad)) >= 0);
	assert_int_equal(write(fd, plain.data, plain.len - 5),
	    (ssize_t)(plain.len - 5));
	close(fd);
	argv[1] = "--all";
	argv[2] = bad;
	assert_int_equal(run_decode(&out, 3, argv), 1);
	argv[3] = "--keep-going";
	assert_int_equal(run_decode(&out, 4, argv), 0);
	assert_non_null(strstr(atc_buf_cstr(&out), "\"kind\":\"identity\""));
	unlink(bad);
	argv[1] = "--bogus";
	assert_int_equal(run_decode(&out, 2, argv), 2);
	argv[1] = "/nonexistent/capture";
	assert_int_equal(run_decode(&out, 2, argv), 1);
	atc_buf_cleanup(&plain);
	atc_buf_cleanup(&in);
	atc_buf_cleanup(&out);
}

static void
test_decode_golden_zstd_limits(void **state)
{
	struct atc_buf	 in, out, dict;
	struct atc_zst	*z;
	char		 err[ATC_ERRLEN];

	atc_buf_init(&in, 0);
	atc_buf_init(&out, 0);
	atc_buf_init(&dict, 0);
	load(&in, "frames.bin.zst");
	assert_true(atc_zst_is_zstd(in.data, in.len));
	assert_int_equal(atc_zst_decompress(&out, in.data, in.len, 4096, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "zstd: output exceeds 4096 bytes");
	assert_int_equal(out.len, 0);
	assert_int_equal(atc_zst_decompress(&out, in.data, in.len / 2,
	    1 << 30, err, sizeof(err)), -1);
	assert_string_equal(err, "zstd: truncated input");
	assert_int_equal(atc_zst_decompress(&out, "garbage!", 8, 1 << 20, err,
	    sizeof(err)), -1);
	assert_int_equal(strncmp(err, "zstd: ", 6), 0);
	/* The dictionary context also decodes dictionary-less frames. */
	load(&dict, "jetstream_v1.zdict");
	if ((z = atc_zst_new(dict.data, dict.len, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	assert_int_equal(atc_zst_message(z, &out, in.data, in.len, 1 << 30,
	    err, sizeof(err)), 0);
	assert_true(out.len > in.len);
	assert_int_equal(atc_zst_message(z, &out, in.data, 100, 1 << 30,
	    err, sizeof(err)), -1);
	atc_zst_free(z);
	atc_zst_free(NULL);
	atc_buf_cleanup(&dict);
	atc_buf_cleanup(&out);
	atc_buf_cleanup(&in);
}

static void
test_decode_golden_time_parser(void **state)
{
	uint64_t	us;

	assert_int_equal(cmd_decode_time_us("2026-07-04T14:38:07.877Z", &us),
	    0);
	assert_int_equal(us, 1783175887877000ULL);
	assert_int_equal(cmd_decode_time_us("2026-07-04T16:38:07+02:00", &us),
	    0);
	assert_int_equal(us, 1783175887000000ULL);
	assert_int_equal(cmd_decode_time_us("2026-07-04 14:38:07Z", &us), -1);
	assert_int_equal(cmd_decode_time_us("2026-13-04T14:38:07Z", &us), -1);
	assert_int_equal(cmd_decode_time_us("", &us), -1);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_decode_golden_matches_jetstream),
		cmocka_unit_test(test_decode_golden_default_filter_and_status),
		cmocka_unit_test(test_decode_golden_zstd_limits),
		cmocka_unit_test(test_decode_golden_time_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
