#!/usr/bin/env bash
# Installs what the tests need when it is missing (Debian packages, as root):
# PostgreSQL (store), Chromium (browser tests), ngircd (IRC), prosody (XMPP),
# Prometheus, Alertmanager and Graphite (monitors, alerts), git (deployments).
# Called by `make test`; safe to run again.
set -euo pipefail

need=()
have_pg() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && return 0
  done
  return 1
}
have_pg || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ngircd >/dev/null 2>&1 || need+=(ngircd)
command -v prosody >/dev/null 2>&1 || need+=(prosody)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v carbon-cache >/dev/null 2>&1 || need+=(graphite-carbon)
[ -d /usr/share/graphite-web ] || need+=(graphite-web)
/usr/bin/python3 -c 'import gunicorn' >/dev/null 2>&1 || need+=(python3-gunicorn)
command -v git >/dev/null 2>&1 || need+=(git)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "test-deps: installing ${need[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "test-deps: need root to install ${need[*]} (apt-get); install them and run again" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages' own services are not used: the tests start their own servers.
for svc in ngircd prosody prometheus prometheus-alertmanager prometheus-node-exporter carbon-cache; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
