/* SPDX-License-Identifier: ISC */
#ifndef API_TLS_H
#define API_TLS_H

#include <stddef.h>

/*
 * HTTPS for the api: API_TLS_CERT and API_TLS_KEY (both or neither) turn
 * Kore's TLS on for the one server block. Call order: api_tls_load() in
 * the parent after the config, api_tls_render() while rendering Kore's
 * configuration, api_tls_worker_init() in each worker's configure hook.
 */
struct api_config;
struct atc_buf;

/* Checks the TLS settings and, when TLS is on, loads the key and checks it
 * matches the certificate, and sets Kore's DH parameters (RFC 7919
 * ffdhe2048 unless API_TLS_DHPARAM names a file). Each problem is appended
 * to errs as one line; returns the number of problems. */
int	api_tls_load(const struct api_config *, struct atc_buf *errs);
/* Writes Kore config lines: the domain's certfile/certkey into dom and the
 * global tls_dhparam line into glob (both "" when TLS is off). Returns 0,
 * or -1 when a buffer is too small. */
int	api_tls_render(const struct api_config *, char *dom, size_t domlen,
	    char *glob, size_t globlen);
/* True when the server block gets `tls yes`. */
int	api_tls_enabled(const struct api_config *);
/* In a worker (TLS on): takes over Kore's certificate message so the
 * worker's TLS context signs with the key api_tls_load() read. */
void	api_tls_worker_init(void);

#endif
