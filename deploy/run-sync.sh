#!/usr/bin/env bash
# Watch the inbox of batch folders with the production profile (deploy/production.env): deploy/gov-sync.service.
#   GOV_DB_URL=postgresql+psycopg://gov@db/gov deploy/run-sync.sh [--once] [--interval S]
# The profile is sourced by bash, not read as a systemd EnvironmentFile: its values carry trailing comments,
# which systemd would keep as part of the value.
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -n "${GOV_DB_URL:-}" ]] || { echo "run-sync: GOV_DB_URL is not set (the production database)" >&2; exit 2; }
# The profile's values are defaults: a variable already set in the service's environment keeps its value.
declare -A own
while IFS='=' read -r key _; do
  [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ && -n "${!key+x}" ]] && own[$key]="${!key}"
done < deploy/production.env
set -a
# shellcheck disable=SC1091
source deploy/production.env
set +a
for key in "${!own[@]}"; do export "$key=${own[$key]}"; done
PYTHON="${PYTHON:-python}"
exec "$PYTHON" -m data_access sync --watch "${GOV_SYNC_INBOX:-/var/lib/gov/inbox}" "$@"
