/* SPDX-License-Identifier: ISC */
#ifndef ATC_CAR_H
#define ATC_CAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * CAR v1 reader over caller-owned bytes: header {roots, version: 1}, then
 * sections `uvarint length | CID | block`. Nothing is copied; blocks point
 * into the input. Duplicate, extra and unordered blocks are tolerated.
 * Blocks are not hashed here: callers verify the ones they use with
 * atc_car_block_verify() (hash the original bytes, never a re-encoding).
 */
struct atc_car {
	const uint8_t	*data;		/* borrowed */
	size_t		 len;
	size_t		 origin;	/* added to offsets in errors */
	const uint8_t	*root;		/* roots[0] binary CID; NULL if none */
	size_t		 root_len;
	size_t		 nroots;
	size_t		 first;		/* offset of the first section */
};

struct atc_car_block {
	const uint8_t	*cid;		/* binary CID, borrowed */
	size_t		 cid_len;
	const uint8_t	*data;		/* block bytes, borrowed */
	size_t		 len;
	size_t		 offset;	/* of data, from the origin */
};

/* Parses the CAR header of data[0..len). Returns 0 or -1 and err. */
int	atc_car_open(struct atc_car *out, const uint8_t *data, size_t len,
	    size_t origin, char *err, size_t errlen);
/* Iterates sections: *pos starts at car->first. Returns 1 and fills out,
 * 0 at the end, -1 and err on a malformed section. */
int	atc_car_next(const struct atc_car *car, size_t *pos,
	    struct atc_car_block *out, char *err, size_t errlen);
/* Linear search for the first block with this CID. Returns 1 (found),
 * 0 (absent) or -1 and err (malformed CAR). */
int	atc_car_find(const struct atc_car *car, const uint8_t *cid,
	    size_t cid_len, struct atc_car_block *out, char *err,
	    size_t errlen);
/* Checks a block's bytes against its CID. Returns 0 or -1 and err. */
int	atc_car_block_verify(const struct atc_car_block *b, char *err,
	    size_t errlen);

/* A sorted index of all blocks for repeated lookups (repo walks).
 * Returns a new index; free with atc_car_index_free(). NULL and err on a
 * malformed CAR. Borrows car's bytes. */
struct atc_car_index;
struct atc_car_index	*atc_car_index_new(const struct atc_car *car,
			    char *err, size_t errlen);
void			 atc_car_index_free(struct atc_car_index *);
/* Returns a borrowed block (valid while the index lives) or NULL. */
const struct atc_car_block *atc_car_index_get(const struct atc_car_index *,
			    const uint8_t *cid, size_t cid_len);
/* Number of distinct blocks in the index. */
size_t			 atc_car_index_count(const struct atc_car_index *);

#endif
