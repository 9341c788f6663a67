/* SPDX-License-Identifier: ISC */
/*
 * api/lifecycle.c: identity, account, profile and label bodies into
 * database operations, and the hide-label list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lifecycle.h"

#define DID	"did:plc:ewvi7nxzyoun6zhxrhs64oiz"
#define CID	"bafkreibjfgx2gprinfvicegelk5kosd6y2frmqpqzwqkg7usac74l3t2v4"
#define EV	"at://" DID "/community.lexicon.calendar.event/3mptbyplj5d2a"

typedef int	(*parse_fn)(const json_t *, json_t **, json_t *);

/* Runs fn over JSON text; returns the op (or NULL) and sets *errors. */
static json_t *
run(parse_fn fn, const char *text, json_t **errors)
{
	json_error_t	 e;
	json_t		*body, *op = NULL;

	if ((body = json_loads(text, 0, &e)) == NULL)
		fail_msg("test JSON: %s", e.text);
	*errors = json_object();
	if (fn(body, &op, *errors) == 0)
		assert_int_equal(json_object_size(*errors), 0);
	else
		assert_null(op);
	json_decref(body);
	return op;
}

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
test_lifecycle_identity_resolved(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_identity, "{\"did\":\"" DID "\",\"handle\":"
	    "\"Alice.Test\",\"seq\":7,\"time\":\"2024-09-09T19:46:02.102Z\","
	    "\"resolved\":true,\"pds\":\"http://localhost:2583\"}", &errors);
	assert_non_null(op);
	assert_string_equal(str(op, "did"), DID);
	assert_string_equal(str(op, "handle"), "Alice.Test");
	assert_string_equal(str(op, "pds"), "http://localhost:2583");
	assert_int_equal(json_integer_value(json_object_get(op, "seq")), 7);
	assert_non_null(str(op, "time"));
	assert_true(json_is_true(json_object_get(op, "resolved")));
	json_decref(op);
	json_decref(errors);
}

static void
test_lifecycle_identity_unverified_handle_dropped(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_identity, "{\"did\":\"" DID "\",\"handle\":"
	    "\"handle.invalid\",\"resolved\":true}", &errors);
	assert_non_null(op);
	assert_null(json_object_get(op, "handle"));
	json_decref(op);
	json_decref(errors);
	/* A hint is never passed on. */
	op = run(lifecycle_identity, "{\"did\":\"" DID "\",\"handle\":"
	    "\"alice.test\"}", &errors);
	assert_non_null(op);
	assert_null(json_object_get(op, "handle"));
	json_decref(op);
	json_decref(errors);
}

static void
test_lifecycle_identity_bad_fields_named(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_identity, "{\"did\":\"not-a-did\",\"handle\":"
	    "\"-bad-\",\"resolved\":true,\"seq\":-1,\"time\":\"yesterday\","
	    "\"pds\":\"ftp://x\"}", &errors);
	assert_null(op);
	assert_non_null(json_object_get(errors, "did"));
	assert_non_null(json_object_get(errors, "handle"));
	assert_non_null(json_object_get(errors, "seq"));
	assert_non_null(json_object_get(errors, "time"));
	assert_non_null(json_object_get(errors, "pds"));
	json_decref(errors);
}

static void
test_lifecycle_account_status_kept(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_account, "{\"did\":\"" DID "\",\"active\":false,"
	    "\"status\":\"some_new_status\",\"seq\":3}", &errors);
	assert_non_null(op);
	assert_true(json_is_false(json_object_get(op, "active")));
	assert_string_equal(str(op, "status"), "some_new_status");
	json_decref(op);
	json_decref(errors);
}

static void
test_lifecycle_account_active_required(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_account, "{\"did\":\"" DID "\",\"status\":"
	    "\"Bad Status\"}", &errors);
	assert_null(op);
	assert_non_null(json_object_get(errors, "active"));
	assert_non_null(json_object_get(errors, "status"));
	json_decref(errors);
}

static void
test_lifecycle_profile_record_reduced(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_profile, "{\"did\":\"" DID "\",\"rev\":"
	    "\"3mptbypluud2a\",\"operation\":\"create\",\"record\":{"
	    "\"$type\":\"app.bsky.actor.profile\",\"displayName\":\"Alice\","
	    "\"description\":\"hi\",\"avatar\":{\"$type\":\"blob\",\"ref\":"
	    "{\"$link\":\"" CID "\"},\"mimeType\":\"image/png\",\"size\":3},"
	    "\"banner\":{\"cid\":\"" CID "\",\"mimeType\":\"image/png\"}}}",
	    &errors);
	assert_non_null(op);
	assert_string_equal(str(op, "displayName"), "Alice");
	assert_string_equal(str(op, "description"), "hi");
	assert_string_equal(str(op, "avatarCid"), CID);
	assert_string_equal(str(op, "bannerCid"), CID);
	assert_string_equal(str(op, "rev"), "3mptbypluud2a");
	assert_null(json_object_get(op, "record"));
	json_decref(op);
	json_decref(errors);
}

static void
test_lifecycle_profile_delete_needs_no_record(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_profile, "{\"did\":\"" DID "\",\"rev\":"
	    "\"3mptbypluud2a\",\"operation\":\"delete\"}", &errors);
	assert_non_null(op);
	assert_string_equal(str(op, "operation"), "delete");
	json_decref(op);
	json_decref(errors);
}

static void
test_lifecycle_profile_bad_record_named(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_profile, "{\"did\":\"" DID "\",\"rev\":\"x\","
	    "\"operation\":\"update\",\"record\":{\"displayName\":5,"
	    "\"avatar\":{\"ref\":{\"$link\":\"nope\"}}}}", &errors);
	assert_null(op);
	assert_non_null(json_object_get(errors, "rev"));
	assert_non_null(json_object_get(errors, "record.displayName"));
	assert_non_null(json_object_get(errors, "record.avatar"));
	json_decref(errors);
	op = run(lifecycle_profile, "{\"did\":\"" DID "\",\"operation\":"
	    "\"update\"}", &errors);
	assert_null(op);
	assert_non_null(json_object_get(errors, "record"));
	json_decref(errors);
}

static void
test_lifecycle_labels_normalised(void **state)
{
	json_t	*errors, *op, *l;

	op = run(lifecycle_labels, "{\"labels\":[{\"src\":\"" DID "\","
	    "\"uri\":\"" EV "\",\"cid\":\"" CID "\",\"val\":\"!hide\","
	    "\"cts\":\"2026-01-02T03:04:05.000Z\"},{\"src\":\"" DID "\","
	    "\"uri\":\"" DID "\",\"val\":\"spam\",\"neg\":true,"
	    "\"cts\":\"2026-01-02T03:04:06.000Z\","
	    "\"exp\":\"2027-01-01T00:00:00.000Z\"}]}", &errors);
	assert_non_null(op);
	assert_int_equal(json_array_size(op), 2);
	l = json_array_get(op, 0);
	assert_string_equal(str(l, "uri"), EV);
	assert_true(json_is_false(json_object_get(l, "neg")));
	assert_non_null(str(l, "cts"));
	l = json_array_get(op, 1);
	assert_true(json_is_true(json_object_get(l, "neg")));
	assert_non_null(str(l, "exp"));
	json_decref(op);
	json_decref(errors);
}

static void
test_lifecycle_labels_errors_indexed(void **state)
{
	json_t	*errors, *op;

	op = run(lifecycle_labels, "[{\"src\":\"" DID "\",\"uri\":\"" EV
	    "\",\"val\":\"!hide\",\"cts\":\"2026-01-02T03:04:05.000Z\"},"
	    "{\"src\":\"nobody\",\"uri\":\"http://x\",\"val\":\"\","
	    "\"neg\":1,\"exp\":\"soon\"}]", &errors);
	assert_null(op);
	assert_non_null(json_object_get(errors, "labels[1].src"));
	assert_non_null(json_object_get(errors, "labels[1].uri"));
	assert_non_null(json_object_get(errors, "labels[1].val"));
	assert_non_null(json_object_get(errors, "labels[1].neg"));
	assert_non_null(json_object_get(errors, "labels[1].cts"));
	assert_non_null(json_object_get(errors, "labels[1].exp"));
	assert_null(json_object_get(errors, "labels[0].src"));
	json_decref(errors);
	op = run(lifecycle_labels, "{\"labels\":[]}", &errors);
	assert_null(op);
	assert_non_null(json_object_get(errors, "labels"));
	json_decref(errors);
}

static void
test_lifecycle_hide_values(void **state)
{
	char	 err[128], *s;

	s = lifecycle_hide_values(NULL, err, sizeof(err));
	assert_string_equal(s, "[\"!hide\",\"!takedown\"]");
	free(s);
	s = lifecycle_hide_values(" porn , ,spam", err, sizeof(err));
	assert_string_equal(s, "[\"!hide\",\"!takedown\",\"porn\",\"spam\"]");
	free(s);
	assert_null(lifecycle_hide_values("ok,\xff\xfe", err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle_identity_resolved),
		cmocka_unit_test(
		    test_lifecycle_identity_unverified_handle_dropped),
		cmocka_unit_test(test_lifecycle_identity_bad_fields_named),
		cmocka_unit_test(test_lifecycle_account_status_kept),
		cmocka_unit_test(test_lifecycle_account_active_required),
		cmocka_unit_test(test_lifecycle_profile_record_reduced),
		cmocka_unit_test(test_lifecycle_profile_delete_needs_no_record),
		cmocka_unit_test(test_lifecycle_profile_bad_record_named),
		cmocka_unit_test(test_lifecycle_labels_normalised),
		cmocka_unit_test(test_lifecycle_labels_errors_indexed),
		cmocka_unit_test(test_lifecycle_hide_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
