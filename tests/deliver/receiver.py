#!/usr/bin/python3
"""An HTTPS webhook receiver for the delivery tests (standard library only).

Verifies every request's Standard Webhooks signature with its own
implementation, logs one JSON line per request, and answers by path:
/ok 204, /slow 204 after 50 ms, /500, /410, /429 and /503 with Retry-After,
/hang (sleeps past any client timeout), /redirect (302 to 127.0.0.1),
/endless (200 and a body that never ends).  Stops by itself after --life
seconds.  Usage: receiver.py CERT KEY SECRET LOG PORTFILE [LIFE]
"""
import base64, hashlib, hmac, json, os, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

cert, key, secret, log_path, port_file = sys.argv[1:6]
life = float(sys.argv[6]) if len(sys.argv) > 6 else 120
key_bytes = base64.b64decode(secret[len("whsec_"):])
lock = threading.Lock()
log = open(log_path, "a", buffering=1)


def verify(msg_id, ts, body, header):
    mac = hmac.new(key_bytes, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    return any(hmac.compare_digest(want, s) for s in header.split(" ") if s)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        ok = verify(msg_id, ts, body, self.headers.get("webhook-signature", ""))
        with lock:
            log.write(json.dumps({"path": self.path, "id": msg_id, "ts": ts, "sig_ok": ok,
                                  "sigs": self.headers.get("webhook-signature", ""),
                                  "body": body.decode("utf-8", "replace")}) + "\n")
        path = self.path.split("?")[0]
        if path == "/slow":
            time.sleep(0.05)
        if path == "/hang":
            time.sleep(10)
            return
        status, extra = {"/500": (500, {}), "/410": (410, {}), "/429": (429, {"Retry-After": "120"}),
                         "/503": (503, {"Retry-After": "30"}),
                         "/redirect": (302, {"Location": "https://127.0.0.1:%d/ok" % self.server.server_port})
                         }.get(path, (204, {}))
        if path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 8192
            end = time.time() + 10
            try:
                while time.time() < end:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
            self.close_connection = True
            return
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()


# a backlog for a worker's whole window connecting at once (socketserver's
# default of 5 drops the rest, whose TLS handshakes may then time out)
ThreadingHTTPServer.request_queue_size = 256
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
threading.Timer(life, lambda: os._exit(0)).start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
