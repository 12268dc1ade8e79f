#!/usr/bin/python3
"""An SMTP server for the delivery tests: aiosmtpd (Debian's python3-aiosmtpd)
writing each message it accepts to DIR/N.eml with its envelope in DIR/N.json.
Refuses RCPT TO for addresses at refused.example (550) and greylists those at
later.example (451).  With CERT and KEY and MODE starttls it offers STARTTLS,
requires it, and accepts AUTH for bob / s3cret-Passw0rd only; with MODE
implicit it speaks TLS from the first byte.  Stops by itself after LIFE seconds.
Usage: smtpd.py DIR PORTFILE LIFE [CERT KEY MODE]
"""
import asyncio, json, os, ssl, sys, threading, time, warnings
warnings.filterwarnings("ignore")
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out_dir, port_file, life = sys.argv[1], sys.argv[2], float(sys.argv[3])
tls = None
if len(sys.argv) > 5:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(sys.argv[4], sys.argv[5])


class Handler:
    count = 0

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user here"
        if address.endswith("@later.example"):
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        base = os.path.join(out_dir, "%d" % Handler.count)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "tls": server.transport.get_extra_info("ssl_object") is not None,
                       "authenticated": bool(session.authenticated)}, f)
        return "250 OK queued"


import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"bob" and auth_data.password == b"s3cret-Passw0rd"
    return AuthResult(success=ok)


kw = {}
if tls and sys.argv[6] == "implicit":
    kw = {"ssl_context": tls}
elif tls:
    kw = {"tls_context": tls, "require_starttls": True, "authenticator": authenticator, "auth_require_tls": True}
controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kw)
controller.start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(port))
os.rename(port_file + ".tmp", port_file)
time.sleep(life)
controller.stop()
