#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing (called by `npm test`, first step).
#   chromium                 the browser the UI tests drive (Playwright, executablePath /usr/bin/chromium)
#   build-essential, python3 node-gyp's tools for code-server's native modules
#   libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev   headers those native modules build against
#   python3-debugpy          the Python debug adapter the debug tests launch
#   python3-ipykernel python3-jupyter-client   a real Jupyter kernel and client for the notebook tests (/usr/bin/python3)
#   procps                   ps/kill used by tests
# As root it installs what is missing (apt-get); otherwise it prints the one command to run and exits 1.
# On a machine without dpkg (macOS, other Linux) it says so and leaves the set-up to the user.
# Env: CARBON_METER_SKIP_SYSTEM_PACKAGES=1 skips this step (you installed them another way).
set -euo pipefail
log() { printf '[system-packages] %s\n' "$*"; }

pkgs=(chromium build-essential python3 libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev python3-debugpy python3-ipykernel python3-jupyter-client procps)
extra=("$@")
pkgs+=("${extra[@]}")

if [[ "${CARBON_METER_SKIP_SYSTEM_PACKAGES:-}" == 1 ]]; then
  log "skipped (CARBON_METER_SKIP_SYSTEM_PACKAGES=1)"; exit 0
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  log "no dpkg on this machine: install by hand the equivalents of: ${pkgs[*]}"; exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "all present (${#pkgs[@]} packages)"; exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  log "missing: ${missing[*]}. Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  exit 1
fi
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
t=$SECONDS
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
log "installed in $((SECONDS - t)) s"
