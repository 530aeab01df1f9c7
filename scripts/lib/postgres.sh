# shellcheck shell=bash
# Sourced by scripts/test. Exports BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING, pointing
# at a PostgreSQL where the tests may create databases:
#   1. the variable, when already set (it must answer);
#   2. the server on 127.0.0.1:5432, when one answers;
#   3. otherwise a private, throw-away server started here (installed with apt when missing).
# When none can be had it stops the run: store tests never silently run on SQLite alone.

IDP_PG_VAR=BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING

_idp_pg_answers() {
  node "$IDP_ROOT/scripts/lib/pg-check.mjs" "$1" >/dev/null 2>&1
}

_idp_pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

_idp_pg_free_port() {
  local port
  for port in $(seq 54329 54429); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

_idp_pg_start_private() {
  local bindir port dir runas=()
  bindir="$(_idp_pg_bindir)" || {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      idp_log "installing PostgreSQL with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
        (apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2)
    fi
    bindir="$(_idp_pg_bindir)"
  } || return 1
  port="$(_idp_pg_free_port)" || return 1
  dir="$(mktemp -d "${TMPDIR:-/tmp}/idp-test-pg.XXXXXX")"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres || return 1
    chown postgres "$dir"
    runas=(su postgres -s /bin/bash -c)
  else
    runas=(bash -c)
  fi
  idp_log "starting a private PostgreSQL ($bindir) on 127.0.0.1:$port"
  "${runas[@]}" "'$bindir/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 >'$dir/initdb.log' 2>&1" || {
    cat "$dir/initdb.log" >&2
    return 1
  }
  "${runas[@]}" "'$bindir/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300\" start >/dev/null" || {
    cat "$dir/server.log" >&2
    return 1
  }
  IDP_PG_PRIVATE_DIR="$dir"
  trap '_idp_pg_stop_private' EXIT
  export "$IDP_PG_VAR=postgresql://postgres@127.0.0.1:$port"
  _idp_pg_answers "${!IDP_PG_VAR}"
}

_idp_pg_stop_private() {
  [ -n "${IDP_PG_PRIVATE_DIR:-}" ] || return 0
  local bindir
  bindir="$(_idp_pg_bindir)"
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/bash -c "'$bindir/pg_ctl' -D '$IDP_PG_PRIVATE_DIR/data' -m immediate stop" >/dev/null 2>&1
  else
    "$bindir/pg_ctl" -D "$IDP_PG_PRIVATE_DIR/data" -m immediate stop >/dev/null 2>&1
  fi
  rm -rf "$IDP_PG_PRIVATE_DIR"
}

idp_postgres() {
  if [ -n "${!IDP_PG_VAR:-}" ]; then
    _idp_pg_answers "${!IDP_PG_VAR}" || idp_die "$IDP_PG_VAR is set but PostgreSQL does not answer there"
    idp_log "PostgreSQL for tests: \$$IDP_PG_VAR"
  elif _idp_pg_answers "postgresql://postgres@127.0.0.1:5432"; then
    export "$IDP_PG_VAR=postgresql://postgres@127.0.0.1:5432"
    idp_log "PostgreSQL for tests: the server on 127.0.0.1:5432"
  else
    _idp_pg_start_private || idp_die "no PostgreSQL for the tests: none on 127.0.0.1:5432 and a private one could not be started. Set $IDP_PG_VAR to a server where the tests may create databases."
  fi
}
