"""Garbage in: the simulator answers every bad request in PVE's error shape and keeps serving."""

import functools
import random
import socket
import ssl

import requests

PATHS = ["/api2/json/cluster/resources", "/api2/json/nodes/pve1/qemu/100/migrate", "/api2/json/nodes/pve1/qemu",
         "/api2/json/nodes/pve1/qemu/100/config", "/api2/json/nodes/pve1/tasks", "/api2/json/pools",
         "/api2/json/nodes/pve1/tasks/UPID:x/status", "/api2/json/access/ticket", "/api2/json/%ff%00",
         "/api2/json/nodes/" + "x" * 5000, "/_sim/clock", "/_sim/faults", "/_sim/nodes/pve1", "/nope", "/"]
VALUES = ["", "1", "0", "True", "-1", "99999999999999999999999999", "1e309", "NaN", "\u00e9\u00e8", "a" * 70000,
          "pve2", "0x10", "[]", "{}", "\x00", "1;rm -rf /", "../../etc/passwd"]
KEYS = ["target", "online", "vmid", "type", "limit", "start", "seconds", "status", "tags", "digest", "\x01", "x" * 300]


def check_shape(response):
    assert 200 <= response.status_code < 600
    if response.status_code >= 400 and response.status_code != 401 and response.content:
        body = response.json()
        assert body["data"] is None and isinstance(body["message"], str)
        first = body["message"].splitlines()[0][:250]
        if first.isascii() and first.isprintable():  # other text is made latin-1 safe for the status line
            assert response.reason == first


def test_fuzz_requests_get_pve_errors_and_server_survives(sim_small):
    # PVE: pve-http-server Formatter/Standard.pm error shape; pve-common JSONSchema.pm parameter checks
    rng = random.Random(7)
    session = requests.Session()
    # verify per call: REQUESTS_CA_BUNDLE in the environment would override a Session.verify
    send = functools.partial(session.request, verify=sim_small.ca_path, timeout=30)
    session.headers["Authorization"] = "PVEAPIToken=%s=%s" % (sim_small.token_id, sim_small.token_secret)
    for _ in range(300):
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
        path = rng.choice(PATHS)
        params = dict((rng.choice(KEYS), rng.choice(VALUES)) for _ in range(rng.randint(0, 3)))
        kind = rng.random()
        if kind < 0.3:
            response = send(method, sim_small.url + path, data=params)
        elif kind < 0.5:
            response = send(method, sim_small.url + path, data=b"{not json",
                                       headers={"Content-Type": "application/json"})
        elif kind < 0.6:
            response = send(method, sim_small.url + path, data=bytes(rng.randrange(256) for _ in range(64)))
        else:
            response = send(method, sim_small.url + path, params=params)
        check_shape(response)
    # still serving, state intact
    vms = sim_small.proxmox().cluster.resources.get(type="vm")
    assert len(vms) == 11


def test_raw_socket_garbage(sim_small):
    # PVE: pveproxy answers malformed requests with an error, never dies (pve-http-server AnyEvent.pm)
    context = ssl.create_default_context(cafile=sim_small.ca_path)
    for payload in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                    b"POST /api2/json/version HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nx", b"\x16\x03\x01" * 50):
        with socket.create_connection((sim_small.host, sim_small.port), timeout=2) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(payload)
                try:
                    tls.recv(4096)
                except (ssl.SSLError, ConnectionError, socket.timeout):
                    pass
    # a client that connects without TLS and hangs up
    with socket.create_connection((sim_small.host, sim_small.port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert sim_small.proxmox().version.get()["release"] == "9.1"
