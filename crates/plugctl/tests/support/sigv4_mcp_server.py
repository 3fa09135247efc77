"""An MCP server (Streamable HTTP, JSON answers) that accepts only requests
whose SigV4 signature it can recompute, with botocore (bundled with the AWS
CLI of the test venv), from credentials it is told about.

    python sigv4_mcp_server.py CREDENTIALS_FILE PORT_FILE SEEN_FILE

CREDENTIALS_FILE holds one JSON object per line,
{"AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken": ...}, re-read on
every request (the attack suite appends the sessions STS hands out). The
server listens on 127.0.0.1 on a free port, written to PORT_FILE, and appends
the access key id of every request it verified to SEEN_FILE. Its one tool,
`whoami`, answers with that key id; a request signed with unknown credentials
or a wrong signature gets 403.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from awscli.botocore.auth import SigV4Auth
from awscli.botocore.awsrequest import AWSRequest
from awscli.botocore.credentials import Credentials

CREDENTIALS_FILE, PORT_FILE, SEEN_FILE = sys.argv[1], sys.argv[2], sys.argv[3]


def known_credentials():
    try:
        with open(CREDENTIALS_FILE, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return {}
    return {c["AccessKeyId"]: c for c in lines}


def verified_key(method, url, headers, body):
    """The access key id that signed the request, if the signature holds."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return None
    fields = dict(
        part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(",")
    )
    key_id, date, region, service, _ = fields["Credential"].split("/")
    known = known_credentials().get(key_id)
    if known is None:
        return None
    signed = fields["SignedHeaders"].split(";")
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={name: headers[name] for name in signed if name in headers},
    )
    request.context["timestamp"] = headers["x-amz-date"]
    credentials = Credentials(
        known["AccessKeyId"], known["SecretAccessKey"], known.get("SessionToken")
    )
    signer = SigV4Auth(credentials, service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    return key_id if expected == fields["Signature"] else None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, payload=None):
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(405)

    def do_DELETE(self):
        self.answer(405)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = f"http://{headers.get('host')}{self.path}"
        key_id = verified_key("POST", url, headers, body)
        if key_id is None:
            self.answer(403, {"message": "signature does not match known credentials"})
            return
        with open(SEEN_FILE, "a", encoding="utf-8") as f:
            f.write(key_id + "\n")
        message = json.loads(body)
        method, ident = message.get("method"), message.get("id")
        if ident is None:
            self.answer(202)
        elif method == "initialize":
            version = message["params"].get("protocolVersion", "2025-06-18")
            self.answer(200, {"jsonrpc": "2.0", "id": ident, "result": {
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "sigv4-check", "version": "1.0.0"},
            }})
        elif method == "tools/list":
            self.answer(200, {"jsonrpc": "2.0", "id": ident, "result": {"tools": [{
                "name": "whoami",
                "description": "The access key id the call was signed with",
                "inputSchema": {"type": "object"},
            }]}})
        elif method == "tools/call":
            self.answer(200, {"jsonrpc": "2.0", "id": ident, "result": {
                "content": [{"type": "text", "text": key_id}],
            }})
        else:
            self.answer(200, {"jsonrpc": "2.0", "id": ident, "result": {}})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE, "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
