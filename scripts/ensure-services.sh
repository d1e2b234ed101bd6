#!/usr/bin/env bash
# Tests talk to a real PostgreSQL (and, from the events issue on, NATS JetStream). This machine
# kind starts both before a session; a fresh machine or CI run may not, so start them if silent.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }

if [ -z "${TEST_DATABASE_URL:-}" ] && ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "[services] starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  if ! pg_up; then
    echo "[services] PostgreSQL is not reachable on 127.0.0.1:5432." >&2
    echo "  Install it (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16)" >&2
    echo "  or point TEST_DATABASE_URL at a server where the user may CREATE DATABASE." >&2
    exit 1
  fi
fi

if [ -z "${NATS_URL:-}" ] && ! nats_up && command -v nats-server >/dev/null 2>&1; then
  echo "[services] starting nats-server with JetStream" >&2
  mkdir -p /tmp/homeroute-nats
  if command -v start-stop-daemon >/dev/null 2>&1; then
    start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server)" -- \
      -a 127.0.0.1 -p 4222 -js -sd /tmp/homeroute-nats -l /tmp/homeroute-nats/nats.log || true
  else
    nohup nats-server -a 127.0.0.1 -p 4222 -js -sd /tmp/homeroute-nats >/tmp/homeroute-nats/nats.log 2>&1 &
  fi
fi
exit 0
