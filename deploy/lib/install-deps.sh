# shellcheck shell=bash
# Installs the Debian packages the project needs to build, test and run its
# local stack. Sourced by tests/run.sh and deploy/quickstart.sh (needs
# deploy/lib/common.sh). Nothing is done when every package is installed.

# One entry per need; "a|b|c" means any of them will do and `a` is the one
# installed when none is present (the JDK: Debian's default-jdk-headless is
# OpenJDK 17 on bookworm, which may already be there under its own name).
OC_DEBIAN_PACKAGES=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev libpq-dev libjansson-dev libcmocka-dev
  libsystemd-dev libmicrohttpd-dev
  kcat clang libclang-rt-14-dev clang-format valgrind jq python3 procps openssl
  postgresql-15
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

# oc_install_deps: installs whatever is missing with apt-get (as root, or
# through `sudo -n` when that works without a password); otherwise fails
# with the command to run.
oc_install_deps() {
  local -a missing sudo_cmd=()
  if ! oc_have dpkg-query; then
    oc_die "dpkg-query not found: this installer needs Debian or Ubuntu; install by hand: ${OC_DEBIAN_PACKAGES[*]}"
  fi
  mapfile -t missing < <(oc_missing_packages)
  if [[ "${#missing[@]}" -eq 0 ]]; then
    oc_info "packages: all ${#OC_DEBIAN_PACKAGES[@]} required Debian packages are installed"
    return 0
  fi
  oc_info "packages: missing ${missing[*]}"
  if ! oc_is_root; then
    if oc_have sudo && sudo -n true 2>/dev/null; then
      sudo_cmd=(sudo -n)
    else
      oc_die "missing Debian packages; run as root: apt-get update && apt-get install -y ${missing[*]}"
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q ||
    oc_die "apt-get update failed (is a Debian mirror reachable?)"
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    oc_die "apt-get install failed for: ${missing[*]}"
}
