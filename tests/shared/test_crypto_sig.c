/* SPDX-License-Identifier: ISC */
/*
 * Signature verification against the atproto interop vectors
 * (signature-fixtures.json, read in place): valid low-S signatures accepted
 * for both curves and both key spellings, high-S and DER rejected. Plus
 * tampering, key decoding and length checks.
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

#include "buf.h"
#include "car.h"
#include "crypto_sig.h"
#include "frame.h"
#include "mst.h"
#include "util.h"
#include "zst.h"

static const char *
fixtures_dir(void)
{
	const char	*d;

	d = getenv("FIXTURES_DIR");
	return d != NULL && *d != '\0' ? d : "../shared/fixtures";
}

/* Standard base64, padding optional. Returns the length or -1. */
static int
b64_decode(uint8_t *out, size_t cap, const char *s)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*pos;
	uint32_t		 acc = 0;
	int			 bits = 0;
	size_t			 n = 0;

	for (; *s != '\0' && *s != '='; s++) {
		if ((pos = strchr(tab, *s)) == NULL)
			return -1;
		acc = (acc << 6) | (uint32_t)(pos - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)n;
}

static json_t *
load_vectors(void)
{
	char		 path[512];
	json_error_t	 jerr;
	json_t		*root;

	snprintf(path, sizeof(path), "%s/atproto-interop/"
	    "signature-fixtures.json", fixtures_dir());
	if ((root = json_load_file(path, 0, &jerr)) == NULL)
		return NULL;
	assert_true(json_is_array(root));
	return root;
}

static const char *
str(const json_t *o, const char *key)
{
	const json_t	*v;

	v = json_object_get(o, key);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static int
tagged(const json_t *vec, const char *tag)
{
	const json_t	*t;
	size_t		 i;

	json_array_foreach(json_object_get(vec, "tags"), i, t)
		if (json_is_string(t) && strcmp(json_string_value(t), tag) == 0)
			return 1;
	return 0;
}

static void
test_crypto_sig_interop_vectors(void **state)
{
	json_t			*root, *vec;
	struct atc_pubkey	 k_did, k_mb;
	enum atc_key_type	 hint;
	uint8_t			 msg[256], sig[128];
	char			 err[ATC_ERRLEN];
	int			 msglen, siglen, want, got;
	size_t			 i, nvalid = 0, ninvalid = 0;

	if ((root = load_vectors()) == NULL) {
		print_message("fixtures absent under %s: skipping\n",
		    fixtures_dir());
		skip();
	}
	json_array_foreach(root, i, vec) {
		hint = strcmp(str(vec, "algorithm"), "ES256K") == 0 ?
		    ATC_KEY_SECP256K1 : ATC_KEY_P256;
		if (atc_pubkey_from_did_key(&k_did, str(vec, "publicKeyDid"),
		    err, sizeof(err)) == -1)
			fail_msg("vector %zu: did:key: %s", i, err);
		assert_int_equal(k_did.type, hint);
		if (atc_pubkey_from_multibase(&k_mb, str(vec,
		    "publicKeyMultibase"), hint, err, sizeof(err)) == -1)
			fail_msg("vector %zu: multibase: %s", i, err);
		/* Both spellings name the same point. */
		assert_memory_equal(k_did.point, k_mb.point, ATC_PUBKEY_LEN);

		msglen = b64_decode(msg, sizeof(msg), str(vec,
		    "messageBase64"));
		siglen = b64_decode(sig, sizeof(sig), str(vec,
		    "signatureBase64"));
		assert_true(msglen > 0 && siglen > 0);
		want = json_is_true(json_object_get(vec, "validSignature")) ?
		    0 : -1;
		got = atc_sig_verify(&k_did, msg, (size_t)msglen, sig,
		    (size_t)siglen, err, sizeof(err));
		if (got != want)
			fail_msg("vector %zu (%s): got %d want %d: %s", i,
			    str(vec, "comment"), got, want, err);
		/* Rejected for the tagged reason, not by accident. */
		if (tagged(vec, "high-s"))
			assert_non_null(strstr(err, "high S"));
		if (tagged(vec, "der-encoded"))
			assert_non_null(strstr(err, "DER"));
		assert_int_equal(atc_sig_verify(&k_mb, msg, (size_t)msglen,
		    sig, (size_t)siglen, err, sizeof(err)), want);
		if (want == 0)
			nvalid++;
		else
			ninvalid++;
	}
	json_decref(root);
	assert_true(nvalid >= 2);
	assert_true(ninvalid >= 4);
}

/* The first valid vector of the given algorithm. */
static void
valid_vector(const char *alg, struct atc_pubkey *key, uint8_t *msg,
    int *msglen, uint8_t *sig)
{
	json_t	*root, *vec;
	char	 err[ATC_ERRLEN];
	size_t	 i;

	if ((root = load_vectors()) == NULL)
		skip();
	json_array_foreach(root, i, vec) {
		if (strcmp(str(vec, "algorithm"), alg) != 0 ||
		    !json_is_true(json_object_get(vec, "validSignature")))
			continue;
		assert_int_equal(atc_pubkey_from_did_key(key,
		    str(vec, "publicKeyDid"), err, sizeof(err)), 0);
		*msglen = b64_decode(msg, 256, str(vec, "messageBase64"));
		assert_int_equal(b64_decode(sig, 64,
		    str(vec, "signatureBase64")), 64);
		json_decref(root);
		return;
	}
	json_decref(root);
	fail_msg("no valid %s vector", alg);
}

static void
check_tamper(const char *alg)
{
	struct atc_pubkey	key, other;
	uint8_t			msg[256], sig[64];
	char			err[ATC_ERRLEN];
	int			msglen;

	valid_vector(alg, &key, msg, &msglen, sig);
	assert_int_equal(atc_sig_verify(&key, msg, (size_t)msglen, sig, 64,
	    err, sizeof(err)), 0);
	msg[0] ^= 1;
	assert_int_equal(atc_sig_verify(&key, msg, (size_t)msglen, sig, 64,
	    err, sizeof(err)), -1);
	msg[0] ^= 1;
	sig[10] ^= 0x40;
	assert_int_equal(atc_sig_verify(&key, msg, (size_t)msglen, sig, 64,
	    err, sizeof(err)), -1);
	sig[10] ^= 0x40;
	/* Same point bytes read on the other curve: never valid. */
	other = key;
	other.type = key.type == ATC_KEY_P256 ? ATC_KEY_SECP256K1 :
	    ATC_KEY_P256;
	assert_int_equal(atc_sig_verify(&other, msg, (size_t)msglen, sig, 64,
	    err, sizeof(err)), -1);
	/* Truncated and zero signatures. */
	assert_int_equal(atc_sig_verify(&key, msg, (size_t)msglen, sig, 63,
	    err, sizeof(err)), -1);
	memset(sig, 0, sizeof(sig));
	assert_int_equal(atc_sig_verify(&key, msg, (size_t)msglen, sig, 64,
	    err, sizeof(err)), -1);
	memset(sig, 0xff, sizeof(sig));
	assert_int_equal(atc_sig_verify(&key, msg, (size_t)msglen, sig, 64,
	    err, sizeof(err)), -1);
}

static void
test_crypto_sig_tamper_secp256k1(void **state)
{
	check_tamper("ES256K");
}

static void
test_crypto_sig_tamper_p256(void **state)
{
	check_tamper("ES256");
}

static void
test_crypto_sig_bad_keys(void **state)
{
	static const char *const bad[] = {
		"",
		"did:plc:abc",
		"did:key:",
		"did:key:z",
		"did:key:Q3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc",
		"did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJw",
		"did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc1",
		"did:key:zQ3sh0wJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc",
		/* bare 33-byte key needs a hint */
		"did:key:z25z9DTpsiYYJKGsWmSPJK2NFN8PcJtZig12K59UgW7q5t",
		"did:key:z111111111111111111111111111111111111111111111111111"
		    "11111111111111111111111111",
	};
	struct atc_pubkey	key;
	char			err[ATC_ERRLEN];
	size_t			i;

	for (i = 0; i < ATC_NELEM(bad); i++) {
		err[0] = '\0';
		if (atc_pubkey_from_did_key(&key, bad[i], err,
		    sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(err[0] != '\0');
	}
	/* An absent field. */
	assert_int_equal(atc_pubkey_from_multibase(&key, NULL, ATC_KEY_NONE,
	    err, sizeof(err)), -1);
	/* A multicodec key whose curve contradicts the hint. */
	assert_int_equal(atc_pubkey_from_multibase(&key,
	    "zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc", ATC_KEY_P256,
	    err, sizeof(err)), -1);
}

static void
test_crypto_sig_point_off_curve(void **state)
{
	struct atc_pubkey	key;
	uint8_t			msg[256], sig[64];
	char			err[ATC_ERRLEN];
	int			msglen, i, rejected;

	valid_vector("ES256K", &key, msg, &msglen, sig);
	/* About half of all x have no point; try a few and expect at least
	 * one off-curve rejection and never an acceptance. */
	rejected = 0;
	for (i = 0; i < 8; i++) {
		key.point[32] ^= (uint8_t)(1 << i);
		if (atc_sig_verify(&key, msg, (size_t)msglen, sig, 64, err,
		    sizeof(err)) == 0)
			fail_msg("accepted a modified key");
		if (strstr(err, "curve") != NULL)
			rejected++;
		key.point[32] ^= (uint8_t)(1 << i);
	}
	assert_true(rejected > 0);
}

/* Reads and decompresses jetstream-corpus/<name> into out; false when
 * the fixture is absent. */
static int
load_zst(struct atc_buf *out, const char *name)
{
	char		 path[512], err[ATC_ERRLEN];
	struct atc_buf	 raw;
	FILE		*fp;
	uint8_t		 chunk[65536];
	size_t		 n;

	snprintf(path, sizeof(path), "%s/jetstream-corpus/%s", fixtures_dir(),
	    name);
	if ((fp = fopen(path, "rb")) == NULL)
		return 0;
	atc_buf_init(&raw, sizeof(chunk));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		atc_buf_append(&raw, chunk, n);
	fclose(fp);
	if (atc_zst_decompress(out, raw.data, raw.len, 64u << 20, err,
	    sizeof(err)) == -1)
		fail_msg("%s: %s", name, err);
	atc_buf_cleanup(&raw);
	return 1;
}

/* The #atproto key of did's document, or -1. */
static int
doc_key(const json_t *docs, const char *did, struct atc_pubkey *key)
{
	const json_t	*vm, *m, *id;
	const char	*type;
	char		 err[ATC_ERRLEN];
	size_t		 i, idlen;

	vm = json_object_get(json_object_get(docs, did), "verificationMethod");
	json_array_foreach(vm, i, m) {
		id = json_object_get(m, "id");
		if (!json_is_string(id) ||
		    (idlen = json_string_length(id)) < 8 ||
		    strcmp(json_string_value(id) + idlen - 8, "#atproto") != 0)
			continue;
		type = json_string_value(json_object_get(m, "type"));
		if (atc_pubkey_from_multibase(key, json_string_value(
		    json_object_get(m, "publicKeyMultibase")),
		    type != NULL && strcmp(type, "Multikey") == 0 ?
		    ATC_KEY_NONE : ATC_KEY_SECP256K1, err, sizeof(err)) == -1)
			fail_msg("%s: key: %s", did, err);
		return 0;
	}
	return -1;
}

/* Every #commit of the captured relay window is signed by its repo's
 * #atproto key: the commit block minus "sig", as DAG-CBOR, SHA-256, ECDSA.
 * A flipped bit in the signed bytes must then fail. */
static void
test_crypto_sig_commit_frames(void **state)
{
	struct atc_buf		 frames, docbuf, unsig;
	struct atc_frame	 f;
	struct atc_frame_opts	 opts = { .verify = true };
	struct atc_car		 car;
	struct atc_car_index	*idx = NULL;
	struct atc_repo_commit	 rc;
	struct atc_pubkey	 key;
	json_error_t		 jerr;
	json_t			*docs;
	uint32_t		 flen;
	size_t			 off, ncommits = 0, nverified = 0;
	char			 err[ATC_ERRLEN];

	atc_buf_init(&frames, 1 << 20);
	atc_buf_init(&docbuf, 1 << 16);
	if (!load_zst(&frames, "frames.bin.zst") ||
	    !load_zst(&docbuf, "did_docs.json.zst")) {
		print_message("corpus absent under %s: skipping\n",
		    fixtures_dir());
		atc_buf_cleanup(&frames);
		atc_buf_cleanup(&docbuf);
		skip();
	}
	if ((docs = json_loadb((const char *)docbuf.data, docbuf.len, 0,
	    &jerr)) == NULL)
		fail_msg("did_docs: %s", jerr.text);
	atc_frame_init(&f);
	atc_buf_init(&unsig, 1024);
	for (off = 0; off + 4 <= frames.len; off += 4 + flen) {
		flen = (uint32_t)frames.data[off] |
		    (uint32_t)frames.data[off + 1] << 8 |
		    (uint32_t)frames.data[off + 2] << 16 |
		    (uint32_t)frames.data[off + 3] << 24;
		assert_true(flen <= frames.len - off - 4);
		if (atc_frame_decode(&f, frames.data + off + 4, flen, &opts,
		    err, sizeof(err)) == -1)
			fail_msg("frame at %zu: %s", off, err);
		if (f.kind != ATC_FRAME_COMMIT)
			continue;
		ncommits++;
		if (atc_car_open(&car, f.blocks, f.blocks_len, 0, err,
		    sizeof(err)) == -1 ||
		    (idx = atc_car_index_new(&car, err, sizeof(err))) == NULL)
			fail_msg("seq %lld: car: %s", (long long)f.seq, err);
		if (atc_repo_commit_read(&rc, idx, f.commit, f.commit_len, err,
		    sizeof(err)) == -1)
			fail_msg("seq %lld: %s", (long long)f.seq, err);
		assert_int_equal(rc.did_len, strlen(f.did));
		assert_memory_equal(rc.did, f.did, rc.did_len);
		assert_memory_equal(rc.rev, f.rev, rc.rev_len);
		if (doc_key(docs, f.did, &key) == -1)
			fail_msg("%s: no #atproto key", f.did);
		atc_buf_reset(&unsig);
		assert_int_equal(atc_repo_commit_unsigned(&unsig, &rc, err,
		    sizeof(err)), 0);
		if (atc_sig_verify(&key, unsig.data, unsig.len, rc.sig,
		    rc.sig_len, err, sizeof(err)) == -1)
			fail_msg("seq %lld %s: %s", (long long)f.seq, f.did,
			    err);
		nverified++;
		unsig.data[unsig.len - 1] ^= 1;
		assert_int_equal(atc_sig_verify(&key, unsig.data, unsig.len,
		    rc.sig, rc.sig_len, err, sizeof(err)), -1);
		atc_car_index_free(idx);
	}
	assert_int_equal(off, frames.len);
	/* manifest.json: 148 commits in the window. */
	assert_int_equal(ncommits, 148);
	assert_int_equal(nverified, 148);
	atc_frame_cleanup(&f);
	atc_buf_cleanup(&unsig);
	atc_buf_cleanup(&frames);
	atc_buf_cleanup(&docbuf);
	json_decref(docs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypto_sig_interop_vectors),
		cmocka_unit_test(test_crypto_sig_tamper_secp256k1),
		cmocka_unit_test(test_crypto_sig_tamper_p256),
		cmocka_unit_test(test_crypto_sig_bad_keys),
		cmocka_unit_test(test_crypto_sig_point_off_curve),
		cmocka_unit_test(test_crypto_sig_commit_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
