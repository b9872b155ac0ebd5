#!/usr/bin/env bash
# Makes sure Debian's redis-server is on the PATH for the tests that run against Redis (the cluster's
# shared identity store: test/integration/redis-*.test.ts). Idempotent: does nothing when it is already
# there. Installs Debian's package with apt-get, never a downloaded build. The tests start and stop their
# own redis-server on a free loopback port (test/helpers/redis.ts); the package's own service is not used.
# REDIS_SERVER points the tests at another redis-server binary; then nothing is installed here.
set -euo pipefail

if [ -n "${REDIS_SERVER:-}" ]; then
  if [ -x "$REDIS_SERVER" ]; then
    exit 0
  fi
  echo "ensure-redis: REDIS_SERVER=$REDIS_SERVER is not an executable file" >&2
  exit 1
fi
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-redis: redis-server is missing and installing it needs root." >&2
  echo "  Run as root:  apt-get update && apt-get install -y redis-server" >&2
  echo "  (or set REDIS_SERVER to a redis-server you have)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-redis: redis-server is missing and there is no apt-get here: install Redis 7, or set REDIS_SERVER" >&2
  exit 1
fi

echo "ensure-redis: installing Debian's redis-server package"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d answering 101 keeps apt from starting the packaged service: the tests run their own servers.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server >/dev/null
if ! command -v redis-server >/dev/null 2>&1; then
  echo "ensure-redis: apt-get finished but redis-server is still missing" >&2
  exit 1
fi
echo "ensure-redis: $(redis-server --version)"
