"""The HTTPS front: request parsing, authentication, faults, routing and PVE-shaped answers.

The standard library's ThreadingHTTPServer with TLS. The handshake runs in the request thread (not in
``accept``), so one stalled client cannot block others. HTTP/1.1 keep-alive, because proxmoxer keeps its
session open and a TLS handshake per request would dominate every timing.
"""

import json
import os
import socket
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from simulator import admin, api
from simulator.auth import Auth
from simulator.certs import make_certificates
from simulator.cluster import Cluster
from simulator.faults import Faults
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import version_tuple
from simulator.params import validate
from simulator.pveerror import PveError, not_implemented, param_error

MAX_BODY = 64 * 1024  # PVE refuses larger request bodies too
API_PREFIX = "/api2/json"


class Counter(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.total = 0
            self.by_endpoint = {}

    def count(self, key):
        with self.lock:
            self.total += 1
            self.by_endpoint[key] = self.by_endpoint.get(key, 0) + 1

    def snapshot(self):
        with self.lock:
            return {"total": self.total, "by_endpoint": dict(self.by_endpoint)}


def _reason(message):
    # the reason phrase is what proxmoxer shows: one line, latin-1 safe
    line = (str(message).splitlines() or [""])[0].strip()
    return line.encode("latin-1", "replace").decode("latin-1")[:250] or "error"


def _decode_body(raw, content_type):
    if not raw:
        return {}
    if "application/json" in (content_type or ""):
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise PveError(400, "malformed JSON request body")
        if not isinstance(data, dict):
            raise PveError(400, "malformed JSON request body - expected an object")
        return data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PveError(400, "request body is not valid UTF-8")
    return dict(parse_qsl(text, keep_blank_values=True))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms
    # to every keep-alive request
    disable_nagle_algorithm = True
    server_version = "pve-api-daemon/3.0"

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 - keep stderr quiet; the counter records requests
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_OPTIONS(self):
        self.dispatch("OPTIONS")

    # ------------------------------------------------------------------------------------------ answers
    def send_error(self, code, message=None, explain=None):
        # http.server's own refusals (request line too long, bad request syntax) in PVE's shape, not HTML
        self.close_connection = True
        try:
            self.send_error_pve(PveError(code, message or self.responses.get(code, ("error",))[0]))
        except Exception:
            pass

    def send_json(self, status, body, reason=None, headers=None):
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=0")
        self.send_header("Pragma", "no-cache")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_pve(self, error):
        # pveproxy answers an error and closes the connection (pve-http-server AnyEvent.pm error answers
        # carry 'Connection: close'); clients open a new one for the next request
        self.close_connection = True
        if error.status == 401:
            delay = float(self.server.cluster.sim.get("auth_failure_delay") or 0)
            if delay:
                time.sleep(min(delay, 10))
            body = b""  # PVE answers 401 with an empty body
        else:
            doc = {"data": None, "message": error.message + ("\n" if not error.message.endswith("\n") else "")}
            if error.errors:
                doc["errors"] = error.errors
            body = json.dumps(doc).encode("utf-8")
        self.send_json(error.status, body, _reason(error.message), error.headers)

    # ------------------------------------------------------------------------------------------ dispatch
    def dispatch(self, method):
        try:
            self._dispatch(method)
        except PveError as error:
            self.send_error_pve(error)
        except (ConnectionError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception as error:  # the simulator must answer, never die: report PVE's generic 500
            try:
                self.send_error_pve(PveError(500, "internal simulator error: %s" % type(error).__name__))
            except Exception:
                self.close_connection = True

    def _read_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise PveError(400, "chunked request bodies are not supported")
        if not length:
            return b""
        try:
            length = int(length)
        except ValueError:
            self.close_connection = True
            raise PveError(400, "bad Content-Length")
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            if 0 < length <= 256 * MAX_BODY:
                # drain it, so the client reads our answer instead of a reset connection
                while length > 0:
                    chunk = self.rfile.read(min(length, MAX_BODY))
                    if not chunk:
                        break
                    length -= len(chunk)
            raise PveError(413, "request too large")
        return self.rfile.read(length)

    def _dispatch(self, method):
        server = self.server
        body = self._read_body()
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if path.startswith("/_sim"):
            server.auth.authenticate(self.headers, method)
            data = dict(_decode_body(body, self.headers.get("Content-Type")), **query)
            with server.cluster.lock:
                server.cluster.tick()
                result = admin.handle(server, method, path[len("/_sim"):], data)
            self.send_json(200, json.dumps({"data": result}).encode("utf-8"))
            return
        if not path.startswith(API_PREFIX + "/") and path != API_PREFIX:
            server.counter.count("%s (not implemented)" % method)
            raise not_implemented(method, path)
        api_path = path[len(API_PREFIX):] or "/"
        route, found = api.match(method, api_path)
        template = route.template if route else None
        server.counter.count("%s %s" % (method, template) if template else "%s (not implemented)" % method)

        latency, hang, fault = server.faults.before(method, template or api_path, api_path)
        if latency:
            time.sleep(latency)
        if hang is not None:
            time.sleep(hang)
            self.close_connection = True
            return
        if fault:
            raise fault

        if template == "/access/ticket" and method == "POST":
            params = dict(_decode_body(body, self.headers.get("Content-Type")), **query)
            params = validate("POST /access/ticket", params, "9.1")
            result = server.auth.ticket(params["username"], params["password"], params.get("realm"))
            result["clustername"] = server.cluster.cluster["name"]
            self.send_json(200, json.dumps({"data": result}).encode("utf-8"))
            return
        user = None if route is not None and route.world else server.auth.authenticate(self.headers, method)
        if route is None:
            raise not_implemented(method, api_path)
        params = dict(query) if method in ("GET", "DELETE") else dict(_decode_body(body, self.headers.get("Content-Type")),
                                                                    **query)
        errors = {}
        for name, value in found.items():
            if name in params and str(params[name]) != value:
                errors[name] = "duplicate parameter (already defined in URI) with conflicting values!"
            params[name] = value
        if errors:
            raise param_error(errors)

        cluster = server.cluster
        with cluster.lock:
            cluster.tick()
            node = found.get("node")
            if node is not None and node not in cluster.nodes:
                if route.proxied:
                    raise PveError(500, "hostname lookup '%s' failed - failed to get address info for: %s: "
                                   "Name or service not known" % (node, node))
                raise param_error({"node": "no such cluster node '%s'" % node})
            version = cluster.node_version(node) if node else cluster.first_node()["pve_version"]
            if route.min_version and version_tuple(version) < version_tuple(route.min_version):
                raise not_implemented(method, api_path)
            # PVE checks permissions first (RESTHandler: the 'check' before the parameter verification and
            # before proxying to the node): a caller without the privilege gets 403, never 400 or 595
            request = api.Request(cluster, method, api_path, params, user, route, found)
            request.auth = server.auth
            api.check_permission(request)
            request.params = validate("%s %s" % (method, template), params, version)
            if node is not None and route.proxied and not cluster.is_online(node):
                raise PveError(595, "No route to host")
            result = route.handler(request)
            if isinstance(result, api.Raw):
                payload = result.body
            elif isinstance(result, dict) and "__total__" in result:
                payload = json.dumps({"data": result["data"], "total": result["__total__"]}).encode("utf-8")
            else:
                payload = json.dumps({"data": result}).encode("utf-8")
        self.send_json(200, payload)


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, cluster, auth, context):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.cluster = cluster
        self.auth = auth
        self.faults = Faults()
        self.counter = Counter()
        self.context = context
        ThreadingHTTPServer.__init__(self, address, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # headers and body leave in separate writes: without NODELAY each answer waits for a delayed ACK
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # handshake lazily in the handler thread
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-request is not the simulator's problem


def build(scenario, bind="127.0.0.1", port=0, clock=None, tokens=(), passwords=(), ca_out=None):
    """Create (server, ca_pem) ready to ``serve_forever``; the scenario's ``simulator.faults`` are applied."""
    cluster = Cluster(scenario, clock)
    auth = Auth(cluster.sim, tokens, passwords)
    ca_pem, cert_pem, key_pem = make_certificates([bind])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        with open(cert_file, "wb") as handle:
            handle.write(cert_pem)
        with open(key_file, "wb") as handle:
            handle.write(key_pem)
        context.load_cert_chain(cert_file, key_file)
    if ca_out:
        with open(ca_out, "wb") as handle:
            handle.write(ca_pem)
    server = SimulatorServer((bind, port), cluster, auth, context)
    # "a second API host that is down": bound (so no one else takes the port) but never listening,
    # so connections to it are refused
    server.down_socket = socket.socket(server.address_family, socket.SOCK_STREAM)
    server.down_socket.bind((bind, 0))
    if cluster.sim.get("faults"):
        server.faults.apply(cluster.sim["faults"], cluster)
    return server, ca_pem
