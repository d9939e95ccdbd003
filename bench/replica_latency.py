#!/usr/bin/env python3
"""Write-to-answer on every replica: a change made through one replica's
control API, timed until each replica's DNS answers it.

Usage (replicas sharing one etcd state, loopback only; see replicas.sh):
  replica_latency.py --api 127.0.0.1:18080 --dns 127.0.0.1:15310,127.0.0.1:15311,127.0.0.1:15312 --writes 50

For each of --writes CreateVpcEndpoint calls (three zones, addresses chosen
by epdns, round robin over the --api addresses when several are given) it
polls the new endpoint domain on every --dns address every 0.5 ms and times
reply -> answered there; "all" is the slowest replica of each write.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_latency import query, stats  # noqa: E402

from alibabacloud_privatelink20200415 import models as m  # noqa: E402
from alibabacloud_privatelink20200415.client import Client  # noqa: E402
from alibabacloud_tea_openapi.models import Config  # noqa: E402


def addr(s):
    host, port = s.rsplit(":", 1)
    assert host.startswith("127."), "loopback only"
    return host, int(port)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True, help="comma-separated control API addresses")
    p.add_argument("--dns", required=True, help="comma-separated DNS addresses, one per replica")
    p.add_argument("--writes", type=int, default=50)
    p.add_argument("--service", default="epsrv-bench000")
    p.add_argument("--vpc", default="vpc-bench")
    a = p.parse_args()
    apis = a.api.split(",")
    for api in apis:
        addr(api)
    dns = [addr(d) for d in a.dns.split(",")]
    clients = [Client(Config(access_key_id="lab-key", access_key_secret="lab-secret",
                             region_id="cn-hangzhou", endpoint=api, protocol="http"))
               for api in apis]
    zones = [m.CreateVpcEndpointRequestZone(zone_id=f"cn-hangzhou-{z}", v_switch_id=f"vsw-cn-hangzhou-{z}")
             for z in "hij"]
    calls, per_replica, everywhere = [], [[] for _ in dns], []
    for i in range(a.writes):
        c = clients[i % len(clients)]
        t0 = time.perf_counter()
        r = c.create_vpc_endpoint(m.CreateVpcEndpointRequest(
            region_id="cn-hangzhou", vpc_id=a.vpc, service_id=a.service,
            security_group_id=["sg-1"], zone=zones))
        replied = time.perf_counter()
        calls.append(replied - t0)
        name = r.body.endpoint_domain
        pending = set(range(len(dns)))
        while pending:
            if time.perf_counter() - replied > 30:
                raise SystemExit(f"{name}: not answered by replicas {sorted(pending)} within 30 s")
            for k in sorted(pending):
                rc, n = query(dns[k], name)
                if rc == 0 and n == 3:
                    per_replica[k].append(time.perf_counter() - replied)
                    pending.discard(k)
            time.sleep(0.0005)
        everywhere.append(max(per_replica[k][-1] for k in range(len(dns))))
    stats("CreateVpcEndpoint call", calls)
    for k, v in enumerate(per_replica):
        stats(f"reply -> answered on replica {k}", v)
    stats("reply -> answered on all replicas", everywhere)


if __name__ == "__main__":
    main()
