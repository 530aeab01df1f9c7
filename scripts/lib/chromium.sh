# shellcheck shell=bash
# Sourced by scripts/test. The end-to-end tests (packages/e2e-tests) drive Debian's Chromium
# through playwright-core; Playwright never downloads a browser here. When it is missing and we
# may, install it with apt. When it still is missing the e2e tests fail, saying so: never skipped.

IDP_CHROMIUM="${IDP_E2E_CHROMIUM:-/usr/bin/chromium}"

idp_chromium() {
  [ -x "$IDP_CHROMIUM" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    idp_log "installing Chromium with apt-get for the end-to-end tests"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2 ||
      (apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2) || true
  fi
  [ -x "$IDP_CHROMIUM" ] ||
    idp_log "no Chromium at $IDP_CHROMIUM: the end-to-end tests will fail (apt-get install -y chromium, or set IDP_E2E_CHROMIUM)"
}
