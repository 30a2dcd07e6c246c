#!/bin/bash
# The official mysql image's entrypoint contract, for what a first start needs:
# MYSQL_ROOT_PASSWORD (or MYSQL_ALLOW_EMPTY_PASSWORD=yes) for root on every host, and
# MYSQL_DATABASE created if set. Later starts reuse the volume.
set -euo pipefail

if [[ "${1:-}" != mysqld ]]; then
  exec "$@"
fi
shift

if [[ "$(id -u)" == 0 ]]; then
  mkdir -p /var/lib/mysql /run/mysqld
  chown -R mysql:mysql /var/lib/mysql /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" mysqld "$@"
fi

if [[ ! -d /var/lib/mysql/mysql ]]; then
  if [[ -z "${MYSQL_ROOT_PASSWORD:-}" && "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" != yes ]]; then
    echo "error: database is uninitialized and password option is not specified (MYSQL_ROOT_PASSWORD)" >&2
    exit 1
  fi
  mariadb-install-db --datadir=/var/lib/mysql --auth-root-authentication-method=normal \
    --skip-test-db >/dev/null
  # The set-up server takes no TCP, so the health check (mysqladmin ping over TCP) stays
  # "not ready" until the real start.
  sock=/tmp/init.sock
  mariadbd --datadir=/var/lib/mysql --skip-networking --socket="$sock" &
  pid=$!
  for _ in $(seq 60); do mariadb-admin --socket="$sock" -uroot ping >/dev/null 2>&1 && break; sleep 0.5; done
  pw="${MYSQL_ROOT_PASSWORD:-}"
  pw="${pw//\'/\'\'}"
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$pw';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    [[ -n "${MYSQL_DATABASE:-}" ]] && echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$sock" -uroot
  mariadb-admin --socket="$sock" -uroot --password="${MYSQL_ROOT_PASSWORD:-}" shutdown
  wait "$pid"
  echo "MySQL (MariaDB stand-in) init process done. Ready for start up."
fi

exec mariadbd --datadir=/var/lib/mysql --bind-address=0.0.0.0 --port=3306 "$@"
