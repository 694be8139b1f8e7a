#!/usr/bin/env bash
# setup.sh — makes sure the real components weft's tests and lab use are on this machine.
#
# Run by `npm test` and `npm start` before anything else. For each component it probes for the
# command the project actually runs; when everything is present it returns without calling apt.
# When something is missing and we are root on Debian/Ubuntu with apt, it installs exactly the
# missing packages (saying so); otherwise it prints what is missing and how to get it, and fails.
#
# It deliberately does not start any service: packages such as etcd-server, bird2 and frr ship
# init scripts, and a daemon listening in the host namespace would interfere with the tests, which
# start their own instances inside namespaces they create.
set -euo pipefail

# package  probe (a command, or a path that must exist)
components=(
  "iproute2 ip"
  "iproute2 bridge"
  "etcd-server etcd"
  "etcd-client etcdctl"
  "containernetworking-plugins /usr/lib/cni/bridge"
  "containernetworking-plugins /usr/lib/cni/host-local"
  "bird2 bird"
  "bird2 birdc"
  "frr /usr/lib/frr/bgpd"
  "frr vtysh"
  "gobgpd gobgpd"
  "gobgpd gobgp"
  "iperf3 iperf3"
  "iputils-ping ping"
  "tcpdump tcpdump"
  "nftables nft"
  "iptables iptables"
  "kubernetes-client kubectl"
)

PATH="$PATH:/usr/sbin:/sbin"
missing=()
for entry in "${components[@]}"; do
  pkg=${entry%% *}
  probe=${entry#* }
  if [[ $probe == /* ]]; then
    [[ -e $probe ]] && continue
  else
    command -v "$probe" >/dev/null 2>&1 && continue
  fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  [[ ${WEFT_SETUP_QUIET:-} == 1 ]] || echo "setup: all system components present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing system packages: ${missing[*]}" >&2
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: this machine has no apt-get; install the equivalents of those Debian packages with your package manager" >&2
  else
    echo "setup: as root, run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
  exit 1
fi

echo "setup: installing ${missing[*]} (apt-get, as root)"
# Keep packages' init scripts from starting daemons in the host namespace (see header).
created_policy=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { [[ $created_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d; return 0; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt_log=$(mktemp /tmp/weft-setup-apt.XXXXXX)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
  echo "setup: apt-get failed; its output:" >&2
  tail -n 40 "$apt_log" >&2
  rm -f "$apt_log"
  exit 1
fi
rm -f "$apt_log"
echo "setup: installed ${missing[*]}"
