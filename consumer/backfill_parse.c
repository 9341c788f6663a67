/* SPDX-License-Identifier: ISC */
/*
 * Pure helpers of the backfill: XRPC answers (repository list pages,
 * getLatestCommit) parsed with jansson under size limits, and the message
 * body of one record, built like the live path's (jsout.c) so the
 * processor cannot tell them apart except by "backfill":true.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atjson.h"
#include "backfill_priv.h"
#include "buf.h"
#include "cid.h"
#include "frame.h"
#include "syntax.h"
#include "util.h"

void
backfill_page_free(struct backfill_page *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ndids; i++)
		free(p->dids[i]);
	free(p->dids);
	free(p->cursor);
	memset(p, 0, sizeof(*p));
}

int
backfill_parse_page(struct backfill_page *out, const char *json, size_t len,
    char *err, size_t errlen)
{
	json_t		*root = NULL, *repos, *r, *active;
	json_error_t	 jerr;
	const char	*did, *cursor;
	char		 why[ATC_ERRLEN];
	size_t		 i;
	int		 ret = -1;

	memset(out, 0, sizeof(*out));
	if ((root = json_loadb(json, len, 0, &jerr)) == NULL) {
		atc_seterr(err, errlen, "page: bad JSON: %s", jerr.text);
		goto out;
	}
	repos = json_object_get(root, "repos");
	if (!json_is_array(repos)) {
		atc_seterr(err, errlen, "page: no repos array");
		goto out;
	}
	if (json_array_size(repos) > BACKFILL_MAXPAGE) {
		atc_seterr(err, errlen, "page: %zu repos (at most %d)",
		    json_array_size(repos), BACKFILL_MAXPAGE);
		goto out;
	}
	out->dids = atc_xcalloc(json_array_size(repos) + 1, sizeof(char *));
	json_array_foreach(repos, i, r) {
		did = json_string_value(json_object_get(r, "did"));
		if (did == NULL || atc_syntax_did(did, why, sizeof(why)) == -1) {
			atc_seterr(err, errlen, "page: repo %zu: bad did: %s",
			    i, did == NULL ? "missing" : why);
			goto out;
		}
		active = json_object_get(r, "active");
		if (json_is_false(active)) {
			out->ninactive++;
			continue;
		}
		out->dids[out->ndids++] = atc_xstrdup(did);
	}
	cursor = json_string_value(json_object_get(root, "cursor"));
	if (cursor != NULL && cursor[0] != '\0') {
		if (strlen(cursor) > 1024) {
			atc_seterr(err, errlen, "page: cursor too long");
			goto out;
		}
		out->cursor = atc_xstrdup(cursor);
	}
	ret = 0;
out:
	if (ret == -1)
		backfill_page_free(out);
	json_decref(root);
	return ret;
}

int
backfill_parse_latest(const char *json, size_t len, char *rev, size_t revlen,
    char *err, size_t errlen)
{
	json_t		*root;
	json_error_t	 jerr;
	const char	*r;
	char		 why[ATC_ERRLEN];
	int		 ret = -1;

	if ((root = json_loadb(json, len, 0, &jerr)) == NULL)
		return atc_seterr(err, errlen, "latest: bad JSON: %s",
		    jerr.text);
	r = json_string_value(json_object_get(root, "rev"));
	if (r == NULL || atc_syntax_tid(r, why, sizeof(why)) == -1)
		atc_seterr(err, errlen, "latest: bad rev: %s", r == NULL ?
		    "missing" : why);
	else if (strlen(r) >= revlen)
		atc_seterr(err, errlen, "latest: rev too long");
	else {
		memcpy(rev, r, strlen(r) + 1);
		ret = 0;
	}
	json_decref(root);
	return ret;
}

int
backfill_msg_build(struct atc_buf *out, const char *did, const char *rev,
    const char *collection, const char *rkey, const uint8_t *cid,
    size_t cid_len, const uint8_t *record, size_t record_len,
    uint64_t time_us, const char *source, char *err, size_t errlen)
{
	char	cidstr[ATC_CID_STRLEN];
	size_t	old = out->len;

	if (record_len > ATC_FRAME_MAXRECORD)
		return atc_seterr(err, errlen, "record of %zu bytes (at most "
		    "%u)", record_len, ATC_FRAME_MAXRECORD);
	if (record_len == 0 || (record[0] & 0xe0) != 0xa0)
		return atc_seterr(err, errlen, "record is not a map");
	if (atc_cid_format(cidstr, sizeof(cidstr), cid, cid_len, err,
	    errlen) == -1)
		return -1;
	atc_buf_puts(out, "{\"did\":");
	atc_atjson_string(out, did, strlen(did));
	atc_buf_appendf(out, ",\"time_us\":%llu,\"kind\":\"commit\","
	    "\"commit\":{\"rev\":", (unsigned long long)time_us);
	atc_atjson_string(out, rev, strlen(rev));
	atc_buf_puts(out, ",\"operation\":\"create\",\"collection\":");
	atc_atjson_string(out, collection, strlen(collection));
	atc_buf_puts(out, ",\"rkey\":");
	atc_atjson_string(out, rkey, strlen(rkey));
	atc_buf_puts(out, ",\"record\":");
	if (atc_atjson_write(out, record, record_len, 0, err, errlen) == -1) {
		atc_buf_truncate(out, old);
		return -1;
	}
	atc_buf_appendf(out, ",\"cid\":\"%s\"},\"source\":", cidstr);
	atc_atjson_string(out, source, strlen(source));
	atc_buf_puts(out, ",\"backfill\":true}");
	return 0;
}
