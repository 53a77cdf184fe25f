#!/bin/bash
# vm-run: --no-install --timeout 300
# The memgov package as an admin meets it: `apt-get install ./memgov_*.deb`
# on a host memgovd can govern enables and starts the service, registers the
# journal catalog (systemd's file trigger), ships conffiles, man pages and the
# bash completion; a reinstall keeps an edited conffile; `apt-get purge`
# removes the configuration and leaves no unit behind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin

[[ -n ${MEMGOV_DEB:-} && -f $MEMGOV_DEB ]] || die "no package at MEMGOV_DEB='${MEMGOV_DEB:-}' (run with --no-install)"
assert_false "memgov is not installed before the test" dpkg-query -W memgov
log "package: $(dpkg-deb -f "$MEMGOV_DEB" Package Version Depends | tr '\n' ' ')"

apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" </dev/null 2>&1; }
apt_purge() { DEBIAN_FRONTEND=noninteractive apt-get purge -y -q memgov </dev/null 2>&1; }
catalog_id=7bf5b5e34fdd4f2fb5a3eb4c013fb912

t=$(now_s)
if out=$(apt_install "$MEMGOV_DEB"); then
  pass "apt-get install ./${MEMGOV_DEB##*/} succeeded ($(secs_between "$t" "$(now_s)")s)"
else
  fail "apt-get install failed: $out"
fi
printf '%s\n' "$out" | sed 's/^/    | /'
assert_eq "install ok installed" "$(dpkg-query -W -f '${Status}' memgov 2>&1)" "dpkg status of memgov"
assert_eq enabled "$(systemctl is-enabled memgovd.service 2>&1)" "memgovd.service after install"
wait_for "systemctl is-active --quiet memgovd.service" 30 || true
assert_eq active "$(systemctl is-active memgovd.service 2>&1)" "memgovd.service state after install"
assert_eq "/etc/memgov/memgov.conf" "$(dpkg-query -W -f '${Conffiles}' memgov | awk 'NF { print $1 }')" \
  "conffiles of memgov"
for d in memgov.conf.d users.d groups.d; do
  assert_true "/etc/memgov/$d exists" test -d "/etc/memgov/$d"
done
assert_true "memgovd --check-config accepts the shipped configuration" /usr/sbin/memgovd --check-config
assert_match "^memgovctl " "$(memgovctl --version 2>&1)" "memgovctl --version"
wait_for "test -s /run/memgov/status.json" 30 || true
if out=$(memgovctl status 2>&1); then pass "memgovctl status works"; else fail "memgovctl status: $out"; fi
# The image's dpkg drops /usr/share/man (path-exclude), so look in the .deb.
contents=$(dpkg-deb -c "$MEMGOV_DEB")
for m in man1/memgovctl.1.gz man5/memgov.conf.5.gz man8/memgovd.8.gz; do
  assert_match "/usr/share/man/$m" "$contents" "the package's files"
done
assert_true "bash completion for memgovctl is installed" \
  test -s /usr/share/bash-completion/completions/memgovctl
assert_true "the completion file parses in bash" bash -n /usr/share/bash-completion/completions/memgovctl
# The catalog file alone is not enough: journalctl reads the binary
# /var/lib/systemd/catalog/database, which systemd's trigger rebuilds.
if journalctl --list-catalog "$catalog_id" 2>/dev/null | grep -q "$catalog_id"; then
  pass "the journal catalog knows memgov's message $catalog_id"
else
  fail "journalctl --list-catalog does not know $catalog_id"
fi

# An edited conffile survives a reinstall (dpkg keeps the admin's version).
echo "# edited by the admin" >>/etc/memgov/memgov.conf
echo "MemoryMax=4G" >/etc/memgov/users.d/alice.conf
out=$(apt_install --reinstall "$MEMGOV_DEB") || fail "apt-get install --reinstall failed: $out"
assert_true "the edited memgov.conf is kept on reinstall" grep -q '^# edited by the admin' /etc/memgov/memgov.conf
assert_eq active "$(systemctl is-active memgovd.service 2>&1)" "memgovd.service after reinstall"

t=$(now_s)
if out=$(apt_purge); then
  pass "apt-get purge memgov succeeded ($(secs_between "$t" "$(now_s)")s)"
else
  fail "apt-get purge failed: $out"
fi
printf '%s\n' "$out" | sed 's/^/    | /'
assert_false "memgov is gone from dpkg's database" dpkg-query -W memgov
assert_false "/etc/memgov is removed" test -e /etc/memgov
assert_false "memgovd is not running" pgrep -x memgovd
units=$(systemctl list-unit-files --no-legend 'memgovd*' 2>&1)
assert_eq "" "$units" "unit files named memgovd* after purge"
assert_eq "" "$(systemctl list-units --all --no-legend 'memgovd*' 2>&1)" "loaded units named memgovd* after purge"
assert_eq "" "$(find /etc/systemd /lib/systemd /usr/lib/systemd /run/systemd/system -name 'memgovd*' 2>/dev/null)" \
  "files named memgovd* under the systemd directories"
if journalctl --list-catalog "$catalog_id" 2>/dev/null | grep -q "$catalog_id"; then
  fail "the journal catalog still knows $catalog_id after purge"
else
  pass "the journal catalog entry is gone after purge"
fi
assert_false "/usr/sbin/memgovd is removed" test -e /usr/sbin/memgovd
scenario_end
