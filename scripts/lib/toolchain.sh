# shellcheck shell=bash
# Sourced by scripts/start, scripts/test and .ci/run. Makes sure Node 22+ and yarn 4 are on
# PATH (fetching them from the npm registry this machine is configured for when missing),
# then installs the workspace's packages. Nothing it downloads is written into the repository.
#
#   IDP_TOOLCHAIN_DIR   where a fetched Node and yarn live (default ~/.cache/idp-multicloud/toolchain)
#   IDP_SKIP_INSTALL=1  skip `yarn install` (the caller knows node_modules is current)

IDP_ROOT="${IDP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
IDP_NODE_VERSION="${IDP_NODE_VERSION:-24.21.0}"
IDP_YARN_VERSION="$(sed -n 's/.*"packageManager": *"yarn@\([^"]*\)".*/\1/p' "$IDP_ROOT/package.json")"
IDP_TOOLCHAIN_DIR="${IDP_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/idp-multicloud/toolchain}"

idp_log() { printf '\033[1m[idp]\033[0m %s\n' "$*" >&2; }
idp_die() { printf '\033[1;31m[idp] %s\033[0m\n' "$*" >&2; exit 1; }

_idp_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

_idp_fetch_toolchain() {
  command -v npm >/dev/null 2>&1 || idp_die "npm is needed to fetch Node $IDP_NODE_VERSION and yarn $IDP_YARN_VERSION; install Node.js (any version) first."
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) idp_die "no Node package for architecture $(uname -m); install Node 22+ yourself." ;;
  esac
  idp_log "fetching Node $IDP_NODE_VERSION and yarn $IDP_YARN_VERSION into $IDP_TOOLCHAIN_DIR"
  mkdir -p "$IDP_TOOLCHAIN_DIR"
  npm install --prefix "$IDP_TOOLCHAIN_DIR" --no-save --no-package-lock --no-audit --no-fund \
    --loglevel=error "node-linux-$arch@$IDP_NODE_VERSION" "@yarnpkg/cli-dist@$IDP_YARN_VERSION" >&2 ||
    idp_die "could not fetch the toolchain from the npm registry"
  mkdir -p "$IDP_TOOLCHAIN_DIR/bin"
  ln -sf "../node_modules/node-linux-$arch/bin/node" "$IDP_TOOLCHAIN_DIR/bin/node"
  cat >"$IDP_TOOLCHAIN_DIR/bin/yarn" <<SHIM
#!/bin/sh
exec "$IDP_TOOLCHAIN_DIR/bin/node" "$IDP_TOOLCHAIN_DIR/node_modules/@yarnpkg/cli-dist/bin/yarn.js" "\$@"
SHIM
  chmod +x "$IDP_TOOLCHAIN_DIR/bin/yarn"
}

idp_toolchain() {
  # A fetched toolchain, when present, wins over an older system Node.
  if [ -x "$IDP_TOOLCHAIN_DIR/bin/node" ]; then
    export PATH="$IDP_TOOLCHAIN_DIR/bin:$PATH"
  fi
  local have_yarn=""
  if command -v yarn >/dev/null 2>&1 && [ "$(yarn --version 2>/dev/null | cut -d. -f1)" = "${IDP_YARN_VERSION%%.*}" ]; then
    have_yarn=1
  fi
  if [ "$(_idp_node_major)" -lt 22 ] || [ -z "$have_yarn" ]; then
    _idp_fetch_toolchain
    export PATH="$IDP_TOOLCHAIN_DIR/bin:$PATH"
  fi
  [ "$(_idp_node_major)" -ge 22 ] || idp_die "Node 22 or newer is required (found $(node --version 2>/dev/null))"
  # npm on some machines is configured to build addons against the system Node's headers;
  # that would be the wrong ABI for the Node we run.
  npm_config_nodedir="$(node -p 'require("path").resolve(process.execPath, "../..")')"
  export npm_config_nodedir
  idp_log "node $(node --version), yarn $(yarn --version)"
}

idp_install() {
  [ "${IDP_SKIP_INSTALL:-}" = 1 ] && return 0
  local log flags=()
  log="$(mktemp "${TMPDIR:-/tmp}/idp-install.XXXXXX.log")"
  # In CI yarn.lock must already match package.json.
  [ -n "${CI:-}" ] && flags=(--immutable)
  idp_log "yarn install ${flags[*]:-} (log: $log)"
  if ! yarn install "${flags[@]}" >"$log" 2>&1; then
    grep -E 'YN0001|YN0028|YN0082|Error' "$log" >&2 || tail -40 "$log" >&2
    idp_die "yarn install failed; the whole log is in $log"
  fi
  rm -f "$log"
}
