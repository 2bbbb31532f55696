# Sourced by the provision-*.sh scripts that build a Go tool into the cache: the parts they share.
# The caller sets FIND_ONLY (0/1) and defines say() (its progress lines, on stderr).

# cached_or_stop BIN WHAT: print BIN and exit 0 when it is built; exit 3 under --find-only when it is not.
cached_or_stop() {
  if [ -x "$1" ]; then
    say "using $2 from $1"
    echo "$1"
    exit 0
  fi
  if [ "$FIND_ONLY" = 1 ]; then
    say "$2 is not built yet (not building: --find-only)"
    exit 3
  fi
}

# require_go WHAT: exit 1 with a clear message when Go is not installed.
require_go() {
  if ! command -v go >/dev/null 2>&1; then
    say "ERROR: Go is missing to build $1 (install Go >= 1.26.6: https://go.dev/dl/)."
    exit 1
  fi
}

# with_progress COMMAND...: run it niced in the background, saying every 20 s that it still runs; its status.
with_progress() {
  local start pid
  start=$(date +%s)
  CGO_ENABLED=0 nice -n 10 "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    kill -0 "$pid" 2>/dev/null && say "  still compiling ($(( $(date +%s) - start ))s elapsed)"
  done
  wait "$pid" || { local status=$?; say "the build failed (exit $status)"; return "$status"; }
  say "built in $(( $(date +%s) - start ))s"
}
