#!/usr/bin/env bash
# Make sure promtool and amtool (monitoring/'s checks) are on PATH: installs Debian's prometheus and
# prometheus-alertmanager packages when missing (as root), and fails with a clear message when it
# cannot. Only the command-line tools are wanted: no service is started.
set -euo pipefail

say() { printf '[monitoring-tools] %s\n' "$*"; }

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
[ ${#missing[@]} -eq 0 ] && { say "promtool and amtool are installed"; exit 0; }

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]}) and run again."
    exit 1
fi
say "installing ${missing[*]} from Debian's packages"
# policy-rc.d answering 101 keeps the packages from starting their services here.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
# make test runs the lab's host tests beside this: wait for the other's apt-get, never fail on its lock.
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v promtool >/dev/null && command -v amtool >/dev/null
say "installed $(promtool --version 2>&1 | head -n 1)"
