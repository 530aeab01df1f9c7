# shellcheck shell=bash
# Sourced by scripts/test. The Prometheus module's tests run Debian's `prometheus` against the
# simulator's /metrics. When it is missing and we may, install it with apt. When it still is
# missing those tests fail, saying so: never skipped.

IDP_PROMETHEUS="${IDP_PROMETHEUS_BIN:-prometheus}"

idp_prometheus() {
  command -v "$IDP_PROMETHEUS" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    idp_log "installing Prometheus with apt-get for the metrics provider's tests"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >&2 ||
      (apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >&2) || true
  fi
  command -v "$IDP_PROMETHEUS" >/dev/null 2>&1 ||
    idp_log "no $IDP_PROMETHEUS on PATH: the Prometheus module's tests will fail (apt-get install -y prometheus, or set IDP_PROMETHEUS_BIN)"
}
