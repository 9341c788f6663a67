/* SPDX-License-Identifier: ISC */
/*
 * Syntax validators against the atproto interop vectors (read in place from
 * ../shared/fixtures, or $FIXTURES_DIR) plus table tests for the formats
 * the interop set does not cover: at-uri, TID, datetime, CID string.
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

#include "syntax.h"
#include "util.h"

typedef int (*validator)(const char *, char *, size_t);

static const char *
fixtures_dir(void)
{
	const char	*d;

	d = getenv("FIXTURES_DIR");
	return d != NULL && *d != '\0' ? d : "../shared/fixtures";
}

/* Runs fn over every non-comment line of syntax/<name>; want is 0 for
 * the valid file and -1 for the invalid one. Returns the lines checked,
 * or -1 when the file is absent. */
static int
run_file(const char *name, validator fn, int want)
{
	char	 path[512], err[ATC_ERRLEN], *line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	FILE	*fp;
	int	 count = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/atproto-interop/syntax/%s",
	    fixtures_dir(), name);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while ((n = getline(&line, &cap, fp)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		/* Leading and trailing spaces are part of the vector. */
		if (n == 0 || line[0] == '#')
			continue;
		count++;
		err[0] = '\0';
		if (fn(line, err, sizeof(err)) != want) {
			bad++;
			print_error("%s: %s \"%.80s\" (%s)\n", name,
			    want == 0 ? "rejected" : "accepted", line, err);
		}
		if (want == -1 && err[0] == '\0') {
			bad++;
			print_error("%s: no error message for \"%.80s\"\n",
			    name, line);
		}
	}
	free(line);
	fclose(fp);
	assert_int_equal(bad, 0);
	return count;
}

static void
run_pair(const char *kind, validator fn)
{
	char	name[64];
	int	nvalid, ninvalid;

	snprintf(name, sizeof(name), "%s_syntax_valid.txt", kind);
	if ((nvalid = run_file(name, fn, 0)) == -1) {
		print_message("fixtures absent under %s: skipping\n",
		    fixtures_dir());
		skip();
	}
	snprintf(name, sizeof(name), "%s_syntax_invalid.txt", kind);
	ninvalid = run_file(name, fn, -1);
	/* Anti-vacuity: the files are not empty. */
	assert_true(nvalid >= 5);
	assert_true(ninvalid >= 5);
}

static void
test_syntax_did_interop(void **state)
{
	run_pair("did", atc_syntax_did);
}

static void
test_syntax_handle_interop(void **state)
{
	run_pair("handle", atc_syntax_handle);
}

static void
test_syntax_nsid_interop(void **state)
{
	run_pair("nsid", atc_syntax_nsid);
}

static void
test_syntax_rkey_interop(void **state)
{
	run_pair("recordkey", atc_syntax_rkey);
}

static void
check_table(validator fn, const char *const *valid, size_t nvalid,
    const char *const *invalid, size_t ninvalid)
{
	char	err[ATC_ERRLEN];
	size_t	i;

	for (i = 0; i < nvalid; i++) {
		if (fn(valid[i], err, sizeof(err)) != 0)
			fail_msg("rejected \"%s\": %s", valid[i], err);
	}
	for (i = 0; i < ninvalid; i++) {
		err[0] = '\0';
		if (fn(invalid[i], err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", invalid[i]);
		assert_true(err[0] != '\0');
	}
}

static void
test_syntax_tid_table(void **state)
{
	static const char *const valid[] = {
		"3jzfcijpj2z2a", "7777777777777", "3zzzzzzzzzzzz",
		"2222222222222", "3mptbypluud2a", "jzzzzzzzzzzzz",
	};
	static const char *const invalid[] = {
		"3jzfcijpj2z21", "0000000000000", "3jzfcijpj2z2aa",
		"3jzfcijpj2z2", "3jzf-cij-pj2z-2a", "zzzzzzzzzzzzz",
		"kjzfcijpj2z2a", "3JZFCIJPJ2Z2A", "", "3jzfcijpj2z2 ",
	};

	check_table(atc_syntax_tid, valid, ATC_NELEM(valid), invalid,
	    ATC_NELEM(invalid));
}

static void
test_syntax_datetime_table(void **state)
{
	static const char *const valid[] = {
		"1985-04-12T23:20:50.123Z",
		"1985-04-12T23:20:50.123456Z",
		"1985-04-12T23:20:50.120Z",
		"1985-04-12T23:20:50.120000Z",
		"1985-04-12T23:20:50.12345678912345Z",
		"1985-04-12T23:20:50Z",
		"1985-04-12T23:20:50.0Z",
		"1985-04-12T23:20:50.123+00:00",
		"1985-04-12T23:20:50.123-07:00",
		"1985-04-12T23:20:50.123+01:45",
		"2024-02-29T00:00:00Z",
		"2000-02-29T00:00:00Z",
		"0985-04-12T23:20:50.123Z",
		"2026-07-04T12:00:00.000Z",
	};
	static const char *const invalid[] = {
		"1985-04-12",
		"1985-04-12T23:20Z",
		"1985-04-12T23:20:5Z",
		"1985-04-12T23:20:50.123",
		"+001985-04-12T23:20:50.123Z",
		"23:20:50.123Z",
		"-1985-04-12T23:20:50.123Z",
		"1985-4-12T23:20:50.123Z",
		"01985-04-12T23:20:50.123Z",
		"1985-04-12T23:20:50.123+00",
		"1985-04-12T23:20:50.123+0000",
		"1985-04-12t23:20:50.123Z",
		"1985-04-12T23:20:50.123z",
		"1985-04-12T23:20:50.123-00:00",
		"1985-04-12 23:20:50.123Z",
		"1985-04-12T23:99:50.123Z",
		"1985-00-12T23:20:50.123Z",
		"1985-13-12T23:20:50.123Z",
		"1985-04-31T23:20:50.123Z",
		"2023-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z",
		"1985-04-12T24:00:00Z",
		"1985-04-12T23:20:60Z",
		"1985-04-12T23:20:50.Z",
		"1985-04-12T23:20:50,123Z",
		"0000-01-01T00:00:00+01:00",
		"1985-04-12T23:20:50.123Z ",
		"1985-04-12T23:20:50.123+24:00",
		"",
	};

	check_table(atc_syntax_datetime, valid, ATC_NELEM(valid), invalid,
	    ATC_NELEM(invalid));
}

static void
test_syntax_cid_table(void **state)
{
	static const char *const valid[] = {
		"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a",
		"bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity",
		"bafyreidigqr65jj2zsmitco3fcuag6pi7std6quxa2bcp2xrpin44ikzsy",
	};
	static const char *const invalid[] = {
		"",
		".",
		"b",
		/* upper-case base32 is a different multibase prefix */
		"BAFYREIDFAYVFUWQA7QLNOPDJIQRXZS6BLMOEU4RUJCJTNCI5BELUDIRZ2A",
		/* one character short: digest truncated */
		"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2",
		/* one character long */
		"bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2aa",
		/* CIDv0 */
		"QmRAQB6YaCyidP37UdDnjFY5vQuiBrcqdyoW1CuDgwxkD4",
		"zdj7WhuEjrB52m1BisYCtmjH1hSKa7yZ3jEZ9JcXaFRD51wVz",
		"bafyrei1dfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2",
	};

	check_table(atc_syntax_cid, valid, ATC_NELEM(valid), invalid,
	    ATC_NELEM(invalid));
}

static int
at_uri_nout(const char *s, char *err, size_t errlen)
{
	return atc_syntax_at_uri(s, NULL, err, errlen);
}

static void
test_syntax_at_uri_table(void **state)
{
	static const char *const valid[] = {
		"at://did:plc:53iucmf5ldftgqyf2ac7hmhd",
		"at://alice.bsky.social",
		"at://did:plc:53iucmf5ldftgqyf2ac7hmhd/"
		    "community.lexicon.calendar.event",
		"at://did:plc:53iucmf5ldftgqyf2ac7hmhd/"
		    "community.lexicon.calendar.event/3mptbyplj5d2a",
		"at://alice.bsky.social/app.bsky.feed.post/self",
		"at://did:web:localhost%3A1234/com.example.thing/a:b~c",
	};
	static const char *const invalid[] = {
		"",
		"at://",
		"at:/did:plc:abc",
		"https://did:plc:abc",
		"at://did:plc:abc/",
		"at://did:plc:abc/community.lexicon.calendar.event/",
		"at://did:plc:abc/notnsid/3mptbyplj5d2a",
		"at://did:plc:abc/community.lexicon.calendar.event/a/b",
		"at://did:plc:abc/community.lexicon.calendar.event/..",
		"at://did:plc:abc/community.lexicon.calendar.event/x#frag",
		"at://did:plc:abc/community.lexicon.calendar.event/x?q=1",
		"at://DID:plc:abc",
		"at://nodot",
		"at://alice.bsky.social:443/app.bsky.feed.post/x",
		"AT://alice.bsky.social",
	};

	check_table(at_uri_nout, valid, ATC_NELEM(valid), invalid,
	    ATC_NELEM(invalid));
}

static void
test_syntax_at_uri_parts(void **state)
{
	struct atc_at_uri	 u;
	char			 err[ATC_ERRLEN];
	const char		*s;

	s = "at://did:plc:abc/community.lexicon.calendar.rsvp/3mptbyplj5d2a";
	assert_int_equal(atc_syntax_at_uri(s, &u, err, sizeof(err)), 0);
	assert_int_equal(u.authority_len, strlen("did:plc:abc"));
	assert_memory_equal(u.authority, "did:plc:abc", u.authority_len);
	assert_int_equal(u.collection_len,
	    strlen("community.lexicon.calendar.rsvp"));
	assert_memory_equal(u.collection, "community.lexicon.calendar.rsvp",
	    u.collection_len);
	assert_int_equal(u.rkey_len, 13);
	assert_memory_equal(u.rkey, "3mptbyplj5d2a", 13);

	assert_int_equal(atc_syntax_at_uri("at://a.test", &u, err,
	    sizeof(err)), 0);
	assert_null(u.collection);
	assert_null(u.rkey);
	assert_int_equal(u.collection_len, 0);
}

static void
test_syntax_repo_path_table(void **state)
{
	static const char *const valid[] = {
		"community.lexicon.calendar.event/3mptbyplj5d2a",
		"app.bsky.actor.profile/self",
	};
	static const char *const invalid[] = {
		"community.lexicon.calendar.event",
		"community.lexicon.calendar.event/",
		"/3mptbyplj5d2a",
		"community.lexicon.calendar.event/a/b",
		"community..calendar.event/abc",
	};

	check_table(atc_syntax_repo_path, valid, ATC_NELEM(valid), invalid,
	    ATC_NELEM(invalid));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax_did_interop),
		cmocka_unit_test(test_syntax_handle_interop),
		cmocka_unit_test(test_syntax_nsid_interop),
		cmocka_unit_test(test_syntax_rkey_interop),
		cmocka_unit_test(test_syntax_tid_table),
		cmocka_unit_test(test_syntax_datetime_table),
		cmocka_unit_test(test_syntax_cid_table),
		cmocka_unit_test(test_syntax_at_uri_table),
		cmocka_unit_test(test_syntax_at_uri_parts),
		cmocka_unit_test(test_syntax_repo_path_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
