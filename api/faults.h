/* SPDX-License-Identifier: ISC */
#ifndef API_FAULTS_H
#define API_FAULTS_H

#include <stddef.h>
#include <stdint.h>

/*
 * TEST-ONLY fault switch for the fault suite (issue 5): makes integration
 * writes fail or stall on purpose. Off unless ATCAL_TEST_FAULTS or
 * ATCAL_TEST_FAULTS_FILE is set; never set them in production. A spec is
 * a comma-separated list of `error500=PERCENT` (answer 500 to that share
 * of writes) and `stall=MS` (hold each write that long); empty = none.
 * With a file, its content is the spec, re-read at most once a second, so
 * a test switches faults on and off without a restart (missing file =
 * none); otherwise ATCAL_TEST_FAULTS applies.
 */
struct faults_spec {
	unsigned	error500_pct;	/* 0..100 */
	unsigned	stall_ms;	/* 0..60000 */
};

enum faults_action {
	FAULTS_NONE,		/* proceed normally */
	FAULTS_ERROR500,	/* answer 500 */
};

/* Parses a spec (whitespace and a trailing newline allowed) into out.
 * Returns 0 or -1 with err filled. */
int	faults_parse(const char *text, struct faults_spec *out, char *err,
	    size_t errlen);

/* Sets the process-wide switch (parent, before fork): spec and file may be
 * NULL or empty. Returns 0 or -1 with err filled (bad spec). Logs a loud
 * warning when enabled. */
int	faults_init(const char *spec, const char *file, char *err,
	    size_t errlen);
/* Returns 1 when a switch is configured at all. */
int	faults_enabled(void);

/* Decides the fate of one integration write at now_ms: sleeps here for a
 * stall, then returns FAULTS_ERROR500 for the chosen share. */
enum faults_action	faults_apply(uint64_t now_ms);

#endif
