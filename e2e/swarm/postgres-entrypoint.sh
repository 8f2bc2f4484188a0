#!/bin/sh
# First start: initdb into the volume with scram passwords and the app's database; every start:
# the server on 127.0.0.1:$PGPORT (host networking) and its socket in /var/run/postgresql.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" "${PGPORT:?PGPORT is required}"
: "${POSTGRES_DB:=pulsework}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" --encoding=UTF8 --no-locale >/dev/null
  rm -f "$pwfile"
  # Single-user mode needs no authentication and opens no port.
  echo "CREATE DATABASE \"$POSTGRES_DB\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  echo "postgres-entrypoint: initialised $PGDATA with database $POSTGRES_DB"
fi
exec postgres -D "$PGDATA" -c listen_addresses=127.0.0.1 -c port="$PGPORT" \
  -c unix_socket_directories=/var/run/postgresql
