# Sourced by deploy/run-production.sh and deploy/run-sync.sh: the production profile (deploy/production.env)
# exported.  Its values are defaults: a variable already set in the service's environment (a systemd
# Environment= line, say GOV_REFRESH_SECONDS=30) keeps its value.  The profile is sourced by bash, not read as a
# systemd EnvironmentFile: its values carry trailing comments, which systemd would keep as part of the value.
declare -A own
while IFS='=' read -r key _; do
  [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ && -n "${!key+x}" ]] && own[$key]="${!key}"
done < deploy/production.env
set -a
# shellcheck disable=SC1091
source deploy/production.env
set +a
for key in "${!own[@]}"; do export "$key=${own[$key]}"; done
unset own
