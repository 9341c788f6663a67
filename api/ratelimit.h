/* SPDX-License-Identifier: ISC */
#ifndef API_RATELIMIT_H
#define API_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Token buckets shared by every Kore worker: one per service key and a
 * fixed table of buckets per client address that only failed
 * authentications drain. The state lives in MAP_SHARED memory created by
 * the parent before it forks, so the configured rates hold for the whole
 * process tree, not per worker.
 */
struct api_keys;
struct ratelimit;

/* A rate: rps tokens per second, up to burst tokens saved. rps 0 means
 * unlimited ("off"). */
struct ratelimit_rate {
	double	rps;
	double	burst;
};

/* Parses "rps:burst" (rps > 0, burst >= 1) or "off" into out. Returns 0
 * or -1 with err filled. */
int	ratelimit_rate_parse(const char *s, struct ratelimit_rate *out,
	    char *err, size_t errlen);

/* Returns a new limiter in shared memory with nkeys key buckets at
 * key_rate, and naddrs address buckets (rounded up to a power of two) at
 * auth_fail_rate, or NULL when mmap fails. Free with ratelimit_free(). */
struct ratelimit	*ratelimit_new(size_t nkeys,
			    const struct ratelimit_rate *key_rate,
			    size_t naddrs,
			    const struct ratelimit_rate *auth_fail_rate);
void			 ratelimit_free(struct ratelimit *);

/* Applies per-key overrides "fp:rps:burst,fp:off,..." (fp: a key
 * fingerprint from auth.h) to the keys of ks. Returns 0 or -1 with err
 * filled (unknown fingerprint, bad rate). Call before fork. */
int	ratelimit_configure_keys(struct ratelimit *, const struct api_keys *ks,
	    const char *overrides, char *err, size_t errlen);

/* Takes one token from key idx's bucket at time now_us. Returns 0 when
 * allowed, else the wait until a token is due, in microseconds (> 0). */
uint64_t	ratelimit_key_take(struct ratelimit *, size_t idx,
		    uint64_t now_us);

/* Returns 0 when the client address addr (addrlen bytes: 4 for IPv4, 16
 * for IPv6, of which the /64 prefix counts) may still try to authenticate,
 * else the wait in microseconds. Takes nothing. */
uint64_t	ratelimit_addr_blocked(struct ratelimit *, const void *addr,
		    size_t addrlen, uint64_t now_us);
/* Records one failed authentication from addr (drains one token). */
void		ratelimit_addr_failed(struct ratelimit *, const void *addr,
		    size_t addrlen, uint64_t now_us);

/* Rounds a wait in microseconds up to whole seconds for Retry-After
 * (at least 1). */
unsigned	ratelimit_retry_after_s(uint64_t wait_us);
/* Returns CLOCK_MONOTONIC in microseconds (one clock for all workers). */
uint64_t	ratelimit_now_us(void);

#endif
