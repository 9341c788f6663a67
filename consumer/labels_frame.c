/* SPDX-License-Identifier: ISC */
/*
 * subscribeLabels frame decoder (pure). The header and payload are read
 * with the strict DAG-CBOR cursor; text fields are copied NUL-terminated
 * into the frame's scratch buffer, which is reserved up front for the
 * whole frame so the pointers handed out never move. A label that breaks
 * the lexicon (bad DID, URI, date, empty value) is kept with an error so
 * the caller can log it; a structurally broken frame fails as a whole.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atjson.h"
#include "buf.h"
#include "cbor.h"
#include "labels_frame.h"
#include "syntax.h"
#include "util.h"

void
labels_frame_init(struct labels_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->labels = atc_xcalloc(LABELS_MAXLABELS, sizeof(*f->labels));
	atc_buf_init(&f->scratch, 0);
	f->type = "";
}

void
labels_frame_cleanup(struct labels_frame *f)
{
	free(f->labels);
	f->labels = NULL;
	atc_buf_cleanup(&f->scratch);
}

static void
frame_reset(struct labels_frame *f)
{
	struct labels_label	*labels = f->labels;
	struct atc_buf		 scratch = f->scratch;

	memset(f, 0, sizeof(*f));
	f->labels = labels;
	f->scratch = scratch;
	f->type = "";
}

/* Copies s[0..len) into the reserved scratch; NULL if it holds a NUL. */
static const char *
scratch_str(struct labels_frame *f, const uint8_t *s, size_t len)
{
	char	*p;

	if (memchr(s, '\0', len) != NULL)
		return NULL;
	assert(f->scratch.len + len + 1 <= f->scratch.cap);
	p = (char *)f->scratch.data + f->scratch.len;
	memcpy(p, s, len);
	p[len] = '\0';
	f->scratch.len += len + 1;
	return p;
}

static const char *
scratch_err(struct labels_frame *f, const char *field, const char *why)
{
	char	tmp[ATC_ERRLEN];
	int	n;

	n = snprintf(tmp, sizeof(tmp), "%s: %s", field, why);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	return scratch_str(f, (const uint8_t *)tmp, (size_t)n);
}

static int
read_text(struct labels_frame *f, struct atc_cbor *c, const char *name,
    const char **out, char *err, size_t errlen)
{
	struct atc_cbor_item	it;

	if (atc_cbor_read(c, &it, err, errlen) == -1)
		return -1;
	if (it.type != ATC_CBOR_TEXT)
		return atc_seterr(err, errlen, "labels: field '%s' is not a "
		    "string at offset %zu", name, it.offset);
	if ((*out = scratch_str(f, it.ptr, it.len)) == NULL)
		return atc_seterr(err, errlen, "labels: NUL byte in '%s' at "
		    "offset %zu", name, it.offset);
	return 0;
}

static int
read_int(struct atc_cbor *c, const char *name, int64_t *out, char *err,
    size_t errlen)
{
	struct atc_cbor_item	it;

	if (atc_cbor_read(c, &it, err, errlen) == -1)
		return -1;
	if (it.type != ATC_CBOR_INT)
		return atc_seterr(err, errlen, "labels: field '%s' is not an "
		    "integer at offset %zu", name, it.offset);
	*out = it.i;
	return 0;
}

/* Checks a decoded label against the lexicon; sets l->error. */
static void
label_check(struct labels_frame *f, struct labels_label *l)
{
	char	why[ATC_ERRLEN];

	if (l->src == NULL || l->uri == NULL || l->val == NULL ||
	    l->cts == NULL) {
		l->error = scratch_err(f, "label", "src, uri, val and cts are "
		    "required");
		return;
	}
	if (atc_syntax_did(l->src, why, sizeof(why)) == -1) {
		l->error = scratch_err(f, "src", why);
		return;
	}
	if (strncmp(l->uri, "did:", 4) == 0 ?
	    atc_syntax_did(l->uri, why, sizeof(why)) == -1 :
	    atc_syntax_at_uri(l->uri, NULL, why, sizeof(why)) == -1) {
		l->error = scratch_err(f, "uri", why);
		return;
	}
	if (l->val[0] == '\0' || strlen(l->val) > LABELS_MAXVAL) {
		l->error = scratch_err(f, "val", "must be 1-128 bytes");
		return;
	}
	if (atc_syntax_datetime(l->cts, why, sizeof(why)) == -1) {
		l->error = scratch_err(f, "cts", why);
		return;
	}
	if (l->exp != NULL && atc_syntax_datetime(l->exp, why,
	    sizeof(why)) == -1) {
		l->error = scratch_err(f, "exp", why);
		return;
	}
	if (l->cid != NULL && atc_syntax_cid(l->cid, why, sizeof(why)) == -1)
		l->error = scratch_err(f, "cid", why);
}

static int
read_label(struct labels_frame *f, struct atc_cbor *c,
    struct labels_label *l, char *err, size_t errlen)
{
	struct atc_cbor_item	map, key, it;
	size_t			i;

	memset(l, 0, sizeof(*l));
	if (atc_cbor_read(c, &map, err, errlen) == -1)
		return -1;
	if (map.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen, "labels: label is not a map at "
		    "offset %zu", map.offset);
	for (i = 0; i < map.count; i++) {
		if (atc_cbor_read(c, &key, err, errlen) == -1)
			return -1;
		if (atc_cbor_eq(&key, "src")) {
			if (read_text(f, c, "src", &l->src, err, errlen) == -1)
				return -1;
		} else if (atc_cbor_eq(&key, "uri")) {
			if (read_text(f, c, "uri", &l->uri, err, errlen) == -1)
				return -1;
		} else if (atc_cbor_eq(&key, "cid")) {
			if (read_text(f, c, "cid", &l->cid, err, errlen) == -1)
				return -1;
		} else if (atc_cbor_eq(&key, "val")) {
			if (read_text(f, c, "val", &l->val, err, errlen) == -1)
				return -1;
		} else if (atc_cbor_eq(&key, "cts")) {
			if (read_text(f, c, "cts", &l->cts, err, errlen) == -1)
				return -1;
		} else if (atc_cbor_eq(&key, "exp")) {
			if (read_text(f, c, "exp", &l->exp, err, errlen) == -1)
				return -1;
		} else if (atc_cbor_eq(&key, "ver")) {
			if (read_int(c, "ver", &l->ver, err, errlen) == -1)
				return -1;
		} else if (atc_cbor_eq(&key, "neg")) {
			if (atc_cbor_read(c, &it, err, errlen) == -1)
				return -1;
			if (it.type != ATC_CBOR_BOOL)
				return atc_seterr(err, errlen, "labels: field "
				    "'neg' is not a boolean at offset %zu",
				    it.offset);
			l->neg = it.b;
		} else if (atc_cbor_eq(&key, "sig")) {
			if (atc_cbor_read(c, &it, err, errlen) == -1)
				return -1;
			if (it.type != ATC_CBOR_BYTES)
				return atc_seterr(err, errlen, "labels: field "
				    "'sig' is not bytes at offset %zu",
				    it.offset);
			l->has_sig = true;
		} else if (atc_cbor_skip(c, err, errlen) == -1)
			return -1;
	}
	label_check(f, l);
	if (l->error == NULL)
		f->nvalid++;
	return 0;
}

static int
read_labels(struct labels_frame *f, struct atc_cbor *c, char *err,
    size_t errlen)
{
	struct atc_cbor_item	arr;
	size_t			i;

	if (atc_cbor_read(c, &arr, err, errlen) == -1)
		return -1;
	if (arr.type != ATC_CBOR_ARRAY)
		return atc_seterr(err, errlen, "labels: 'labels' is not an "
		    "array at offset %zu", arr.offset);
	if (arr.count > LABELS_MAXLABELS)
		return atc_seterr(err, errlen, "labels: %zu labels in one "
		    "frame (at most %d)", arr.count, LABELS_MAXLABELS);
	for (i = 0; i < arr.count; i++)
		if (read_label(f, c, &f->labels[i], err, errlen) == -1)
			return -1;
	f->nlabels = arr.count;
	return 0;
}

static int
read_header(struct labels_frame *f, struct atc_cbor *c, char *err,
    size_t errlen)
{
	struct atc_cbor_item	map, key;
	bool			have_op = false;
	size_t			i;

	if (atc_cbor_read(c, &map, err, errlen) == -1)
		return -1;
	if (map.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen, "labels: header is not a map");
	for (i = 0; i < map.count; i++) {
		if (atc_cbor_read(c, &key, err, errlen) == -1)
			return -1;
		if (atc_cbor_eq(&key, "op")) {
			if (read_int(c, "op", &f->op, err, errlen) == -1)
				return -1;
			have_op = true;
		} else if (atc_cbor_eq(&key, "t")) {
			if (read_text(f, c, "t", &f->type, err, errlen) == -1)
				return -1;
		} else if (atc_cbor_skip(c, err, errlen) == -1)
			return -1;
	}
	if (!have_op)
		return atc_seterr(err, errlen, "labels: header without op");
	return 0;
}

static int
read_payload(struct labels_frame *f, struct atc_cbor *c, char *err,
    size_t errlen)
{
	struct atc_cbor_item	map, key, it;
	bool			have_labels = false;
	size_t			i;

	if (atc_cbor_read(c, &map, err, errlen) == -1)
		return -1;
	if (map.type != ATC_CBOR_MAP)
		return atc_seterr(err, errlen, "labels: payload is not a map");
	for (i = 0; i < map.count; i++) {
		if (atc_cbor_read(c, &key, err, errlen) == -1)
			return -1;
		if (f->kind == LABELS_FRAME_LABELS &&
		    atc_cbor_eq(&key, "seq")) {
			if (read_int(c, "seq", &f->seq, err, errlen) == -1)
				return -1;
			if (f->seq < 0)
				return atc_seterr(err, errlen, "labels: "
				    "negative seq");
			f->has_seq = true;
		} else if (f->kind == LABELS_FRAME_LABELS &&
		    atc_cbor_eq(&key, "labels")) {
			if (read_labels(f, c, err, errlen) == -1)
				return -1;
			have_labels = true;
		} else if (f->kind != LABELS_FRAME_LABELS &&
		    (atc_cbor_eq(&key, "name") || atc_cbor_eq(&key, "error"))) {
			if (read_text(f, c, "name", &f->name, err,
			    errlen) == -1)
				return -1;
		} else if (f->kind != LABELS_FRAME_LABELS &&
		    atc_cbor_eq(&key, "message")) {
			if (atc_cbor_read(c, &it, err, errlen) == -1)
				return -1;
			if (it.type == ATC_CBOR_TEXT && (f->message =
			    scratch_str(f, it.ptr, it.len)) == NULL)
				return atc_seterr(err, errlen, "labels: NUL "
				    "byte in 'message'");
		} else if (atc_cbor_skip(c, err, errlen) == -1)
			return -1;
	}
	if (f->kind == LABELS_FRAME_LABELS && (!f->has_seq || !have_labels))
		return atc_seterr(err, errlen, "labels: #labels without seq "
		    "or labels");
	if (f->kind != LABELS_FRAME_LABELS && f->name == NULL)
		f->name = "";
	return 0;
}

int
labels_frame_decode(struct labels_frame *f, const uint8_t *data, size_t len,
    char *err, size_t errlen)
{
	struct atc_cbor	c;
	size_t		hlen;

	frame_reset(f);
	atc_buf_reset(&f->scratch);
	if (len > LABELS_MAXFRAME)
		return atc_seterr(err, errlen, "labels: frame of %zu bytes "
		    "(at most %u)", len, LABELS_MAXFRAME);
	/* Every copied string comes from the input, plus a NUL each and one
	 * error text per label: this bound is never exceeded. */
	atc_buf_reserve(&f->scratch, 2 * len + 64 +
	    (size_t)LABELS_MAXLABELS * ATC_ERRLEN);
	if (atc_cbor_value_len(data, len, 0, &hlen, err, errlen) == -1)
		return -1;
	atc_cbor_init(&c, data, hlen, 0);
	if (read_header(f, &c, err, errlen) == -1)
		return -1;
	if (f->op == -1)
		f->kind = LABELS_FRAME_ERROR;
	else if (f->op == 1 && strcmp(f->type, "#labels") == 0)
		f->kind = LABELS_FRAME_LABELS;
	else if (f->op == 1 && strcmp(f->type, "#info") == 0)
		f->kind = LABELS_FRAME_INFO;
	else {
		f->kind = LABELS_FRAME_IGNORED;
		return atc_cbor_validate(data + hlen, len - hlen, hlen, err,
		    errlen);
	}
	if (hlen == len)
		return atc_seterr(err, errlen, "labels: frame without payload");
	atc_cbor_init(&c, data + hlen, len - hlen, hlen);
	if (read_payload(f, &c, err, errlen) == -1)
		return -1;
	if (!atc_cbor_done(&c) || atc_cbor_offset(&c) != len)
		return atc_seterr(err, errlen, "labels: trailing bytes after "
		    "the payload");
	return 0;
}

static void
json_opt_string(struct atc_buf *out, const char *s)
{
	if (s == NULL)
		atc_buf_puts(out, "null");
	else
		atc_atjson_string(out, s, strlen(s));
}

void
labels_frame_json(struct atc_buf *out, const struct labels_label *l,
    int64_t seq, const char *source)
{
	atc_buf_puts(out, "{\"src\":");
	atc_atjson_string(out, l->src, strlen(l->src));
	atc_buf_puts(out, ",\"uri\":");
	atc_atjson_string(out, l->uri, strlen(l->uri));
	atc_buf_puts(out, ",\"cid\":");
	json_opt_string(out, l->cid);
	atc_buf_puts(out, ",\"val\":");
	atc_atjson_string(out, l->val, strlen(l->val));
	atc_buf_appendf(out, ",\"neg\":%s,\"cts\":", l->neg ? "true" :
	    "false");
	atc_atjson_string(out, l->cts, strlen(l->cts));
	atc_buf_puts(out, ",\"exp\":");
	json_opt_string(out, l->exp);
	atc_buf_appendf(out, ",\"seq\":%lld,\"source\":", (long long)seq);
	atc_atjson_string(out, source, strlen(source));
	atc_buf_putc(out, '}');
}

const char *
labels_frame_routing_key(const struct labels_label *l)
{
	return l->neg ? "label.negate" : "label.apply";
}
