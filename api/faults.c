/* SPDX-License-Identifier: ISC */
/*
 * The test-only fault switch. Each worker keeps its own copy of the active
 * spec: the environment's, or the file's, re-read when a second has passed
 * since the last read, so toggling costs one small read per worker per
 * second and no coordination. Which writes fail is drawn from a per-worker
 * xorshift generator: an even share, not a fixed pattern, so a retrying
 * client sees realistic failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "log.h"
#include "telemetry.h"
#include "util.h"

#define FILE_MAX	256
#define STALL_MAX_MS	60000
#define REREAD_MS	1000

static struct {
	bool			 enabled;
	char			*file;		/* owned or NULL */
	struct faults_spec	 spec;		/* active */
	uint64_t		 read_ms;	/* last file read, 0 = never */
	uint64_t		 rng;		/* per worker after fork */
	pid_t			 rng_pid;
	char			 last[FILE_MAX];	/* file content */
} fs;

int
faults_parse(const char *text, struct faults_spec *out, char *err,
    size_t errlen)
{
	const char	*p = text, *end;
	char		 item[64], *eq, *num_end;
	unsigned long	 v;
	size_t		 len;

	memset(out, 0, sizeof(*out));
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ", \t\r\n");
		len = (size_t)(end - p);
		if (len >= sizeof(item))
			return atc_seterr(err, errlen, "fault spec item too "
			    "long");
		memcpy(item, p, len);
		item[len] = '\0';
		p = end;
		if ((eq = strchr(item, '=')) == NULL)
			return atc_seterr(err, errlen, "fault \"%s\": expected "
			    "name=value", item);
		*eq = '\0';
		errno = 0;
		v = strtoul(eq + 1, &num_end, 10);
		if (eq[1] == '\0' || *num_end != '\0' || errno != 0 ||
		    eq[1] == '-')
			return atc_seterr(err, errlen, "fault %s: bad number",
			    item);
		if (strcmp(item, "error500") == 0 && v <= 100)
			out->error500_pct = (unsigned)v;
		else if (strcmp(item, "stall") == 0 && v <= STALL_MAX_MS)
			out->stall_ms = (unsigned)v;
		else
			return atc_seterr(err, errlen, "fault %s=%lu: expected "
			    "error500=0..100 or stall=0..%d", item, v,
			    STALL_MAX_MS);
	}
	return 0;
}

int
faults_init(const char *spec, const char *file, char *err, size_t errlen)
{
	bool	has_spec = spec != NULL && *spec != '\0';
	bool	has_file = file != NULL && *file != '\0';

	if (!has_spec && !has_file)
		return 0;
	if (has_spec && faults_parse(spec, &fs.spec, err, errlen) == -1)
		return -1;
	fs.enabled = true;
	if (has_file)
		fs.file = atc_xstrdup(file);
	atc_log_warn("test_faults_enabled", "spec=\"%s\" file=%s "
	    "note=\"TEST ONLY: integration writes fail or stall on purpose; "
	    "unset ATCAL_TEST_FAULTS and ATCAL_TEST_FAULTS_FILE in "
	    "production\"", has_spec ? spec : "", has_file ? file : "-");
	return 0;
}

int
faults_enabled(void)
{
	return fs.enabled;
}

/* Re-reads the file when due; a missing or bad file means no faults. */
static void
reread(uint64_t now_ms)
{
	struct faults_spec	 spec;
	char			 buf[FILE_MAX], err[ATC_ERRLEN];
	char			 q[ATC_ERRLEN + 8];
	ssize_t			 n = 0;
	int			 fd;

	if (fs.read_ms != 0 && now_ms - fs.read_ms < REREAD_MS)
		return;
	fs.read_ms = now_ms;
	if ((fd = open(fs.file, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	if (strcmp(buf, fs.last) == 0)
		return;
	(void)snprintf(fs.last, sizeof(fs.last), "%s", buf);
	if (faults_parse(buf, &spec, err, sizeof(err)) == -1) {
		atc_log_warn("test_faults_bad_file", "file=%s detail=%s",
		    fs.file, atc_log_quote(q, sizeof(q), err));
		memset(&spec, 0, sizeof(spec));
	}
	fs.spec = spec;
	atc_log_warn("test_faults_changed", "file=%s error500=%u stall_ms=%u",
	    fs.file, spec.error500_pct, spec.stall_ms);
}

static unsigned
rng_percent(void)
{
	uint64_t	x;

	if (fs.rng_pid != getpid()) {
		fs.rng_pid = getpid();
		fs.rng = atc_wall_us() ^ ((uint64_t)fs.rng_pid << 32) ^
		    0x9e3779b97f4a7c15ULL;
		if (fs.rng == 0)
			fs.rng = 1;
	}
	x = fs.rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	fs.rng = x;
	return (unsigned)(x % 100);
}

enum faults_action
faults_apply(uint64_t now_ms)
{
	struct timespec	ts;

	if (!fs.enabled)
		return FAULTS_NONE;
	if (fs.file != NULL)
		reread(now_ms);
	if (fs.spec.stall_ms > 0) {
		telemetry_fault("stall");
		ts.tv_sec = fs.spec.stall_ms / 1000;
		ts.tv_nsec = (long)(fs.spec.stall_ms % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	if (fs.spec.error500_pct > 0 && rng_percent() < fs.spec.error500_pct) {
		telemetry_fault("error500");
		return FAULTS_ERROR500;
	}
	return FAULTS_NONE;
}
