#!/usr/bin/env bash
# Install the servers the tests start on 127.0.0.1 (idempotent; Debian/Ubuntu).
#   prosody     XMPP server (tests/connectors, tests/live; required with TUTELA_REQUIRE_SERVERS=1)
#   postgresql  a throwaway cluster for the store contract tests (.ci/postgres.sh)
#   chromium    headless browser for the dashboard's Playwright tests (never `playwright install`)
#   openssl     a local RFC 3161 timestamp authority for the evidence tests
#   ngircd      strict IRC server (the IRC ordering/decoding tests run against it too)
#   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core  WeasyPrint (report.pdf)
# miniircd (IRC) is a pip test dependency: `pip install -e '.[test]'` provides it.
# No service is enabled or started here: tests start their own servers (tests/servers.py).
set -euo pipefail

packages=(prosody postgresql chromium openssl ngircd libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts packaged daemons on install where an init system runs: stop them, the tests
  # use their own configuration, port and data on 127.0.0.1.
  for p in "${missing[@]}"; do
    $SUDO service "$p" stop >/dev/null 2>&1 || true
  done
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi

command -v prosody >/dev/null && command -v prosodyctl >/dev/null
command -v chromium >/dev/null
command -v ngircd >/dev/null || test -x /usr/sbin/ngircd
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
echo "install-services: ${packages[*]} present"
