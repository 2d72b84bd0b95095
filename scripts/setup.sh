#!/usr/bin/env bash
# Everything podnet needs on a fresh Debian 12 machine, as root: idempotent, quiet when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pair in python3-venv:/usr/lib/python3.11/venv python3-dev:/usr/include/python3.11/Python.h \
            etcd-server:/usr/bin/etcd nftables:/usr/sbin/nft iptables:/usr/sbin/iptables \
            iproute2:/usr/sbin/ip dnsutils:/usr/bin/dig conntrack:/usr/sbin/conntrack curl:/usr/bin/curl \
            util-linux:/usr/bin/nsenter dnsmasq-base:/usr/sbin/dnsmasq iputils-ping:/usr/bin/ping \
            iperf3:/usr/bin/iperf3 dnsperf:/usr/bin/dnsperf containernetworking-plugins:/usr/lib/cni/bridge; do
  pkg=${pair%%:*}; path=${pair#*:}
  [ -e "$path" ] || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The Debian etcd-server package starts a system etcd on 2379; podnet runs its own
# etcd processes on free ports and never needs that one.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
fi
if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: kubectl not found; installing Debian's kubernetes-client" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null 2>&1 \
    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null
fi

# /usr/bin/python3 on purpose: not a pyenv shim (110 ms per start, KERNEL-NOTES #11).
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv .venv
fi
stamp=.venv/.podnet-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi
# PYTHONDONTWRITEBYTECODE is set in this environment: compile our modules once, at install time.
.venv/bin/python -m compileall -q podnet >/dev/null
