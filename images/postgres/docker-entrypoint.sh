#!/usr/bin/env bash
# Entrypoint of the shipyard-local/postgres stand-in, written to the interface of the
# official postgres image's docker-entrypoint.sh as the stack uses it:
#   POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), POSTGRES_USER, POSTGRES_DB,
#   POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD, PGDATA; on an empty data directory
#   it runs initdb, allows password (scram-sha-256) logins from other hosts, creates the
#   database, runs /docker-entrypoint-initdb.d/*.sql|*.sql.{gz,xz,zst}|*.sh once, then execs
#   `postgres "$@"`. Started as root it fixes ownership and drops to postgres (999);
#   started as any other uid it runs as that uid.
set -Eeuo pipefail

log() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# file_env VAR [DEFAULT]: VAR from the environment or from the file named by VAR_FILE.
file_env() {
	local var="$1" def="${2:-}"
	local file_var="${var}_FILE"
	local val="$def"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		die "both $var and $file_var are set (but are exclusive)"
	fi
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!file_var:-}" ]; then
		val="$(< "${!file_var}")"
	fi
	export "$var"="$val"
	unset "$file_var"
}

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

create_directories() {
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ "$(id -u)" = 0 ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
	fi
}

verify_minimum_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOM'
		error: Database is uninitialized and superuser password is not specified.
		       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value,
		       or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without one
		       (never do that outside a throw-away stack).
		EOM
		exit 1
	fi
}

init_database_dir() {
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, like upstream
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
		$POSTGRES_INITDB_ARGS
}

setup_hba_conf() {
	{
		printf '\n'
		if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
			printf '# warning: trust is enabled for all connections\n'
		fi
		printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
	} >> "$PGDATA/pg_hba.conf"
}

# psql as the superuser over the local socket of the temporary server.
psql_init() {
	PGHOST='' PGHOSTADDR='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password \
		--no-psqlrc "$@"
}

temp_server_start() {
	# The command's own `-c key=value` args, then only the unix socket (last wins), so
	# nothing outside sees a half-initialised database.
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
}

setup_db() {
	local exists
	exists="$(psql_init --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
		<<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
		EOSQL
	)"
	if [ -z "$exists" ]; then
		psql_init --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
		CREATE DATABASE :"db" ;
		EOSQL
		log
	fi
}

process_init_files() {
	local f
	log
	for f in "$@"; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					log "$0: running $f"
					"$f"
				else
					log "$0: sourcing $f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)     log "$0: running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f"; log ;;
			*.sql.gz)  log "$0: running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB"; log ;;
			*.sql.xz)  log "$0: running $f"; xzcat "$f" | psql_init --dbname "$POSTGRES_DB"; log ;;
			*.sql.zst) log "$0: running $f"; zstd -dc "$f" | psql_init --dbname "$POSTGRES_DB"; log ;;
			*)         log "$0: ignoring $f" ;;
		esac
	done
}

main() {
	# `docker run IMAGE -c key=value` means `postgres -c key=value`, as upstream.
	if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi

	if [ "$1" = postgres ]; then
		setup_env
		create_directories
		if [ "$(id -u)" = 0 ]; then
			# Drop to postgres (999:999) and start over as that user.
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			verify_minimum_env
			if ! getent passwd "$(id -u)" > /dev/null; then
				die "uid $(id -u) has no passwd entry; run as root or as user 999:999 (postgres)"
			fi
			init_database_dir
			setup_hba_conf
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start "${@:2}"
			setup_db
			shopt -s nullglob
			process_init_files /docker-entrypoint-initdb.d/*
			shopt -u nullglob
			temp_server_stop
			unset PGPASSWORD
			log
			log 'PostgreSQL init process complete; ready for start up.'
			log
		else
			log
			log 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
			log
		fi
	fi

	exec "$@"
}

main "$@"
