/* SPDX-License-Identifier: ISC */
/*
 * TLS for the api. Kore 4.1 keeps private keys in its keymgr process and
 * gives each worker a key whose RSA/EC method forwards signatures there;
 * with OpenSSL 3 that method is set on a copy of the key, so every
 * handshake fails with an internal error. The parent therefore reads the
 * key itself before Kore forks, and each worker installs it into the TLS
 * context Kore builds when keymgr sends the certificate chain. Known
 * limitation, kept on purpose: the key thus lives in worker memory (no
 * keymgr separation), as documented in api/README.md; terminating TLS at
 * an ingress keeps it out of the api pods altogether.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>

#include <openssl/dh.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "api.h"
#include "buf.h"
#include "tls.h"
#include "util.h"

static EVP_PKEY	*tls_key;	/* read by the parent, shared by fork */

/* Paths end up in Kore's config, which splits on whitespace. */
static int
tls_check_path(const char *name, const char *path, struct atc_buf *errs)
{
	const char	*p;

	for (p = path; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
			atc_buf_appendf(errs, "%s: path must not contain "
			    "whitespace\n", name);
			return 1;
		}
	if (access(path, R_OK) == -1) {
		atc_buf_appendf(errs, "%s: cannot read %s: %s\n", name, path,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/* Reads the key and the first certificate of the chain; checks they are a
 * pair. Returns 0 or 1 (one problem, appended to errs). */
static int
tls_read_pair(const struct api_config *cfg, struct atc_buf *errs)
{
	FILE	*fp = NULL;
	X509	*cert = NULL;
	int	 problems = 1;

	if ((fp = fopen(cfg->tls_key, "r")) == NULL ||
	    (tls_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL)) == NULL) {
		atc_buf_appendf(errs, "API_TLS_KEY: no PEM private key in "
		    "%s\n", cfg->tls_key);
		goto out;
	}
	fclose(fp);
	if ((fp = fopen(cfg->tls_cert, "r")) == NULL ||
	    (cert = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL) {
		atc_buf_appendf(errs, "API_TLS_CERT: no PEM certificate in "
		    "%s\n", cfg->tls_cert);
		goto out;
	}
	if (X509_check_private_key(cert, tls_key) != 1) {
		atc_buf_appendf(errs, "API_TLS_KEY: does not match the "
		    "certificate in API_TLS_CERT\n");
		goto out;
	}
	problems = 0;
out:
	if (fp != NULL)
		fclose(fp);
	X509_free(cert);
	ERR_clear_error();
	return problems;
}

int
api_tls_load(const struct api_config *cfg, struct atc_buf *errs)
{
	int	problems = 0;

	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		atc_buf_appendf(errs, "API_TLS_CERT, API_TLS_KEY: set both "
		    "(HTTPS) or neither (HTTP)\n");
		problems++;
	}
	if (cfg->tls_cert != NULL)
		problems += tls_check_path("API_TLS_CERT", cfg->tls_cert, errs);
	if (cfg->tls_key != NULL)
		problems += tls_check_path("API_TLS_KEY", cfg->tls_key, errs);
	if (cfg->tls_dhparam != NULL)
		problems += tls_check_path("API_TLS_DHPARAM", cfg->tls_dhparam,
		    errs);
	if (problems > 0 || !api_tls_enabled(cfg))
		return problems;
	if (tls_read_pair(cfg, errs) != 0)
		return 1;
	/* Kore 4.1 refuses a TLS server without DH parameters; the RFC 7919
	 * group needs neither generation nor a file. */
	if (cfg->tls_dhparam == NULL && tls_dhparam == NULL) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		tls_dhparam = DH_new_by_nid(NID_ffdhe2048);
#pragma GCC diagnostic pop
		if (tls_dhparam == NULL) {
			atc_buf_appendf(errs, "API_TLS_DHPARAM: unset and "
			    "this OpenSSL has no ffdhe2048\n");
			return 1;
		}
	}
	return 0;
}

int
api_tls_enabled(const struct api_config *cfg)
{
	return cfg->tls_cert != NULL && cfg->tls_key != NULL;
}

int
api_tls_render(const struct api_config *cfg, char *dom, size_t domlen,
    char *glob, size_t globlen)
{
	int	n;

	dom[0] = glob[0] = '\0';
	if (!api_tls_enabled(cfg))
		return 0;
	n = snprintf(dom, domlen, "\tcertfile %s\n\tcertkey %s\n",
	    cfg->tls_cert, cfg->tls_key);
	if (n < 0 || (size_t)n >= domlen)
		return -1;
	if (cfg->tls_dhparam != NULL) {
		n = snprintf(glob, globlen, "tls_dhparam %s\n",
		    cfg->tls_dhparam);
		if (n < 0 || (size_t)n >= globlen)
			return -1;
	}
	return 0;
}

/* Kore's own handler for this message, plus the key. */
static void
tls_on_certificate(struct kore_msg *msg, const void *data)
{
	const struct kore_x509_msg	*req;
	struct kore_domain		*dom;

	if (!kore_worker_keymgr_response_verify(msg, data, &dom))
		return;
	req = (const struct kore_x509_msg *)data;
	kore_domain_tlsinit(dom, KORE_PEM_CERT_CHAIN, req->data,
	    req->data_len);
	if (dom->ssl_ctx == NULL)
		return;
	if (SSL_CTX_use_PrivateKey(dom->ssl_ctx, tls_key) != 1 ||
	    SSL_CTX_check_private_key(dom->ssl_ctx) != 1)
		fatalx("TLS key for %s does not fit its certificate",
		    dom->domain);
}

void
api_tls_worker_init(void)
{
	if (tls_key == NULL)
		return;
	kore_msg_unregister(KORE_MSG_CERTIFICATE);
	if (kore_msg_register(KORE_MSG_CERTIFICATE, tls_on_certificate) !=
	    KORE_RESULT_OK)
		fatalx("cannot take over the certificate message");
}
