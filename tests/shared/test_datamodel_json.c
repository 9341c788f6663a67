/* SPDX-License-Identifier: ISC */
/*
 * atproto JSON data-model validator against data-model-valid.json and
 * data-model-invalid.json (read in place), the JSON side of
 * data-model-fixtures.json, and table cases for limits the interop files
 * do not reach (integer range, depth, $bytes alphabet).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "syntax.h"
#include "util.h"

static const char *
fixtures_dir(void)
{
	const char	*d;

	d = getenv("FIXTURES_DIR");
	return d != NULL && *d != '\0' ? d : "../shared/fixtures";
}

static json_t *
load(const char *name)
{
	char		 path[512];
	json_error_t	 jerr;
	json_t		*root;

	snprintf(path, sizeof(path), "%s/atproto-interop/%s", fixtures_dir(),
	    name);
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		print_message("fixture %s absent or unreadable (%s): "
		    "skipping\n", path, jerr.text);
		skip();
	}
	assert_true(json_is_array(root));
	return root;
}

static void
run_file(const char *name, int want)
{
	json_t	*root, *ent;
	char	 err[ATC_ERRLEN];
	size_t	 i;

	root = load(name);
	assert_true(json_array_size(root) >= 3);
	json_array_foreach(root, i, ent) {
		err[0] = '\0';
		if (atc_datamodel_validate(json_object_get(ent, "json"), err,
		    sizeof(err)) != want)
			fail_msg("%s[%zu] \"%s\": %s (%s)", name, i,
			    json_string_value(json_object_get(ent, "note")),
			    want == 0 ? "rejected" : "accepted", err);
		if (want == -1)
			print_message("%-40s -> %s\n", json_string_value(
			    json_object_get(ent, "note")), err);
	}
	json_decref(root);
}

static void
test_datamodel_json_valid(void **state)
{
	run_file("data-model-valid.json", 0);
	run_file("data-model-fixtures.json", 0);
}

static void
test_datamodel_json_invalid(void **state)
{
	run_file("data-model-invalid.json", -1);
}

static void
check_text(const char *text, int want)
{
	json_error_t	 jerr;
	json_t		*v;
	char		 err[ATC_ERRLEN];

	if ((v = json_loads(text, 0, &jerr)) == NULL)
		fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
	if (atc_datamodel_validate(v, err, sizeof(err)) != want)
		fail_msg("%s: %s (%s)", want == 0 ? "rejected" : "accepted",
		    text, err);
	json_decref(v);
}

static void
test_datamodel_json_limits(void **state)
{
	char	deep[200];
	int	i, n;

	check_text("{\"a\":9007199254740991}", 0);
	check_text("{\"a\":-9007199254740991}", 0);
	check_text("{\"a\":9007199254740992}", -1);
	check_text("{\"a\":-9007199254740992}", -1);
	check_text("{\"a\":1e300}", -1);
	check_text("{\"a\":-0.5}", -1);
	check_text("[1]", -1);
	check_text("{\"b\":{\"$bytes\":\"AAEC\"}}", 0);
	check_text("{\"b\":{\"$bytes\":\"AAE=\"}}", 0);
	check_text("{\"b\":{\"$bytes\":\"AAE\"}}", 0);
	check_text("{\"b\":{\"$bytes\":\"A\"}}", -1);
	check_text("{\"b\":{\"$bytes\":\"AA-_\"}}", -1);
	check_text("{\"b\":{\"$bytes\":\"AA=A\"}}", -1);
	check_text("{\"l\":[{\"$link\":\"bafyreidfayvfuwqa7qlnopdjiqrxzs6blm"
	    "oeu4rujcjtnci5beludirz2a\"}]}", 0);
	check_text("{\"l\":[{\"$link\":\"bafyreidfayvfuwqa7qlnopdjiqrxzs6blm"
	    "oeu4rujcjtnci5beludirz2\"}]}", -1);
	check_text("{\"x\":{\"$type\":\"blob\",\"ref\":{\"$link\":\"bafkreicc"
	    "ldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity\"},"
	    "\"mimeType\":\"image/jpeg\",\"size\":-1}}", -1);
	check_text("{\"x\":{\"$type\":\"blob\",\"ref\":{\"$link\":\"bafkreicc"
	    "ldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity\"},"
	    "\"size\":5}}", -1);

	/* 32 levels below the top object pass, 33 do not. */
	for (n = 32; n <= 33; n++) {
		strcpy(deep, "{\"a\":");
		for (i = 0; i < n; i++)
			strcat(deep, "[");
		for (i = 0; i < n; i++)
			strcat(deep, "]");
		strcat(deep, "}");
		check_text(deep, n == 32 ? 0 : -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datamodel_json_valid),
		cmocka_unit_test(test_datamodel_json_invalid),
		cmocka_unit_test(test_datamodel_json_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
