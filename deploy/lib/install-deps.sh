# shellcheck shell=bash
# Installs the Debian packages the project needs to build, test and run its
# local stack. Sourced by tests/run.sh and deploy/quickstart.sh (needs
# deploy/lib/common.sh). Nothing is done when every package is installed.

# One entry per need; "a|b|c" means any of them will do and `a` is the one
# installed when none is present (the JDK: Debian's default-jdk-headless is
# OpenJDK 17 on bookworm, which may already be there under its own name).
OC_DEBIAN_PACKAGES=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev libpq-dev libjansson-dev libsodium-dev libcmocka-dev
  libsystemd-dev libmicrohttpd-dev libcurl4-openssl-dev
  kcat clang libclang-rt-14-dev clang-format valgrind jq python3 procps iproute2 openssl
  postgresql-15
  prometheus # promtool: checks and tests deploy/prometheus/outcomes.rules.yml
  "default-jdk-headless|openjdk-17-jdk-headless|openjdk-17-jre-headless"
  maven
)

# oc_pkg_installed PKG: true when dpkg says PKG is installed.
oc_pkg_installed() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == "installed" ]]
}

# oc_missing_packages: prints the packages to install, one per line.
oc_missing_packages() {
  local entry alt found
  local -a alts
  for entry in "${OC_DEBIAN_PACKAGES[@]}"; do
    IFS='|' read -r -a alts <<<"$entry"
    found=0
    for alt in "${alts[@]}"; do
      if oc_pkg_installed "$alt"; then
        found=1
        break
      fi
    done
    if [[ "$found" -eq 0 ]]; then
      printf '%s\n' "${alts[0]}"
    fi
  done
}

# oc_apt_step NAME HINT LOG CMD...: runs CMD, its output appended to LOG,
# and prints one line: "packages: NAME: ok (N s)". When CMD fails: the end
# of LOG, then an error naming the step, HINT (may be empty) and LOG's path
# (exit 1).
oc_apt_step() {
  local name="$1" hint="$2" log="$3" t0 rc=0
  shift 3
  t0="$(oc_now)"
  printf '\n$ %s\n' "$*" >>"$log"
  "$@" </dev/null >>"$log" 2>&1 || rc=$?
  if [[ "$rc" -ne 0 ]]; then
    tail -n 20 "$log" | sed 's/^/    /' >&2
    oc_die "packages: ${name} failed (status ${rc})${hint:+ (${hint})}; full log: ${log}"
  fi
  oc_info "packages: ${name}: ok ($(oc_elapsed "$t0") s)"
}

# oc_install_deps: installs whatever is missing with apt-get (as root, or
# through `sudo -n` when that works without a password); otherwise fails
# with the command to run. apt-get's output goes to a log file
# (OC_INSTALL_LOG, default a new file in ${TMPDIR:-/tmp}): one line per
# step on the terminal, and the log's path when a step fails.
oc_install_deps() {
  local -a missing sudo_cmd=()
  local log
  if ! oc_have dpkg-query; then
    oc_die "dpkg-query not found: this installer needs Debian or Ubuntu; install by hand: ${OC_DEBIAN_PACKAGES[*]}"
  fi
  mapfile -t missing < <(oc_missing_packages)
  if [[ "${#missing[@]}" -eq 0 ]]; then
    oc_info "packages: all ${#OC_DEBIAN_PACKAGES[@]} required Debian packages are installed"
    return 0
  fi
  if ! oc_is_root; then
    if oc_have sudo && sudo -n true 2>/dev/null; then
      sudo_cmd=(sudo -n)
    else
      oc_die "missing Debian packages; run as root: apt-get update && apt-get install -y ${missing[*]}"
    fi
  fi
  log="${OC_INSTALL_LOG:-}"
  if [[ -z "$log" ]]; then
    log="$(mktemp "${TMPDIR:-/tmp}/outcomes-install.XXXXXX")" || oc_die "packages: cannot create a log file"
  fi
  oc_info "packages: installing ${missing[*]} (apt-get output in ${log})"
  export DEBIAN_FRONTEND=noninteractive
  oc_apt_step "apt-get update" "is a Debian mirror reachable?" "$log" \
    "${sudo_cmd[@]}" apt-get update -q
  oc_apt_step "apt-get install (${#missing[@]} packages)" "" "$log" \
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}
