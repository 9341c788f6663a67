/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_LABELS_FRAME_H
#define CONSUMER_LABELS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * com.atproto.label.subscribeLabels frames: DAG-CBOR header {op, t} then a
 * payload, like subscribeRepos. `#labels` {seq, labels: [label]}, `#info`
 * {name, message?}, op -1 error {error, message?}. Pure: no I/O. Text
 * fields are NUL-terminated copies in the frame's scratch buffer, valid
 * until the next decode or cleanup.
 */
#define LABELS_MAXLABELS	1000	/* per frame */
#define LABELS_MAXVAL		128	/* label value bytes */
#define LABELS_MAXFRAME		(1u * 1024 * 1024)

enum labels_frame_kind {
	LABELS_FRAME_IGNORED = 0,	/* unknown op or t */
	LABELS_FRAME_LABELS,
	LABELS_FRAME_INFO,
	LABELS_FRAME_ERROR,
};

/* com.atproto.label.defs#label. A label that breaks the lexicon keeps
 * error set (and is not to be published); the others have error NULL. */
struct labels_label {
	const char	*src;		/* DID of the labeler */
	const char	*uri;		/* at:// URI or DID labelled */
	const char	*cid;		/* NULL when absent */
	const char	*val;
	bool		 neg;
	const char	*cts;		/* RFC 3339 */
	const char	*exp;		/* NULL when absent */
	int64_t		 ver;		/* 0 when absent */
	bool		 has_sig;
	const char	*error;		/* why it is invalid, or NULL */
};

struct labels_frame {
	enum labels_frame_kind	 kind;
	int64_t			 op;
	const char		*type;		/* header t, "" when absent */
	bool			 has_seq;
	int64_t			 seq;
	struct labels_label	*labels;	/* nlabels entries, owned */
	size_t			 nlabels;
	size_t			 nvalid;	/* labels with error NULL */
	const char		*name;		/* info name / error name */
	const char		*message;	/* NULL when absent */
	struct atc_buf		 scratch;	/* private: text copies */
};

/* Caller-owned storage: init once, cleanup at the end. */
void	labels_frame_init(struct labels_frame *);
void	labels_frame_cleanup(struct labels_frame *);
/* Decodes data[0..len) (at most LABELS_MAXFRAME bytes) into f. Returns 0
 * when the frame is well-formed (single labels may still be invalid), -1
 * and err otherwise. */
int	labels_frame_decode(struct labels_frame *f, const uint8_t *data,
	    size_t len, char *err, size_t errlen);
/* Appends the message body of one valid label: {"src","uri","cid","val",
 * "neg","cts","exp","seq","source"} (cid and exp null when absent). */
void	labels_frame_json(struct atc_buf *out, const struct labels_label *,
	    int64_t seq, const char *source);
/* The routing key of a label: "label.apply" or "label.negate". */
const char	*labels_frame_routing_key(const struct labels_label *);

#endif
