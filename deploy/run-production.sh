#!/usr/bin/env bash
# Start one app process with the production profile (deploy/production.env).
#   GOV_DB_URL=postgresql+psycopg://gov@db/gov GOV_COOKIE_SECRET=$(cat /etc/gov/cookie_secret) \
#   GOV_ALLOWED_HOSTS=dashboard.example.gov.cn deploy/run-production.sh [--server.port 8501]
# Every replica behind the load balancer gets the same GOV_COOKIE_SECRET; the balancer checks
# http://<host>:<port>/_stcore/health (200 "ok" once the server is up; 503 "unhealthy: <reason>" while the
# database cannot be read).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "run-production: $*" >&2; exit 2; }
[[ -n "${GOV_DB_URL:-}" ]] || die "GOV_DB_URL is not set (the production database, e.g. postgresql+psycopg://user@host/db)"
secret="${GOV_COOKIE_SECRET:-}"
[[ ${#secret} -ge 32 ]] || die "GOV_COOKIE_SECRET must be set to at least 32 random characters, the same on every replica (e.g. openssl rand -hex 32)"

# shellcheck source=deploy/profile.sh
source deploy/profile.sh  # the production profile; a variable already set keeps its value
export STREAMLIT_SERVER_COOKIE_SECRET="$GOV_COOKIE_SECRET"
if [[ -n "${GOV_ALLOWED_HOSTS:-}" ]]; then  # DNS-rebinding protection: the host names users type
  export STREAMLIT_SERVER_ALLOWED_HOSTS="[$(sed 's/[^,][^,]*/"&"/g' <<<"$GOV_ALLOWED_HOSTS")]"
fi
PYTHON="${PYTHON:-python}"
# Never serve a missing or empty database: no demo data is built here, so one is a wrong GOV_DB_URL, a file that
# vanished, or data never loaded (python -m data_access ready says which; exit code 6).
"$PYTHON" -m data_access ready >/dev/null || die "refusing to start: the database is missing or empty (see above)"
exec "$PYTHON" -m streamlit run app.py --server.address "${GOV_LISTEN_ADDRESS:-127.0.0.1}" "$@"
