/* SPDX-License-Identifier: ISC */
/*
 * Forward-only schema migrations. The files in the schema directory are
 * applied in name order (zero-padded numbers make that the creation
 * order); each one runs in its own transaction together with the row that
 * records it in schema_migrations, so a file is applied entirely or not at
 * all. A session advisory lock serialises concurrent starters: the second
 * one waits, then finds every file already recorded.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "migrate.h"
#include "util.h"

#define MIGRATE_LOCK_KEY	"7305271801"	/* arbitrary, fixed forever */
#define MIGRATE_FILE_MAX	(1024 * 1024)
#define MIGRATE_NFILES_MAX	10000

int
atc_migrate_name_ok(const char *name)
{
	size_t	i, len = strlen(name);

	if (len < 4 + 1 + 1 + 4 || len > 128)
		return 0;
	for (i = 0; i < 4; i++)
		if (!isdigit((unsigned char)name[i]))
			return 0;
	if (name[4] != '_' || strcmp(name + len - 4, ".sql") != 0)
		return 0;
	for (i = 5; i < len - 4; i++)
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '_')
			return 0;
	return 1;
}

static int
migrate_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns a new sorted array of new names in *out (count in *n). */
static int
migrate_list(const char *dir, char ***out, size_t *n, char *err,
    size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL;
	size_t		 cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return atc_seterr(err, errlen, "schema dir %s: %s", dir,
		    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!atc_migrate_name_ok(de->d_name))
			continue;
		if (cnt == MIGRATE_NFILES_MAX)
			break;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			names = atc_xrealloc(names, cap * sizeof(*names));
		}
		names[cnt++] = atc_xstrdup(de->d_name);
	}
	closedir(d);
	if (cnt > 0)
		qsort(names, cnt, sizeof(*names), migrate_cmp);
	*out = names;
	*n = cnt;
	return 0;
}

static char *
migrate_read(const char *path, char *err, size_t errlen)
{
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0, got;

	if ((fp = fopen(path, "r")) == NULL) {
		atc_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	text = atc_xmalloc(MIGRATE_FILE_MAX + 1);
	while ((got = fread(text + len, 1, MIGRATE_FILE_MAX + 1 - len, fp)) >
	    0)
		len += got;
	if (ferror(fp) || len > MIGRATE_FILE_MAX) {
		atc_seterr(err, errlen, "%s: %s", path, ferror(fp) ?
		    "read error" : "file too large");
		free(text);
		text = NULL;
	} else
		text[len] = '\0';
	fclose(fp);
	return text;
}

static int
migrate_one(struct atc_db *db, const char *dir, const char *name, char *err,
    size_t errlen)
{
	char		 path[4096], found[8], e[ATC_ERRLEN];
	char		*text = NULL;
	const char	*params[1] = { name };
	int		 ret = -1, have;

	if (atc_db_query_value(db, "SELECT 1 FROM schema_migrations "
	    "WHERE version = $1", 1, params, found, sizeof(found), &have,
	    err, errlen) == -1)
		goto out;
	if (have) {
		ret = 0;
		goto out;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		atc_seterr(err, errlen, "path too long: %s", name);
		goto out;
	}
	if ((text = migrate_read(path, err, errlen)) == NULL)
		goto out;
	if (atc_db_begin(db, err, errlen) == -1)
		goto out;
	if (atc_db_exec_script(db, text, e, sizeof(e)) == -1 ||
	    atc_db_exec(db, "INSERT INTO schema_migrations (version) "
	    "VALUES ($1)", 1, params, e, sizeof(e)) == -1 ||
	    atc_db_commit(db, e, sizeof(e)) == -1) {
		atc_db_rollback(db);
		atc_seterr(err, errlen, "%s: %s", name, e);
		goto out;
	}
	ret = 0;
out:
	free(text);
	return ret;
}

int
atc_migrate(struct atc_db *db, const char *dir, char *err, size_t errlen)
{
	char	**names = NULL;
	char	  e[ATC_ERRLEN];
	size_t	  n = 0, i;
	int	  ret = -1, locked = 0;

	if (migrate_list(dir, &names, &n, err, errlen) == -1)
		goto out;
	if (atc_db_exec(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
	    0, NULL, err, errlen) == -1)
		goto out;
	locked = 1;
	if (atc_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, "
	    "applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL,
	    err, errlen) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (migrate_one(db, dir, names[i], err, errlen) == -1)
			goto out;
	ret = 0;
out:
	if (locked)
		(void)atc_db_exec(db, "SELECT pg_advisory_unlock("
		    MIGRATE_LOCK_KEY ")", 0, NULL, e, sizeof(e));
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}
