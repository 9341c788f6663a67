#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# SQL only through parameters: every C file of the project is scanned and
# the test fails listing each offender (file:line and why):
#  - a printf-style call (snprintf, atc_buf_appendf, kore_buf_appendf, ...)
#    whose format string holds SQL;
#  - SQL text appended to a buffer (atc_buf_puts/append, strcat, memcpy,
#    kore_buf_append...), i.e. SQL built by concatenation;
#  - a database call (atc_db_exec/query*, PQexec*, PQprepare, kore_pgsql_*)
#    whose SQL argument is not a compile-time constant: a string literal
#    (adjacent literals and upper-case macros allowed), a `static const
#    char name[]` or `#define` of one, or a `const char *` parameter of the
#    enclosing function, in which case that function becomes a database
#    call too and its own callers are checked the same way (to a fixed
#    point, across files).
# A self-test first runs the checker on planted offenders and on clean
# code, so the scan cannot pass by finding nothing.
source tests/lib/common.sh
t_init sql_parameters

# file:called-function pairs allowed to take run-time SQL, with the reason.
ALLOW=(
	# Migration files from schema/ are the project's own SQL, read from
	# disk at migrate time; no input reaches them.
	"shared/migrate.c:atc_db_exec_script"
)

CHECKER=$T_DIR/sqlcheck.pl
cat >"$CHECKER" <<'PERL'
use strict;
use warnings;

my %allow = map { $_ => 1 } split /\n/, ($ENV{SQL_ALLOW} // '');
my $SQLRE = qr/\b(?:SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(?:TABLE|INDEX|FUNCTION)|DROP\s+(?:TABLE|INDEX)|ALTER\s+TABLE)\b/i;
my @PRINTF = qw(snprintf sprintf vsnprintf vsprintf asprintf vasprintf
    atc_buf_appendf kore_buf_appendf kore_buf_appendv fprintf dprintf);
my @CONCAT = qw(atc_buf_puts atc_buf_append strcat strncat strcpy strncpy
    strlcat strlcpy memcpy stpcpy kore_buf_append kore_strlcpy);
# Database calls: function name => index of the SQL argument.
my %db = (atc_db_exec => 1, atc_db_query => 1, atc_db_query_value => 1,
    atc_db_exec_script => 1, PQexec => 1, PQexecParams => 1,
    PQprepare => 2, PQsendQuery => 1, PQsendQueryParams => 1,
    PQsendPrepare => 2, kore_pgsql_query => 1, kore_pgsql_query_params => 1,
    kore_pgsql_v_query_params => 1);

my (%src, %consts);
for my $f (@ARGV) {
	open(my $fh, '<', $f) or die "$f: $!";
	local $/;
	my $t = <$fh>;
	close $fh;
	# Blank out comments, keeping strings and line numbers.
	$t =~ s{("(?:[^"\\\n]|\\.)*")|('(?:[^'\\\n]|\\.)*')|(/\*[\s\S]*?\*/)|(//[^\n]*)}{
	    defined $1 ? $1 : defined $2 ? $2 :
	    (defined $3 ? $3 : $4) =~ s/[^\n]/ /gr }ge;
	$src{$f} = $t;
	# Compile-time constant SQL names of this file.
	while ($t =~ /static\s+const\s+char\s+(?:\*\s*const\s+)?(\w+)\s*(?:\[\s*\])?\s*=\s*([^;]*);/g) {
		$consts{$f}{$1} = 1 if is_const($2);
	}
	while ($t =~ /^\s*#\s*define\s+(\w+)\s+("[^\n]*)$/mg) {
		$consts{$f}{$1} = 1 if is_const($2);
	}
}

# Literals, upper-case macros (also function-like with literal arguments).
sub is_const {
	my $e = shift;
	return 0 unless $e =~ /"/;
	$e =~ s/"(?:[^"\\]|\\.)*"//g;
	return $e =~ /^[\sA-Z0-9_(),]*$/;
}

sub lineno { my ($t, $pos) = @_; return 1 + (substr($t, 0, $pos) =~ tr/\n//); }

# Splits the argument list starting after the '(' at $pos.
sub args_at {
	my ($t, $pos) = @_;
	my ($depth, $cur, @args) = (0, '');
	while ($pos < length $t) {
		my $c = substr($t, $pos, 1);
		if ($c eq '"' || $c eq "'") {
			substr($t, $pos) =~ /^($c(?:[^$c\\]|\\.)*$c)/s;
			my $s = $1 // $c;
			$cur .= $s;
			$pos += length $s;
			next;
		}
		if ($c eq '(' || $c eq '[' || $c eq '{') { $depth++; }
		elsif ($c eq ')' || $c eq ']' || $c eq '}') {
			if ($depth == 0) { push @args, $cur; return @args; }
			$depth--;
		} elsif ($c eq ',' && $depth == 0) {
			push @args, $cur; $cur = ''; $pos++; next;
		}
		$cur .= $c;
		$pos++;
	}
	return @args;
}

# Function definitions (KNF: name at column 0): [name, params, start, end].
sub functions {
	my $t = shift;
	my @fns;
	while ($t =~ /^(\w+)\(([^;{]*?)\)\s*\{/mg) {
		my ($name, $params, $start) = ($1, $2, $-[0]);
		my $end = index($t, "\n}", $start);
		$end = length $t if $end < 0;
		my @p = map { /(\w+)\s*(?:\[\s*\])?\s*$/ ? $1 : '' }
		    split /,/, $params;
		my @pt = split /,/, $params;
		push @fns, [$name, \@p, $start, $end, \@pt];
	}
	return @fns;
}

my @bad;
my %seen;
my $changed = 1;
while ($changed) {
	$changed = 0;
	for my $f (sort keys %src) {
		my $t = $src{$f};
		my @fns = functions($t);
		for my $name (sort keys %db) {
			while ($t =~ /\b\Q$name\E\s*\(/g) {
				my $at = $-[0];
				my $open = $+[0];
				# Skip the definition / prototype itself.
				my $bol = rindex($t, "\n", $at) + 1;
				next if $at == $bol && substr($t, $open) =~ /^[^;{]*\)\s*\{/;
				my $pre = substr($t, $bol, $at - $bol);
				next if $pre =~ /^\s*(?:static\s+|extern\s+)?(?:const\s+)?(?:struct\s+)?\w+[\s*]+$/ &&
				    $pre !~ /^\s*(?:return|else|case)\b/;
				my @a = args_at($t, $open);
				my $arg = $a[$db{$name}] // next;
				$arg =~ s/^\s+|\s+$//g;
				my $ln = lineno($t, $at);
				next if $allow{"$f:$name"};
				next if is_const($arg);
				next if $arg =~ /^\w+$/ && $consts{$f}{$arg};
				my ($fn) = grep { $_->[2] <= $at && $at <= $_->[3] } @fns;
				if ($fn && $arg =~ /^\w+$/) {
					my ($i) = grep { $fn->[1][$_] eq $arg } 0 .. $#{$fn->[1]};
					if (defined $i && $fn->[4][$i] =~ /\bconst\s+char\s*\*/) {
						if (!exists $db{$fn->[0]}) {
							$db{$fn->[0]} = $i;
							$changed = 1;
						}
						next;
					}
				}
				my $key = "$f:$ln:$name";
				next if $seen{$key}++;
				push @bad, "$f:$ln: SQL argument of $name() is not a constant: " .
				    substr($arg =~ s/\s+/ /gr, 0, 80);
			}
		}
	}
}
for my $f (sort keys %src) {
	my $t = $src{$f};
	for my $name (@PRINTF, @CONCAT) {
		my $kind = (grep { $_ eq $name } @PRINTF) ? 'formats' : 'concatenates';
		while ($t =~ /\b\Q$name\E\s*\(/g) {
			my $at = $-[0];
			my @a = args_at($t, $+[0]);
			for my $arg (@a) {
				my $lits = join '', $arg =~ /"((?:[^"\\]|\\.)*)"/g;
				next unless $lits =~ $SQLRE;
				push @bad, "$f:" . lineno($t, $at) .
				    ": $name() $kind SQL text: \"" .
				    substr($lits, 0, 60) . "\"";
				last;
			}
		}
	}
}
print "$_\n" for @bad;
exit(@bad ? 1 : 0);
PERL

allow_list() {
	printf '%s\n' "${ALLOW[@]}"
}

# --- self-test: planted offenders must be found, clean code must pass ----
mkdir -p "$T_DIR/bad" "$T_DIR/good"
cat >"$T_DIR/bad/store.c" <<'EOF'
static int
lookup(struct atc_db *db, const char *uri)
{
	char	q[512];

	snprintf(q, sizeof(q), "SELECT id FROM events WHERE uri = '%s'", uri);
	return atc_db_exec(db, q, 0, NULL, NULL, 0);
}

static int
run(struct atc_db *db, const char *sql)
{
	return atc_db_exec(db, sql, 0, NULL, NULL, 0);
}

static int
concat(struct atc_db *db, const char *name)
{
	struct atc_buf	b;

	atc_buf_puts(&b, "DELETE FROM users WHERE name = ");
	atc_buf_puts(&b, name);
	return run(db, atc_buf_cstr(&b));
}
EOF
cat >"$T_DIR/good/store.c" <<'EOF'
#define LOCK_KEY	"42"
static const char sql_get[] =
    "SELECT id FROM events "	/* comment with SELECT x FROM y */
    "WHERE uri = $1";

static int
wrap(struct atc_db *db, const char *sql, const char *const *p)
{
	return atc_db_query(db, sql, 1, p, NULL, NULL, 0);
}

static int
get(struct atc_db *db, const char *uri)
{
	const char	*p[1] = { uri };
	char		 msg[64];

	snprintf(msg, sizeof(msg), "select failed for %s", uri);
	(void)atc_db_exec(db, "SELECT pg_advisory_lock(" LOCK_KEY ")", 0,
	    NULL, NULL, 0);
	return wrap(db, sql_get, p);
}
EOF
out=$(SQL_ALLOW= perl "$CHECKER" "$T_DIR/bad/store.c" 2>&1)
t_eq "self-test: planted offenders are all found" 4 \
    "$(printf '%s\n' "$out" | grep -c .)"
t_check "self-test: printf-built SQL reported" \
    grep -q 'snprintf() formats SQL' <<<"$out"
t_check "self-test: concatenated SQL reported" \
    grep -q 'atc_buf_puts() concatenates SQL' <<<"$out"
t_check "self-test: SQL from a local buffer reported" \
    grep -q 'SQL argument of atc_db_exec() is not a constant: q$' <<<"$out"
t_check "self-test: run-time SQL through a wrapper reported" \
    grep -q 'SQL argument of run() is not a constant' <<<"$out"
out=$(SQL_ALLOW= perl "$CHECKER" "$T_DIR/good/store.c" 2>&1)
t_eq "self-test: parameterised SQL passes" "" "$out"

# --- the project ----------------------------------------------------------
mapfile -t FILES < <(find api consumer processor shared tests -name '*.c' \
    -not -path '*/node_modules/*' 2>/dev/null | sort)
t_check "there are C files to scan (${#FILES[@]})" test "${#FILES[@]}" -gt 20
out=$(SQL_ALLOW=$(allow_list) perl "$CHECKER" "${FILES[@]}" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
	printf 'offender: %s\n' "${out:-checker failed}" | head -n 100
fi
t_eq "no SQL built with printf or concatenation, all db calls take constant SQL" \
    0 "$rc"
t_done
