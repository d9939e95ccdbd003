#!/usr/bin/env python3
"""Generate the epdns benchmark inputs (stdlib only).

For N endpoints x Z zones this writes, into --out DIR:

  epdns.toml          epdns config (VPC, vSwitches, one service per --services, endpoints)
  epdns-admin.toml    the same plus [admin] (only with --admin; for the flap workload)
  zone.db             the SAME names/records as an RFC 1035 zone file (apex = suffix)
  knot.conf           Knot DNS config serving zone.db on 127.0.0.1:<knot port>
  nsd.conf            NSD config serving zone.db on 127.0.0.1:<nsd port>
  q-mixed.txt         dnsperf query file: ~80% endpoint A, ~10% zone-domain A,
                      ~5% NXDOMAIN, ~5% endpoint AAAA
  check.txt           "<name> <type> <sorted answers|NXDOMAIN>" lines that every
                      server must answer identically (source outside every vSwitch)
  bench.env           shell variables for run.sh (ports, suffix, ECS option hex, ...)

Addressing (all loopback; nothing here is routable):
  VPC vpc-bench       127.0.0.0/8
  vSwitch k (k=1..Z)  127.k.0.0/16, IPv6 fd00:k::/64, zone <region>-<letter>
  ENI of endpoint i   127.k.hi.lo with hi.lo = 10 + i (never the first or the
                      last three addresses of the vSwitch), IPv6 fd00:k::<10+i>
The client (dnsperf, source 127.0.0.1) is in no vSwitch, so without ECS every
server must answer the endpoint domain with all Z ENIs.  The "ecs" workload adds
an EDNS Client Subnet option for 127.1.0.0/24 (inside vSwitch 1) to a share of
the queries; epdns then answers with zone 1's ENI only.
"""
import argparse
import ipaddress
import os
import random
import sys

ZONE_LETTERS = "hijklmn"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoints", "-n", type=int, default=10)
    p.add_argument("--zones", type=int, default=3, help="zones (vSwitches) per endpoint, max 7")
    p.add_argument("--services", type=int, default=10, help="services (capped at --endpoints)")
    p.add_argument("--region", default="cn-hangzhou")
    p.add_argument("--suffix", default="privatelink.aliyuncs.com")
    p.add_argument("--ttl", type=int, default=60)
    p.add_argument("--epdns-port", type=int, default=15300)
    p.add_argument("--knot-port", type=int, default=15301)
    p.add_argument("--nsd-port", type=int, default=15302)
    p.add_argument("--queries", type=int, default=100000,
                   help="lines per query file (dnsperf loops over the file)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--admin", metavar="ADDR",
                   help="emit [admin] listen = ADDR (loopback only), for the flap workload")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if not 1 <= a.zones <= len(ZONE_LETTERS):
        p.error("--zones must be 1..%d" % len(ZONE_LETTERS))
    if a.admin and not (a.admin.startswith("127.") or a.admin.startswith("[::1]")):
        p.error("--admin must be a loopback address")
    if not 1 <= a.endpoints <= 250000:
        p.error("--endpoints must be 1..250000 (one /16 per vSwitch up to 60000, a /14 above)")
    a.services = max(1, min(a.services, a.endpoints))
    return a


class Model:
    def __init__(self, a):
        self.a = a
        self.region = a.region
        self.suffix = a.suffix.rstrip(".")
        self.vswitches = []  # (id, zone, cidr4, cidr6)
        # Above 60000 endpoints a /16 per vSwitch is too small: 127.4k.0.0/14.
        wide = a.endpoints > 60000
        for k in range(1, a.zones + 1):
            zone = "%s-%s" % (a.region, ZONE_LETTERS[k - 1])
            self.vswitches.append(("vsw-%s" % zone, zone,
                                   ipaddress.ip_network("127.%d.0.0/14" % (4 * k) if wide
                                                        else "127.%d.0.0/16" % k),
                                   ipaddress.ip_network("fd00:%x::/64" % k)))
        self.services = ["epsrv-bench%03d" % s for s in range(a.services)]
        self.endpoints = []  # (id, service, [(vsw, zone, ip4, ip6)])
        for i in range(a.endpoints):
            off = 10 + i
            enis = []
            for (vid, zone, c4, c6) in self.vswitches:
                ip4 = c4.network_address + off
                ip6 = c6.network_address + off
                # reserved: the first and the last three addresses of the vSwitch
                assert c4.network_address + 3 < ip4 < c4.broadcast_address - 3
                enis.append((vid, zone, str(ip4), str(ip6)))
            self.endpoints.append(("ep-bench%05d" % i, self.services[i % len(self.services)], enis))

    def ep_name(self, ep, svc):
        return "%s.%s.%s.%s" % (ep, svc, self.region, self.suffix)

    def zone_name(self, ep, svc, zone):
        return "%s-%s.%s.%s.%s" % (ep, zone, svc, self.region, self.suffix)


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def q(s):
    return '"%s"' % s


def gen_epdns(m, out):
    a = m.a
    L = []
    L.append("# generated by bench/gen.py: %d endpoints x %d zones" % (a.endpoints, a.zones))
    L.append("[server]")
    L.append("listen = [%s]" % q("127.0.0.1:%d" % a.epdns_port))
    L.append("suffix = %s" % q(m.suffix))
    L.append("ttl = %d" % a.ttl)
    L.append("ecs = true")
    L.append("")
    L.append("[server.soa]   # the same apex as zone.db (Knot/NSD)")
    L.append("ttl = 3600")
    L.append("refresh = 3600")
    L.append("retry = 600")
    L.append("expire = 86400")
    L.append("minimum = %d" % a.ttl)
    L.append("")
    admin_at = len(L)  # epdns-admin.toml = this config plus [admin] here
    # ---- PROBE PLACEHOLDER ------------------------------------------------
    # The benchmark runs without health probing (no [probe] section), so every
    # ENI is served as configured.  When epdns grows a [probe] section, a
    # benchmark "with probes" must target loopback only: every ENI here is a
    # 127.k.x.y address, so an ICMP/TCP probe stays on this host.  Emit it here,
    # e.g. (schema to be confirmed against src/config/):
    #   [probe]
    #   kind = "tcp"
    #   port = 9            # closed loopback port -> ENIs go down; choose accordingly
    #   interval_ms = 1000
    # ----------------------------------------------------------------------
    L.append("[[vpc]]")
    L.append('id = "vpc-bench"')
    L.append("region = %s" % q(m.region))
    L.append('cidrs = ["127.0.0.0/8"]')
    L.append("")
    for (vid, zone, c4, c6) in m.vswitches:
        L.append("[[vswitch]]")
        L.append("id = %s" % q(vid))
        L.append('vpc = "vpc-bench"')
        L.append("zone = %s" % q(zone))
        L.append("cidr = %s" % q(c4))
        L.append("ipv6_cidr = %s" % q(c6))
        L.append("")
    for s in m.services:
        L.append("[[service]]")
        L.append("id = %s" % q(s))
        L.append("region = %s" % q(m.region))
        L.append("zone_affinity = true")
        L.append("dual_stack = true")
        L.append("")
    for (ep, svc, enis) in m.endpoints:
        L.append("[[endpoint]]")
        L.append("id = %s" % q(ep))
        L.append('vpc = "vpc-bench"')
        L.append("service = %s" % q(svc))
        L.append('ip_version = "dual-stack"')
        L.append("zone_affinity = true")
        zs = ", ".join("{ vswitch = %s, ip = %s, ipv6 = %s }" % (q(v), q(i4), q(i6))
                       for (v, _z, i4, i6) in enis)
        L.append("zones = [ %s ]" % zs)
        L.append("")
    write(os.path.join(out, "epdns.toml"), "\n".join(L))
    if a.admin:
        A = ["[admin]   # the flap workload toggles overrides through it",
             "listen = %s" % q(a.admin), ""]
        write(os.path.join(out, "epdns-admin.toml"), "\n".join(L[:admin_at] + A + L[admin_at:]))


def gen_zone(m, out):
    a, sfx = m.a, m.suffix
    L = ["; generated by bench/gen.py: %d endpoints x %d zones" % (a.endpoints, a.zones),
         "$ORIGIN %s." % sfx,
         "$TTL %d" % a.ttl,
         # The apex as epdns builds it from [server] and [server.soa]:
         # SOA ns.<suffix> hostmaster.<suffix>, NS ns.<suffix>, ns.<suffix> A = listen address.
         "@ 3600 IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 %d" % (sfx, sfx, a.ttl),
         "@ 3600 IN NS ns.%s." % sfx,
         "ns 3600 IN A 127.0.0.1"]
    for (ep, svc, enis) in m.endpoints:
        name = m.ep_name(ep, svc) + "."
        for (_v, _z, i4, _i6) in enis:
            L.append("%s IN A %s" % (name, i4))
        for (_v, _z, _i4, i6) in enis:
            L.append("%s IN AAAA %s" % (name, i6))
        for (_v, zone, i4, i6) in enis:
            zn = m.zone_name(ep, svc, zone) + "."
            L.append("%s IN A %s" % (zn, i4))
            L.append("%s IN AAAA %s" % (zn, i6))
    write(os.path.join(out, "zone.db"), "\n".join(L) + "\n")


def gen_knot(m, out):
    d = os.path.abspath(out)
    conf = """# generated by bench/gen.py -- Knot DNS reference, loopback only
server:
    rundir: "{d}/knot-run"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

control:
    listen: "{d}/knot-run/knot.sock"

database:
    storage: "{d}/knot-db"

log:
  - target: stderr
    any: warning

template:
  - id: default
    storage: "{d}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off

zone:
  - domain: {sfx}
    file: "{d}/zone.db"
""".format(d=d, port=m.a.knot_port, sfx=m.suffix)
    write(os.path.join(out, "knot.conf"), conf)


def gen_nsd(m, out):
    d = os.path.abspath(out)
    conf = """# generated by bench/gen.py -- NSD reference, loopback only
server:
    ip-address: 127.0.0.1@{port}
    server-count: 1
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/nsd-run/zone.list"
    xfrdfile: "{d}/nsd-run/xfrd.state"
    pidfile: "{d}/nsd-run/nsd.pid"
    logfile: "{d}/nsd-run/nsd.log"
    verbosity: 0
    hide-version: yes
    # Debian's NSD has response-rate limiting on (200 qps per /24): a loopback
    # load test would be rate-limited into timeouts.  Knot has no RRL unless
    # configured.  Minimal responses: no NS/glue in authority/additional, as Knot.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    minimal-responses: yes
    refuse-any: yes

remote-control:
    control-enable: no

zone:
    name: {sfx}
    zonefile: "{d}/zone.db"
""".format(d=d, port=m.a.nsd_port, sfx=m.suffix)
    write(os.path.join(out, "nsd.conf"), conf)


def gen_queries(m, out):
    a = m.a
    rnd = random.Random(a.seed)
    L = []
    counts = {"ep_a": 0, "zone": 0, "nx": 0, "ep_aaaa": 0}
    for _ in range(a.queries):
        ep, svc, enis = m.endpoints[rnd.randrange(len(m.endpoints))]
        r = rnd.random()
        if r < 0.80:
            L.append("%s A" % m.ep_name(ep, svc)); counts["ep_a"] += 1
        elif r < 0.90:
            zone = enis[rnd.randrange(len(enis))][1]
            L.append("%s %s" % (m.zone_name(ep, svc, zone), "A")); counts["zone"] += 1
        elif r < 0.95:
            L.append("ep-nx%06d.%s.%s.%s A" % (rnd.randrange(10**6), svc, m.region, m.suffix))
            counts["nx"] += 1
        else:
            L.append("%s AAAA" % m.ep_name(ep, svc)); counts["ep_aaaa"] += 1
    write(os.path.join(out, "q-mixed.txt"), "\n".join(L) + "\n")
    return counts


def gen_check(m, out):
    """Sample names with the answer every server must give to a client outside all vSwitches."""
    L = []
    picks = [m.endpoints[0], m.endpoints[-1], m.endpoints[len(m.endpoints) // 2]]
    for (ep, svc, enis) in picks:
        L.append("%s A %s" % (m.ep_name(ep, svc), ",".join(sorted(e[2] for e in enis))))
        L.append("%s AAAA %s" % (m.ep_name(ep, svc), ",".join(sorted(e[3] for e in enis))))
        v, zone, i4, i6 = enis[-1]
        L.append("%s A %s" % (m.zone_name(ep, svc, zone), i4))
        L.append("%s AAAA %s" % (m.zone_name(ep, svc, zone), i6))
    ep, svc, _ = picks[0]
    L.append("ep-nx000001.%s.%s.%s A NXDOMAIN" % (svc, m.region, m.suffix))
    write(os.path.join(out, "check.txt"), "\n".join(L) + "\n")
    # the ECS expectation (epdns only): zone 1's ENI alone
    ep, svc, enis = picks[0]
    return m.ep_name(ep, svc), enis[0][2]


def ecs_hex(net):
    """EDNS option 8 (RFC 7871) payload: family, source prefix, scope 0, truncated address."""
    net = ipaddress.ip_network(net)
    fam = 1 if net.version == 4 else 2
    nbytes = (net.prefixlen + 7) // 8
    addr = net.network_address.packed[:nbytes]
    return "8:%04x%02x%02x%s" % (fam, net.prefixlen, 0, addr.hex())


def main():
    a = parse_args()
    os.makedirs(a.out, exist_ok=True)
    for sub in ("knot-run", "knot-db", "nsd-run"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    m = Model(a)
    gen_epdns(m, a.out)
    gen_zone(m, a.out)
    gen_knot(m, a.out)
    gen_nsd(m, a.out)
    counts = gen_queries(m, a.out)
    ecs_name, ecs_ip = gen_check(m, a.out)
    ecs_net = "%s/24" % m.vswitches[0][2].network_address
    env = {
        "GEN_ENDPOINTS": a.endpoints, "GEN_ZONES": a.zones, "GEN_SUFFIX": m.suffix,
        "EPDNS_PORT": a.epdns_port, "KNOT_PORT": a.knot_port, "NSD_PORT": a.nsd_port,
        "ECS_NET": ecs_net, "ECS_OPT": ecs_hex(ecs_net),
        "ECS_CHECK_NAME": ecs_name, "ECS_CHECK_IP": ecs_ip,
        "FLAP_ENDPOINT": m.endpoints[0][0],
        "FLAP_ENDPOINTS": " ".join(e[0] for e in m.endpoints[:10]), "FLAP_ZONES": " ".join(v[1] for v in m.vswitches),
        "FLAP_VSWITCHES": " ".join(v[0] for v in m.vswitches),
    }
    write(os.path.join(a.out, "bench.env"),
          "".join("%s='%s'\n" % (k, v) for k, v in env.items()))
    total = sum(counts.values())
    sys.stderr.write("gen.py: %d endpoints x %d zones -> %s (%d records); queries: %s\n" % (
        a.endpoints, a.zones, a.out, 3 + len(m.endpoints) * a.zones * 4,
        ", ".join("%s %.1f%%" % (k, 100.0 * v / total) for k, v in counts.items())))


if __name__ == "__main__":
    main()
