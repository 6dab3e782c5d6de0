"""A local HTTPS webhook receiver for the okta-jitd notification tests.

    rx = WebhookReceiver(workdir)        # makes its own CA + server certificate
    rx.url                               # https://127.0.0.1:PORT/hook
    rx.ca                                # CA PEM, for `ca_file =` in [notify NAME]
    rx.set_mode("fail500")               # ok | fail500 | slow | hang | down
    rx.received()                        # every request, also the failed ones
    rx.verify(entry, secret)             # the v1 HMAC-SHA256 signature is right
    rx.stop()

Modes: "ok" answers 204; "fail500" answers 500; "slow" sleeps 10 s, then
answers 200 (the daemon's 5 s timeout fires first); "hang" accepts the
request and never answers (until the receiver stops); "down" closes the
listening socket so connections are refused, and leaving "down" opens it
again on the same port.

Each received entry is a dict: method, path, headers (lower-cased keys),
body (bytes), json (parsed body or None), at (time.time() on arrival),
mode (the mode that answered) and status (the status it answered with).

The pytest fixture `webhook` yields a started receiver and stops it after;
import it with `from webhook_receiver import WebhookReceiver, webhook`.
"""
import hashlib
import hmac
import importlib.util
import json
import os
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_OKTA = os.path.join(os.path.dirname(HERE), "okta_server", "fake_okta.py")

MODES = ("ok", "fail500", "slow", "hang", "down")
SLOW_SECONDS = 10.0


def _pki():
    """fake_okta.py's throw-away PKI helpers (make_ca, make_server_cert, ...),
    loaded from its file: tests/okta_server is not a package."""
    spec = importlib.util.spec_from_file_location("_ojit_fake_okta_pki", FAKE_OKTA)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def signature(secret, timestamp, body):
    """The expected X-OktaJit-Signature value: v1=<hex HMAC-SHA256(secret, ts "." body)>."""
    if isinstance(secret, str):
        secret = secret.encode()
    if isinstance(timestamp, int):
        timestamp = str(timestamp)
    if isinstance(timestamp, str):
        timestamp = timestamp.encode()
    return "v1=" + hmac.new(secret, timestamp + b"." + body, hashlib.sha256).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ojit-webhook-receiver/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _handle(self):
        rx = self.server.receiver
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        body = self.rfile.read(n) if n > 0 else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        mode = rx.mode
        status = {"ok": 204, "fail500": 500, "slow": 200}.get(mode, 503)
        entry = {"method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body, "json": parsed, "at": time.time(), "mode": mode, "status": status}
        rx._record(entry)
        if mode == "hang":
            # hold the request, say nothing: the client's timeout ends it
            rx._released.wait(120)
            self.close_connection = True
            return
        if mode == "slow":
            time.sleep(SLOW_SECONDS)
        try:
            self.send_response(status)
            if status == 204:
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                data = b"ok\n" if status == 200 else b"receiver says no\n"
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            entry["client_gone"] = True

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, receiver):
        self.receiver = receiver
        super().__init__(addr, _Handler)

    def finish_request(self, request, client_address):
        # TLS handshake in the request's own thread: a stuck client cannot
        # block accept().
        request.settimeout(30)
        try:
            tls = self.receiver._ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            self.receiver._error("handshake: %r" % (e,))
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        import sys
        self.receiver._error("handler: %r" % (sys.exc_info()[1],))


class WebhookReceiver:
    def __init__(self, workdir, host="127.0.0.1"):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        pki = _pki()
        ca_key, ca_cert = pki.make_ca("okta-jit webhook test CA")
        skey, scert = pki.make_server_cert(ca_key, ca_cert, ["localhost"], ["127.0.0.1"])
        self.ca = os.path.join(workdir, "webhook-ca.pem")
        cert_path = os.path.join(workdir, "webhook-server.pem")
        key_path = os.path.join(workdir, "webhook-server-key.pem")
        _write(self.ca, pki._pem_cert(ca_cert))
        _write(cert_path, pki._pem_cert(scert))
        _write(key_path, pki._pem_key(skey), 0o600)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert_path, key_path)
        ctx.set_alpn_protocols(["http/1.1"])
        self._ctx = ctx
        self.host = host
        self.port = 0
        self.path = "/hook"
        self.mode = "ok"
        self.errors = []
        self._entries = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = None
        self._thread = None
        self.url = None

    # -- lifecycle
    def start(self):
        self._open()
        self.url = "https://%s:%d%s" % (self.host, self.port, self.path)
        return self

    def _open(self):
        deadline = time.time() + 10
        while True:
            try:
                srv = _Server((self.host, self.port), self)
                break
            except OSError:
                # the same port again after "down": wait for it to be free
                if self.port == 0 or time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.port = srv.server_address[1]
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             name="webhook-receiver", daemon=True)
        t.start()
        self._server, self._thread = srv, t

    def _close(self):
        srv, t = self._server, self._thread
        self._server = self._thread = None
        if srv is not None:
            srv.shutdown()
            srv.server_close()
            t.join(5)

    def stop(self):
        self._released.set()
        self._close()

    def __enter__(self):
        return self.start() if self.url is None else self

    def __exit__(self, *exc):
        self.stop()

    def set_mode(self, mode):
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % (MODES,))
        with self._lock:
            was = self.mode
            self.mode = mode
        if mode == "down" and self._server is not None:
            self._close()
        elif mode != "down" and self._server is None and was == "down":
            self._open()

    # -- what arrived
    def _record(self, entry):
        with self._lock:
            self._entries.append(entry)

    def _error(self, what):
        with self._lock:
            self.errors.append(what)

    def received(self):
        with self._lock:
            return list(self._entries)

    def clear(self):
        with self._lock:
            self._entries = []

    def delivered(self):
        """The entries answered with a 2xx ("ok" mode)."""
        return [e for e in self.received() if e["mode"] == "ok"]

    def by_delivery(self, entries=None):
        """{delivery id: [entries]} over entries (default: all received)."""
        out = {}
        for e in self.received() if entries is None else entries:
            out.setdefault(e["headers"].get("x-oktajit-delivery"), []).append(e)
        return out

    def wait(self, pred, timeout=30.0, interval=0.1, what="webhook condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = pred(self.received())
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("timed out after %.0fs waiting for %s; received: %r"
                             % (timeout, what, [(e["mode"], e["headers"].get("x-oktajit-event"),
                                                 e["headers"].get("x-oktajit-delivery"))
                                                for e in self.received()]))

    @staticmethod
    def verify(entry, secret):
        """True when entry carries a valid v1 signature over timestamp "." body."""
        h = entry.get("headers") or {}
        ts = h.get("x-oktajit-timestamp")
        sig = h.get("x-oktajit-signature")
        if not ts or not sig or not ts.isdigit():
            return False
        return hmac.compare_digest(sig.encode(), signature(secret, ts, entry["body"]).encode())


@pytest.fixture
def webhook(tmp_path):
    rx = WebhookReceiver(str(tmp_path / "webhook")).start()
    yield rx
    rx.stop()


def client_context(rx):
    """An SSLContext that trusts rx's CA (for tests that talk to it directly)."""
    return ssl.create_default_context(cafile=rx.ca)


def port_refuses(host, port, timeout=2.0):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        return False
    except ConnectionRefusedError:
        return True
    finally:
        s.close()
