/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target: one DAG-CBOR value through the strict reader and the
 * atproto JSON writer. Oracle: whenever the writer succeeds its output must
 * parse as JSON (jansson), and the validator must agree with the reader
 * that the input is one complete value. The parsed JSON then goes through
 * the data-model validator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atjson.h"
#include "buf.h"
#include "cbor.h"
#include "syntax.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct atc_buf	 out;
	json_error_t	 jerr;
	json_t		*v;
	char		 err[ATC_ERRLEN];
	int		 valid;

	valid = atc_cbor_validate(data, len, 0, err, sizeof(err)) == 0;
	atc_buf_init(&out, 256);
	if (atc_atjson_write(&out, data, len, 0, err, sizeof(err)) == 0) {
		if (!valid) {
			fprintf(stderr, "atjson_write accepted what "
			    "cbor_validate rejects\n");
			abort();
		}
		v = json_loadb((const char *)out.data, out.len,
		    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		/* jansson refuses U+0000 in object keys although DAG-CBOR and
		 * JSON allow it: not a writer bug (see the A2 report). */
		if (v == NULL && memmem(out.data, out.len, "\\u0000", 6) ==
		    NULL) {
			fprintf(stderr, "atjson output is not JSON: %s\n",
			    jerr.text);
			abort();
		}
		if (v != NULL) {
			(void)atc_datamodel_validate(v, err, sizeof(err));
			json_decref(v);
		}
	}
	atc_buf_cleanup(&out);
	return 0;
}
