#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis on loopback ports of our own, for tests and benchmarks.
#   scripts/services.sh start   -> prints export lines for DATABASE_URL and REDIS_URL
#   scripts/services.sh stop
# A server already answering on the port is reused and left running.
set -euo pipefail

PG_PORT=${VOC_PG_PORT:-55432}
REDIS_PORT=${VOC_REDIS_PORT:-56379}
# Under /tmp: the postgres user must be able to reach the folder (root's home is private).
DIR=${VOC_SERVICES_DIR:-/tmp/voc-services-$PG_PORT}
PGDATA=$DIR/pg
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)

pg_bin() {
  local dir
  dir=$(pg_config --bindir 2>/dev/null || true)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  echo "$dir"
}

pg_up() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start() {
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  if ! pg_up; then
    local bin
    bin=$(pg_bin)
    [ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found" >&2; return 1; }
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
      mkdir -p "$PGDATA"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
      "${as_pg[@]}" "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 \
        --no-sync >"$DIR/initdb.log" 2>&1
    fi
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
    # fsync off: a test database need not survive a power cut, and it is much faster.
    "${as_pg[@]}" "$bin/pg_ctl" -D "$PGDATA" -l "$DIR/pg.log" -w -t 60 \
      -o "-p $PG_PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null
    touch "$DIR/.pg-started-by-us"
  fi
  if ! redis_up; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
    for _ in $(seq 50); do redis_up && break; sleep 0.1; done
    redis_up || { echo "Redis did not start" >&2; return 1; }
    touch "$DIR/.redis-started-by-us"
  fi
  echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/voc"
  echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "export VOC_PGDATA=$PGDATA VOC_PG_BIN=$(pg_bin) VOC_SERVICES_DIR=$DIR"
}

stop() {
  if [ -f "$DIR/.pg-started-by-us" ]; then
    "${as_pg[@]}" "$(pg_bin)/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
    rm -f "$DIR/.pg-started-by-us"
  fi
  if [ -f "$DIR/.redis-started-by-us" ]; then
    [ -f "$DIR/redis.pid" ] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    rm -f "$DIR/.redis-started-by-us"
  fi
}

"$@"
