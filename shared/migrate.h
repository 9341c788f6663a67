/* SPDX-License-Identifier: ISC */
#ifndef ATC_MIGRATE_H
#define ATC_MIGRATE_H

#include <stddef.h>

struct atc_db;

/* Applies every dir/NNNN_verb_noun.sql not yet listed in schema_migrations,
 * in file name order, each in its own transaction, while holding a
 * Postgres advisory lock so concurrent starters apply each file once.
 * Returns 0, or -1 with err filled (naming the file that failed). */
int	atc_migrate(struct atc_db *, const char *dir, char *err, size_t errlen);

/* Returns 1 when name looks like a migration file ("0001_create_x.sql"). */
int	atc_migrate_name_ok(const char *name);

#endif
