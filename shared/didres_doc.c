/* SPDX-License-Identifier: ISC */
/*
 * DID documents reduced to their atproto meaning: handle, PDS endpoint and
 * #atproto signing key. Pure functions over jansson values, so the parser
 * is tested with real PLC documents and cannot be reached by the network
 * code except through its result. A document whose id is not the DID asked
 * for is refused outright: a resolver must never hand out another
 * identity's key.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "crypto_sig.h"
#include "didres.h"
#include "syntax.h"
#include "util.h"

/* True when s ends with suffix and, before it, is empty or the DID. */
static bool
fragment_is(const char *s, const char *did, const char *suffix)
{
	size_t	slen, flen, dlen;

	if (s == NULL)
		return false;
	slen = strlen(s);
	flen = strlen(suffix);
	if (slen < flen || strcmp(s + slen - flen, suffix) != 0)
		return false;
	if (slen == flen)
		return true;
	dlen = strlen(did);
	return slen - flen == dlen && strncmp(s, did, dlen) == 0;
}

static void
parse_handle(struct atc_did_doc *out, const json_t *aka)
{
	const json_t	*v;
	const char	*s;
	char		 h[ATC_DID_MAXHANDLE + 1];
	size_t		 i, len;

	if (!json_is_array(aka))
		return;
	json_array_foreach(aka, i, v) {
		if (!json_is_string(v))
			continue;
		s = json_string_value(v);
		len = json_string_length(v);
		if (len <= 5 || strncmp(s, "at://", 5) != 0 ||
		    len - 5 > ATC_DID_MAXHANDLE || strlen(s) != len)
			continue;
		for (len = 0; s[5 + len] != '\0'; len++)
			h[len] = (char)tolower((unsigned char)s[5 + len]);
		h[len] = '\0';
		if (atc_syntax_handle(h, NULL, 0) == -1)
			continue;
		memcpy(out->handle, h, len + 1);
		return;
	}
}

static void
parse_pds(struct atc_did_doc *out, const char *did, const json_t *services)
{
	const json_t	*v, *ep;
	const char	*type, *url;
	size_t		 i;

	if (!json_is_array(services))
		return;
	json_array_foreach(services, i, v) {
		if (!fragment_is(json_string_value(json_object_get(v, "id")),
		    did, "#atproto_pds"))
			continue;
		type = json_string_value(json_object_get(v, "type"));
		if (type == NULL || strcmp(type, "AtprotoPersonalDataServer"))
			continue;
		ep = json_object_get(v, "serviceEndpoint");
		if ((url = json_string_value(ep)) == NULL ||
		    json_string_length(ep) > ATC_DID_MAXURL ||
		    strlen(url) != json_string_length(ep))
			continue;
		if (strncmp(url, "https://", 8) != 0 &&
		    strncmp(url, "http://", 7) != 0)
			continue;
		(void)snprintf(out->pds, sizeof(out->pds), "%s", url);
		return;
	}
}

static void
parse_key(struct atc_did_doc *out, const char *did, const json_t *methods)
{
	const json_t		*v;
	const char		*type, *mb;
	enum atc_key_type	 hint;
	size_t			 i;

	if (!json_is_array(methods))
		return;
	json_array_foreach(methods, i, v) {
		if (!fragment_is(json_string_value(json_object_get(v, "id")),
		    did, "#atproto"))
			continue;
		/* Legacy documents name the curve in the type and carry a
		 * bare point; Multikey values carry the multicodec. */
		type = json_string_value(json_object_get(v, "type"));
		hint = ATC_KEY_NONE;
		if (type != NULL &&
		    strcmp(type, "EcdsaSecp256k1VerificationKey2019") == 0)
			hint = ATC_KEY_SECP256K1;
		else if (type != NULL &&
		    strcmp(type, "EcdsaSecp256r1VerificationKey2019") == 0)
			hint = ATC_KEY_P256;
		mb = json_string_value(json_object_get(v,
		    "publicKeyMultibase"));
		if (atc_pubkey_from_multibase(&out->key, mb, hint, NULL,
		    0) == 0)
			out->has_key = true;
		return;
	}
}

int
atc_did_doc_parse(struct atc_did_doc *out, const char *did,
    const json_t *doc, char *err, size_t errlen)
{
	const char	*id;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc))
		return atc_seterr(err, errlen, "did doc: not a JSON object");
	id = json_string_value(json_object_get(doc, "id"));
	if (id == NULL)
		return atc_seterr(err, errlen, "did doc: no id");
	if (strcmp(id, did) != 0)
		return atc_seterr(err, errlen, "did doc: id is not the DID "
		    "asked for");
	parse_handle(out, json_object_get(doc, "alsoKnownAs"));
	parse_pds(out, did, json_object_get(doc, "service"));
	parse_key(out, did, json_object_get(doc, "verificationMethod"));
	return 0;
}

int
atc_did_doc_parse_text(struct atc_did_doc *out, const char *did,
    const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*doc;
	int		 ret;

	memset(out, 0, sizeof(*out));
	if (len > ATC_DID_MAXDOC)
		return atc_seterr(err, errlen, "did doc: larger than %u bytes",
		    ATC_DID_MAXDOC);
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return atc_seterr(err, errlen, "did doc: bad JSON: %s",
		    jerr.text);
	ret = atc_did_doc_parse(out, did, doc, err, errlen);
	json_decref(doc);
	return ret;
}

/* did:web host: DNS name of letters, digits, hyphens and dots; labels of
 * 1-63 bytes; no port (atproto allows none), no path. */
static int
web_host_ok(const char *h)
{
	size_t	label = 0, n = 0;

	for (; *h != '\0'; h++, n++) {
		if (*h == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*h) && *h != '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return n > 0 && n <= 253 && label > 0;
}

int
atc_did_doc_url(char *out, size_t outlen, const char *plc_url,
    const char *did, char *err, size_t errlen)
{
	const char	*id, *p;
	size_t		 plen;
	int		 n;

	if (strncmp(did, "did:plc:", 8) == 0) {
		id = did + 8;
		for (p = id; *p != '\0'; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			    (*p >= '2' && *p <= '7')))
				return atc_seterr(err, errlen, "did:plc: "
				    "identifier is not base32");
		if (p - id != 24)
			return atc_seterr(err, errlen, "did:plc: identifier "
			    "is not 24 characters");
		plen = strlen(plc_url);
		while (plen > 0 && plc_url[plen - 1] == '/')
			plen--;
		n = snprintf(out, outlen, "%.*s/%s", (int)plen, plc_url, did);
	} else if (strncmp(did, "did:web:", 8) == 0) {
		if (!web_host_ok(did + 8))
			return atc_seterr(err, errlen, "did:web: not a bare "
			    "hostname");
		n = snprintf(out, outlen, "https://%s/.well-known/did.json",
		    did + 8);
	} else
		return atc_seterr(err, errlen, "unsupported DID method");
	if (n < 0 || (size_t)n >= outlen)
		return atc_seterr(err, errlen, "did: URL too long");
	return 0;
}
