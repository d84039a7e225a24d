#!/usr/bin/env bash
# Starts the local PostgreSQL cluster if it is installed and not running, so the storage tests
# also run against PostgreSQL. Prints the URL to use, or nothing when there is no PostgreSQL.
set -uo pipefail
command -v pg_lsclusters >/dev/null 2>&1 || exit 0
version=$(ls /etc/postgresql 2>/dev/null | head -n1)
[[ -n "$version" ]] || exit 0
if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
fi
for _ in $(seq 1 30); do
  if psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    echo "postgres://postgres@127.0.0.1:5432/test"
    exit 0
  fi
  sleep 1
done
