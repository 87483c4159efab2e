#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store/postgres tests.
#
#   source .ci/postgres.sh start   # starts it (if needed), exports CAMPAIGNCONNECTOR_POSTGRES_DSN
#   .ci/postgres.sh start          # the same, printing "export CAMPAIGNCONNECTOR_POSTGRES_DSN=…"
#                                  # (so eval "$(.ci/postgres.sh start)" works too)
#   .ci/postgres.sh dsn            # prints the DSN of the running server
#   .ci/postgres.sh status         # exit status 0 when it runs
#   .ci/postgres.sh stop           # stops it and removes its directory
#
# It installs Debian's postgresql package when initdb/pg_ctl are missing
# (apt-get, as root), creates a cluster in $CAMPAIGNCONNECTOR_PG_DIR
# (default ${TMPDIR:-/tmp}/campaignconnector-pg) owned by an unprivileged
# user (the "postgres" system user when run as root, created if missing;
# the caller otherwise), listening on 127.0.0.1 only, on
# $CAMPAIGNCONNECTOR_PG_PORT (default 54329, or the next free port), with
# its unix socket in that directory and trust authentication: a test
# server, never a production one (fsync is off too). start and stop are
# idempotent.

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
	# Sourced: do the work in a child bash (strict mode and exits stay
	# there) and export what it printed into the caller's shell.
	__cc_pg_out=$(bash "${BASH_SOURCE[0]}" "$@") || { unset __cc_pg_out; return 1; }
	if [[ "${1:-}" == start ]]; then
		eval "$__cc_pg_out"
		echo "CAMPAIGNCONNECTOR_POSTGRES_DSN=$CAMPAIGNCONNECTOR_POSTGRES_DSN" >&2
	elif [[ "${1:-}" == stop ]]; then
		unset CAMPAIGNCONNECTOR_POSTGRES_DSN
	elif [[ -n "$__cc_pg_out" ]]; then
		echo "$__cc_pg_out"
	fi
	unset __cc_pg_out
	return 0
fi

set -euo pipefail

DIR=${CAMPAIGNCONNECTOR_PG_DIR:-${TMPDIR:-/tmp}/campaignconnector-pg}
PORT=${CAMPAIGNCONNECTOR_PG_PORT:-54329}
DB=campaignconnector
SUPERUSER=postgres

log() { echo "postgres.sh: $*" >&2; }

# find_bin puts the directory holding initdb and pg_ctl first in PATH,
# installing the package when there is none.
find_bin() {
	local d
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
			PATH="$d:$PATH"
			return
		fi
	done
	if [[ $(id -u) -ne 0 ]]; then
		log "initdb/pg_ctl not found and not root: install PostgreSQL (apt-get install postgresql)"
		exit 1
	fi
	log "installing postgresql with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
			PATH="$d:$PATH"
			return
		fi
	done
	log "postgresql installed but initdb not found under /usr/lib/postgresql/*/bin"
	exit 1
}

# as_owner runs a command as the cluster's owner: postgres refuses to run
# as root.
as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		# runuser keeps PATH with -m; the command gets absolute paths anyway.
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

ensure_owner() {
	if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
		log "creating system user postgres"
		useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
	fi
}

running() {
	[[ -f $DIR/data/postmaster.pid ]] && as_owner "$(command -v pg_ctl)" -D "$DIR/data" status >/dev/null 2>&1
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

dsn() {
	echo "postgres://$SUPERUSER@127.0.0.1:$(cat "$DIR/port")/$DB?sslmode=disable"
}

start() {
	find_bin
	ensure_owner
	if running; then
		log "already running in $DIR"
		echo "export CAMPAIGNCONNECTOR_POSTGRES_DSN='$(dsn)'"
		return
	fi
	if [[ ! -f $DIR/data/PG_VERSION ]]; then
		rm -rf "$DIR"
		mkdir -p "$DIR"
		[[ $(id -u) -eq 0 ]] && chown postgres: "$DIR"
		chmod 700 "$DIR"
		log "initdb in $DIR/data"
		as_owner "$(command -v initdb)" -D "$DIR/data" -U "$SUPERUSER" --auth=trust \
			--encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
			{ cat "$DIR/initdb.log" >&2; exit 1; }
	fi
	local port=$PORT
	while ! port_free "$port"; do
		port=$((port + 1))
		if ((port > PORT + 100)); then
			log "no free port in $PORT..$((port - 1))"
			exit 1
		fi
	done
	as_owner sh -c "echo $port >'$DIR/port'"
	log "starting on 127.0.0.1:$port"
	as_owner "$(command -v pg_ctl)" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >&2 || { cat "$DIR/server.log" >&2; exit 1; }
	local psql
	psql=$(command -v psql)
	if [[ -z $(as_owner "$psql" -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres -Atc \
		"SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
		as_owner "$psql" -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres -qc "CREATE DATABASE $DB" >&2
	fi
	echo "export CAMPAIGNCONNECTOR_POSTGRES_DSN='$(dsn)'"
}

stop() {
	if [[ ! -d $DIR ]]; then
		log "nothing to stop in $DIR"
		return
	fi
	find_bin
	if running; then
		as_owner "$(command -v pg_ctl)" -D "$DIR/data" -m fast -w stop >&2
	fi
	rm -rf "$DIR"
	log "stopped, $DIR removed"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
dsn)
	find_bin
	running || { log "not running"; exit 1; }
	dsn
	;;
status)
	find_bin
	running
	;;
*)
	echo "usage: [source] $0 start|stop|dsn|status" >&2
	exit 2
	;;
esac
