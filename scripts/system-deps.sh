#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (PostgreSQL, Redis, PgBouncer, Chromium,
# docker-compose) when they are missing and apt-get is usable. Prints what is missing otherwise.
set -euo pipefail

missing=()
pg_bindir() {
  local dir
  dir=$(pg_config --bindir 2>/dev/null || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
[ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/initdb" ] || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# A real PgBouncer in transaction mode in front of the test PostgreSQL
# (tests/integration/test_connections.py); /usr/sbin is not on every PATH.
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
# makemessages (tests/feedback/test_translations.py checks the Korean catalogue is complete).
command -v xgettext >/dev/null || missing+=(gettext)
# Parses docker-compose.yml without a Docker engine (tests/config/test_deploy.py).
command -v docker-compose >/dev/null || missing+=(docker-compose)
# Fonts for the browser tests' screenshots of the Korean customer page and its 👍/👎 buttons.
if command -v fc-list >/dev/null; then
  [ -n "$(fc-list :lang=ko 2>/dev/null)" ] || missing+=(fonts-nanum)
  fc-list 2>/dev/null | grep -qi emoji || missing+=(fonts-noto-color-emoji)
fi

if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing ${missing[*]} from Debian packages..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
  echo "Installing ${missing[*]} with sudo..."
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]} (install them, or set DATABASE_URL/REDIS_URL)." >&2
fi
