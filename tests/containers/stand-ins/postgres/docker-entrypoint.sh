#!/bin/bash
# The official postgres image's entrypoint contract, for the variables it documents
# that a first start needs: POSTGRES_PASSWORD (required, as there), POSTGRES_USER
# (default postgres), POSTGRES_DB (default the user). Later starts reuse the volume.
set -euo pipefail

if [[ "${1:-}" != postgres ]]; then
  exec "$@"
fi
shift

if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  : "${POSTGRES_PASSWORD:?Database is uninitialized and superuser password is not specified (POSTGRES_PASSWORD)}"
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  initdb -D "$PGDATA" --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  # Every other host with a password, as the official image configures it.
  echo 'host all all all scram-sha-256' >>"$PGDATA/pg_hba.conf"
  # The set-up server takes no TCP and uses a private socket directory, so the health
  # check (pg_isready on the default socket) stays "not ready" until the real start.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start >/dev/null
  if [[ "$db" != postgres ]]; then
    psql -h /tmp -U "$user" -d postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$db\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
