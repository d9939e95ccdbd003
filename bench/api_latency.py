#!/usr/bin/env python3
"""Control API write -> DNS answer latency, with the official PrivateLink SDK.

Usage (epdns serving a config with [api] on API, DNS on DNS, loopback only):
  api_latency.py --api 127.0.0.1:18080 --dns 127.0.0.1:15300 --writes 200
  api_latency.py --api 127.0.0.1:18080 --dns 127.0.0.1:15300 --rate 100 --duration 10

With --rate, it only loads: CreateVpcEndpoint then DeleteVpcEndpoint of the
same endpoint, paced at --rate writes/s in total over --threads clients, for
--duration s; it prints the writes done, the rate reached and the call times.

For each of --writes CreateVpcEndpoint calls (the endpoint in three zones,
addresses chosen by epdns) it times the call, then polls the new endpoint
domain over UDP every 0.5 ms until it answers, and times that from the reply.
Then it toggles zone affinity on the created endpoints (UpdateVpcEndpointAttribute)
and times reply -> first answer that shows the change, for a client inside
vSwitch 1 (source 127.1.0.5). Prints p50/p99/max of each. Every packet goes to
the loopback addresses given; the loops are bounded by --writes and a 10 s
wait per write.
"""
import argparse
import random
import socket
import struct
import threading
import time

from alibabacloud_privatelink20200415 import models as m
from alibabacloud_privatelink20200415.client import Client
from alibabacloud_tea_openapi.models import Config


def query(dns, name, src="127.0.0.1"):
    """(rcode, answer count) of an A query for name."""
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        packet += bytes([len(label)]) + label.encode()
    packet += b"\x00" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(1.0)
        s.sendto(packet, dns)
        while True:
            reply, _ = s.recvfrom(4096)
            rid, flags, _, ancount = struct.unpack(">HHHH", reply[:8])
            if rid == qid:
                return flags & 0xF, ancount


def wait_for(dns, name, want, src="127.0.0.1", limit=10.0):
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if want(*query(dns, name, src)):
            return time.perf_counter() - start
        time.sleep(0.0005)
    raise SystemExit(f"{name}: no expected answer within {limit} s")


def stats(label, values):
    v = sorted(x * 1000 for x in values)
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]
    print(f"{label:44s} n={len(v):4d}  p50={pick(0.5):8.2f} ms  p99={pick(0.99):8.2f} ms  max={v[-1]:8.2f} ms")


def client(api):
    return Client(Config(access_key_id="lab-key", access_key_secret="lab-secret",
                         region_id="cn-hangzhou", endpoint=api, protocol="http"))


ZONES = [m.CreateVpcEndpointRequestZone(zone_id=f"cn-hangzhou-{z}", v_switch_id=f"vsw-cn-hangzhou-{z}")
         for z in ("h", "i", "j")]


def load(a):
    """Paced create/delete pairs from --threads clients until --duration."""
    period = a.threads / a.rate
    end = time.perf_counter() + a.duration
    times, lock = [], threading.Lock()

    def worker(k):
        c = client(a.api)
        nxt = time.perf_counter() + k * period / a.threads
        create = True
        created = None
        while time.perf_counter() < end:
            wait = nxt - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            nxt += period
            t0 = time.perf_counter()
            if create:
                created = c.create_vpc_endpoint(m.CreateVpcEndpointRequest(
                    region_id="cn-hangzhou", vpc_id=a.vpc, service_id=a.service,
                    security_group_id=["sg-1"], zone=ZONES)).body.endpoint_id
            else:
                c.delete_vpc_endpoint(m.DeleteVpcEndpointRequest(
                    region_id="cn-hangzhou", endpoint_id=created))
            create = not create
            with lock:
                times.append(time.perf_counter() - t0)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    print(f"writes {len(times)} in {took:.1f} s = {len(times) / took:.1f}/s (asked {a.rate}/s)")
    stats("create/delete call", times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--dns", required=True)
    p.add_argument("--writes", type=int, default=200)
    p.add_argument("--rate", type=float, help="load mode: writes per second")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--service", default="epsrv-bench000")
    p.add_argument("--vpc", default="vpc-bench")
    a = p.parse_args()
    host, port = a.dns.rsplit(":", 1)
    dns = (host, int(port))
    assert host.startswith("127.") and a.api.startswith("127."), "loopback only"
    if a.rate:
        load(a)
        return
    c = client(a.api)
    zones = ZONES
    calls, visible, ids = [], [], []
    for _ in range(a.writes):
        t0 = time.perf_counter()
        r = c.create_vpc_endpoint(m.CreateVpcEndpointRequest(
            region_id="cn-hangzhou", vpc_id=a.vpc, service_id=a.service,
            security_group_id=["sg-1"], zone=zones))
        calls.append(time.perf_counter() - t0)
        ids.append(r.body.endpoint_id)
        visible.append(wait_for(dns, r.body.endpoint_domain, lambda rc, n: rc == 0 and n == 3))
    stats("CreateVpcEndpoint call", calls)
    stats("CreateVpcEndpoint reply -> answered (Active)", visible)
    calls, visible = [], []
    for i in ids[: a.writes]:
        name = c.get_vpc_endpoint_attribute(m.GetVpcEndpointAttributeRequest(
            region_id="cn-hangzhou", endpoint_id=i)).body.endpoint_domain
        t0 = time.perf_counter()
        c.update_vpc_endpoint_attribute(m.UpdateVpcEndpointAttributeRequest(
            region_id="cn-hangzhou", endpoint_id=i, zone_affinity_enabled=True))
        calls.append(time.perf_counter() - t0)
        visible.append(wait_for(dns, name, lambda rc, n: rc == 0 and n == 1, src="127.1.0.5"))
    stats("UpdateVpcEndpointAttribute call", calls)
    stats("UpdateVpcEndpointAttribute reply -> answer", visible)


if __name__ == "__main__":
    main()
