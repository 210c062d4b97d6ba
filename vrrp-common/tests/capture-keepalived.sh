#!/bin/sh
# Captures the golden VRRPv3 adverts used by tests/golden.rs from a real keepalived.
#
# Two network namespaces joined by a veth pair: keepalived runs in the first (MASTER, VRID 51
# IPv4 and VRID 52 IPv6, priority 150, advert_int 1, use_vmac so adverts, gratuitous ARPs and
# unsolicited NAs leave from the virtual MAC as RFC 9568 §7.3 requires), tcpdump in the second. Only documentation
# and link-local addresses are used. Namespaces and processes are removed on any exit.
# Needs root, keepalived and tcpdump. Output: $OUT/vrrp.pcap (default /tmp/xvrrp-codec-capture).
set -eu

OUT=${OUT:-/tmp/xvrrp-codec-capture}
NS_ROUTER=xvrrp-codec-router-$$
NS_PROBE=xvrrp-codec-probe-$$
mkdir -p "$OUT"

KEEPALIVED_PID=
TCPDUMP_PID=
cleanup() {
    # Stop only what this script started, by PID, then remove the namespaces.
    [ -n "$KEEPALIVED_PID" ] && kill "$KEEPALIVED_PID" 2>/dev/null && sleep 1
    [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null && sleep 1
    ip netns del "$NS_ROUTER" 2>/dev/null || true
    ip netns del "$NS_PROBE" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

ip netns add "$NS_ROUTER"
ip netns add "$NS_PROBE"
ip -n "$NS_ROUTER" link add veth0 type veth peer name veth1 netns "$NS_PROBE"
# Fixed MACs and no automatic link-local so the captured bytes are reproducible.
ip -n "$NS_ROUTER" link set veth0 address 02:00:00:00:00:01 addrgenmode none
ip -n "$NS_PROBE" link set veth1 address 02:00:00:00:00:02 addrgenmode none
ip -n "$NS_ROUTER" addr add 192.0.2.1/24 dev veth0
ip -n "$NS_PROBE" addr add 192.0.2.2/24 dev veth1
ip -n "$NS_ROUTER" -6 addr add fe80::1/64 dev veth0 nodad
ip -n "$NS_PROBE" -6 addr add fe80::2/64 dev veth1 nodad
ip -n "$NS_ROUTER" link set lo up
ip -n "$NS_PROBE" link set lo up
ip -n "$NS_ROUTER" link set veth0 up
ip -n "$NS_PROBE" link set veth1 up

cat > "$OUT/keepalived.conf" <<CONF
global_defs {
    router_id xvrrp-golden
    vrrp_version 3
}
vrrp_instance golden4 {
    state MASTER
    interface veth0
    virtual_router_id 51
    priority 150
    advert_int 1
    use_vmac
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24
    }
}
vrrp_instance golden6 {
    state MASTER
    interface veth0
    virtual_router_id 52
    priority 150
    advert_int 1
    use_vmac
    virtual_ipaddress {
        fe80::100/64
        2001:db8::100/64
    }
}
CONF

ip netns exec "$NS_PROBE" tcpdump -i veth1 -w "$OUT/vrrp.pcap" -U 'ip proto 112 or ip6 proto 112 or arp or icmp6' \
    >"$OUT/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
sleep 1
ip netns exec "$NS_ROUTER" keepalived -n -l -D -f "$OUT/keepalived.conf" \
    -p "$OUT/keepalived.pid" -r "$OUT/vrrp.pid" >"$OUT/keepalived.log" 2>&1 &
KEEPALIVED_PID=$!
# Bounded wait: a few adverts per family, plus the priority-0 adverts sent on shutdown.
sleep 8
