#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the tests (../shared/RECIPES.md).
#   .ci/postgres.sh start   -> prints the SQLAlchemy URL on stdout
#   .ci/postgres.sh stop DIR
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
case "${1:-}" in
start)
  dir=$(mktemp -d /tmp/tutela-pg-XXXXXX)
  mkdir -p "$dir/sock"
  chown -R postgres:postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off" start >/dev/null
  psql -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE ROLE app LOGIN PASSWORD 'app'" >/dev/null
  psql -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE app OWNER app" >/dev/null
  echo "$dir" >/tmp/tutela-pg-dir
  echo "postgresql+psycopg://app:app@127.0.0.1:$port/app"
  ;;
stop)
  dir=${2:-$(cat /tmp/tutela-pg-dir)}
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop [DIR]" >&2
  exit 2
  ;;
esac
