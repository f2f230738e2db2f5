#!/usr/bin/env bash
# Watch the inbox of batch folders with the production profile (deploy/production.env): deploy/gov-sync.service.
#   GOV_DB_URL=postgresql+psycopg://gov@db/gov deploy/run-sync.sh [--once] [--interval S]
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -n "${GOV_DB_URL:-}" ]] || { echo "run-sync: GOV_DB_URL is not set (the production database)" >&2; exit 2; }
# shellcheck source=deploy/profile.sh
source deploy/profile.sh  # the production profile; a variable already set keeps its value
PYTHON="${PYTHON:-python}"
exec "$PYTHON" -m data_access sync --watch "${GOV_SYNC_INBOX:-/var/lib/gov/inbox}" "$@"
