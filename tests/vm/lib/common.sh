# shellcheck shell=bash
# Host-side helpers shared by tests/vm/{build-image,run,scenario,demo}.
# Sourced, never executed.
# shellcheck disable=SC2034 # variables are used by the sourcing scripts

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${MEMGOV_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/memgov-vm}

# The guest's Debian suite: bookworm (Debian 12) unless MEMGOV_VM_SUITE says
# otherwise; --suite options set that variable for what they call.
vm_suite() { echo "${MEMGOV_VM_SUITE:-bookworm}"; }

# Progress and errors go to stderr; stdout is reserved for results.
_vm_t0=${_vm_t0:-$(date +%s.%N)}
vm_elapsed() { awk -v a="$_vm_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%6.1f", b - a }'; }
msg() { printf '[memgov-vm %ss] %s\n' "$(vm_elapsed)" "$*" >&2; }
warn() { printf '[memgov-vm] WARNING: %s\n' "$*" >&2; }
die() { printf '[memgov-vm] ERROR: %s\n' "$*" >&2; exit "${DIE_STATUS:-125}"; }

# header_help FILE: print FILE's leading comment block (after the #! line).
header_help() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"; }

# Wall-clock seconds since the epoch, with decimals.
# closing_fds CMD...: run CMD with none of this shell's descriptors above 2.
# mmdebstrap's apt hooks run `cat >&N` under dash, which takes only N <= 9,
# and its pipes get the lowest free numbers: with our lock fds (8, 9) and a
# caller's held open, they land above 9 and the bootstrap fails with "Bad fd
# number". Locks stay held: the caller keeps its own copies open.
closing_fds() {
  (
    local f
    for f in /proc/"$BASHPID"/fd/*; do
      f=${f##*/}
      ((f > 2 && f != 255)) && eval "exec $f>&-"
    done
    exec "$@"
  )
}
now() { date +%s.%N; }
# secs_since START -> "12.3"
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# Host tools the harness needs, with the Debian package that provides each.
VM_HOST_TOOLS=(
  "qemu-system-x86_64:qemu-system-x86"
  "qemu-img:qemu-utils"
  "mmdebstrap:mmdebstrap"
  "busybox:busybox-static"
  "cpio:cpio"
  "modprobe:kmod"
  "depmod:kmod"
  "mke2fs:e2fsprogs"
  "mkswap:util-linux"
  "flock:util-linux"
  "apt-get:apt"
  "dpkg-deb:dpkg"
  "sha256sum:coreutils"
  "timeout:coreutils"
  "cc:gcc"
  "meson:meson"
  "ninja:ninja-build"
  "dpkg-buildpackage:dpkg-dev"
  "dh:debhelper"
  "unshare:util-linux"
)

# check_host_tools [TOOL...]: fail loudly, naming the packages, if any is missing.
check_host_tools() {
  local want=("$@") missing=() pkgs=() entry tool pkg
  for entry in "${VM_HOST_TOOLS[@]}"; do
    tool=${entry%%:*} pkg=${entry#*:}
    if ((${#want[@]})); then
      [[ " ${want[*]} " == *" $tool "* ]] || continue
    fi
    if ! command -v "$tool" >/dev/null 2>&1; then
      missing+=("$tool") pkgs+=("$pkg")
    fi
  done
  if ((${#missing[@]})); then
    die "missing host tools: ${missing[*]} (Debian packages: $(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' ')). Run tests/vm/install-deps as root."
  fi
  # busybox must be the static build: it is copied into the initramfs.
  if [[ " ${want[*]:-busybox} " == *" busybox "* ]] && ! busybox_static_path >/dev/null; then
    die "no statically linked busybox found (Debian package busybox-static). Run tests/vm/install-deps as root."
  fi
}

busybox_static_path() {
  local b
  for b in /bin/busybox /usr/bin/busybox; do
    [[ -x $b ]] || continue
    # ldd fails on a static binary ("not a dynamic executable").
    if ! LC_ALL=C ldd "$b" >/dev/null 2>&1; then
      echo "$b"
      return 0
    fi
  done
  return 1
}
