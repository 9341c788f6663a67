/* SPDX-License-Identifier: ISC */
/*
 * Rate limits as GCRA (the "virtual scheduling" form of a token bucket):
 * each bucket is one atomic word, the theoretical arrival time of the next
 * request, advanced by compare-and-swap, so Kore workers share buckets in
 * MAP_SHARED memory without a lock a dying worker could leave held. Rates
 * and capacities are written once by the parent before fork and only read
 * afterwards. Client addresses hash into a fixed open-addressed table (an
 * entry whose bucket has refilled is free for reuse), bounding memory
 * whatever the number of clients.
 */
#include <sys/mman.h>

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "ratelimit.h"
#include "util.h"

#define PROBES		8
#define RATE_MAX	1e6	/* rps: one token per microsecond */
#define BURST_MAX	1e7

struct bucket {
	_Atomic uint64_t	tat_ns;		/* next theoretical arrival */
	uint64_t		interval_ns;	/* 1 / rate; 0 = unlimited */
	uint64_t		capacity_ns;	/* burst * interval */
};

struct addr_slot {
	_Atomic uint64_t	key;		/* address hash | 1; 0 = free */
	_Atomic uint64_t	tat_ns;
};

struct ratelimit {
	size_t			size;		/* bytes mapped */
	size_t			nkeys;
	size_t			naddrs;		/* power of two */
	uint64_t		addr_interval_ns;
	uint64_t		addr_capacity_ns;
	struct bucket		keys[API_KEYS_MAX];
	struct addr_slot	addrs[];
};

int
ratelimit_rate_parse(const char *s, struct ratelimit_rate *out, char *err,
    size_t errlen)
{
	char	*end;
	double	 rps, burst;

	if (strcmp(s, "off") == 0) {
		out->rps = 0;
		out->burst = 0;
		return 0;
	}
	errno = 0;
	rps = strtod(s, &end);
	if (errno != 0 || end == s || *end != ':' || !isfinite(rps) ||
	    rps <= 0 || rps > RATE_MAX)
		return atc_seterr(err, errlen, "rate \"%s\": expected "
		    "rps:burst (0 < rps <= 1e6) or off", s);
	s = end + 1;
	burst = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(burst) ||
	    burst < 1 || burst > BURST_MAX)
		return atc_seterr(err, errlen, "rate burst \"%s\": expected "
		    "1 to 1e7", s);
	out->rps = rps;
	out->burst = burst;
	return 0;
}

static void
rate_set(const struct ratelimit_rate *r, uint64_t *interval_ns,
    uint64_t *capacity_ns)
{
	if (r == NULL || r->rps <= 0) {
		*interval_ns = 0;
		*capacity_ns = 0;
		return;
	}
	*interval_ns = (uint64_t)llround(1e9 / r->rps);
	if (*interval_ns == 0)
		*interval_ns = 1;
	*capacity_ns = (uint64_t)llround(r->burst * (double)*interval_ns);
}

struct ratelimit *
ratelimit_new(size_t nkeys, const struct ratelimit_rate *key_rate,
    size_t naddrs, const struct ratelimit_rate *auth_fail_rate)
{
	struct ratelimit	*rl;
	size_t			 size, n = 16, i;
	void			*p;

	if (nkeys > API_KEYS_MAX)
		return NULL;
	while (n < naddrs && n < ((size_t)1 << 24))
		n <<= 1;
	size = sizeof(*rl) + n * sizeof(struct addr_slot);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, size);
	rl = p;
	rl->size = size;
	rl->nkeys = nkeys;
	rl->naddrs = n;
	for (i = 0; i < nkeys; i++) {
		rate_set(key_rate, &rl->keys[i].interval_ns,
		    &rl->keys[i].capacity_ns);
		atomic_init(&rl->keys[i].tat_ns, 0);
	}
	rate_set(auth_fail_rate, &rl->addr_interval_ns, &rl->addr_capacity_ns);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl != NULL)
		munmap(rl, rl->size);
}

int
ratelimit_configure_keys(struct ratelimit *rl, const struct api_keys *ks,
    const char *overrides, char *err, size_t errlen)
{
	struct ratelimit_rate	  r;
	char			**list, *colon;
	size_t			  n = 0, i, idx;
	int			  ret = -1;

	list = atc_config_list(overrides != NULL ? overrides : "", &n);
	for (i = 0; i < n; i++) {
		if ((colon = strchr(list[i], ':')) == NULL) {
			atc_seterr(err, errlen, "entry %zu: expected "
			    "fingerprint:rps:burst or fingerprint:off", i + 1);
			goto out;
		}
		*colon = '\0';
		if (api_keys_find(ks, list[i], &idx) == -1 ||
		    idx >= rl->nkeys) {
			atc_seterr(err, errlen, "entry %zu: no key has "
			    "fingerprint \"%.16s\"", i + 1, list[i]);
			goto out;
		}
		if (ratelimit_rate_parse(colon + 1, &r, err, errlen) == -1)
			goto out;
		rate_set(&r, &rl->keys[idx].interval_ns,
		    &rl->keys[idx].capacity_ns);
	}
	ret = 0;
out:
	atc_config_list_free(list);
	return ret;
}

/* Takes one token at now_ns; 0, or the wait in ns until one is due. With
 * peek, only tells whether a take would succeed. */
static uint64_t
gcra(_Atomic uint64_t *tat, uint64_t interval_ns, uint64_t capacity_ns,
    uint64_t now_ns, bool peek)
{
	uint64_t	old, base, next;

	if (interval_ns == 0)
		return 0;
	old = atomic_load_explicit(tat, memory_order_relaxed);
	do {
		base = old > now_ns ? old : now_ns;
		next = base + interval_ns;
		if (next - now_ns > capacity_ns)
			return next - now_ns - capacity_ns;
		if (peek)
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(tat, &old, next,
	    memory_order_relaxed, memory_order_relaxed));
	return 0;
}

uint64_t
ratelimit_key_take(struct ratelimit *rl, size_t idx, uint64_t now_us)
{
	struct bucket	*b;
	uint64_t	 wait_ns;

	if (rl == NULL || idx >= rl->nkeys)
		return 0;
	b = &rl->keys[idx];
	wait_ns = gcra(&b->tat_ns, b->interval_ns, b->capacity_ns,
	    now_us * 1000, false);
	return wait_ns == 0 ? 0 : wait_ns / 1000 + 1;
}

/* FNV-1a over the address (an IPv6 address counts by its /64 prefix:
 * one host usually owns a whole /64). Never 0. */
static uint64_t
addr_hash(const void *addr, size_t len)
{
	const unsigned char	*p = addr;
	uint64_t		 h = 0xcbf29ce484222325ULL;
	size_t			 i;

	if (len == 16)
		len = 8;
	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h | 1;
}

/* Finds addr's slot; with claim, takes a free or refilled one when it has
 * none (or shares its home slot when all probed slots are busy). */
static struct addr_slot *
addr_slot(struct ratelimit *rl, const void *addr, size_t addrlen,
    uint64_t now_ns, bool claim)
{
	struct addr_slot	*s, *victim;
	uint64_t		 h, k, mask = rl->naddrs - 1;
	size_t			 i;

	h = addr_hash(addr, addrlen);
	for (i = 0; i < PROBES; i++) {
		s = &rl->addrs[(h + i) & mask];
		if (atomic_load_explicit(&s->key, memory_order_relaxed) == h)
			return s;
	}
	if (!claim)
		return NULL;
	for (i = 0; i < PROBES; i++) {
		s = &rl->addrs[(h + i) & mask];
		k = atomic_load_explicit(&s->key, memory_order_relaxed);
		if ((k == 0 || atomic_load_explicit(&s->tat_ns,
		    memory_order_relaxed) <= now_ns) &&
		    atomic_compare_exchange_strong(&s->key, &k, h))
			return s;
	}
	/* All busy (a flood of addresses): evict the slot closest to
	 * refilling; the newcomer inherits its drained bucket, erring on
	 * the side of limiting. */
	victim = &rl->addrs[h & mask];
	for (i = 1; i < PROBES; i++) {
		s = &rl->addrs[(h + i) & mask];
		if (atomic_load_explicit(&s->tat_ns, memory_order_relaxed) <
		    atomic_load_explicit(&victim->tat_ns, memory_order_relaxed))
			victim = s;
	}
	atomic_store_explicit(&victim->key, h, memory_order_relaxed);
	return victim;
}

uint64_t
ratelimit_addr_blocked(struct ratelimit *rl, const void *addr,
    size_t addrlen, uint64_t now_us)
{
	struct addr_slot	*s;
	uint64_t		 wait_ns;

	if (rl == NULL || rl->addr_interval_ns == 0 ||
	    (s = addr_slot(rl, addr, addrlen, now_us * 1000, false)) == NULL)
		return 0;
	wait_ns = gcra(&s->tat_ns, rl->addr_interval_ns, rl->addr_capacity_ns,
	    now_us * 1000, true);
	return wait_ns == 0 ? 0 : wait_ns / 1000 + 1;
}

void
ratelimit_addr_failed(struct ratelimit *rl, const void *addr, size_t addrlen,
    uint64_t now_us)
{
	struct addr_slot	*s;

	if (rl == NULL || rl->addr_interval_ns == 0)
		return;
	s = addr_slot(rl, addr, addrlen, now_us * 1000, true);
	(void)gcra(&s->tat_ns, rl->addr_interval_ns, rl->addr_capacity_ns,
	    now_us * 1000, false);
}

unsigned
ratelimit_retry_after_s(uint64_t wait_us)
{
	uint64_t	s = (wait_us + 999999) / 1000000;

	if (s < 1)
		return 1;
	return s > 3600 ? 3600 : (unsigned)s;
}

uint64_t
ratelimit_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
