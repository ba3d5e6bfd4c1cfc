#!/usr/bin/env python3
"""The whole integration, end to end, as an enterprise's system and the association would run it.

    python3 docs/integration_walkthrough.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD

1. The enterprise registers and logs in, and registers a webhook endpoint (a receiver this
   script runs on 127.0.0.1; in production, an https URL of your own system).
2. It starts a self-assessment, answers every criterion, attaches evidence, and submits.
3. The association (the administrator given on the command line) creates a reviewer, checks the
   business licence; the reviewer decides the red lines and legal duties and approves.
4. The enterprise receives `submission.approved` and `certificate.issued`, each signed as
   Standard Webhooks prescribe (checked here with hmac from the standard library).
5. It fetches its certificate through the API and verifies it offline against the published
   keys (docs/verify_certificate.py; needs the PyPI packages rfc8785 and cryptography).

Only the standard library is used besides that verifier. The server must allow webhooks to
127.0.0.1 over http (CSR_WEBHOOK_ALLOWED_HOSTS=127.0.0.1). `tests/api/readme.rs` runs this
script against a live server.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_certificate import verify  # noqa: E402

BASE = sys.argv[1].rstrip("/")


def call(method, path, body=None, token=None, headers=None, raw=None, content_type=None):
    """One API call; returns (status, headers, parsed JSON or bytes)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type or "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status, hdrs, payload = res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        status, hdrs, payload = e.code, e.headers, e.read()
    kind = hdrs.get("Content-Type", "")
    parsed = json.loads(payload) if payload and "json" in kind else payload
    return status, hdrs, parsed


def ok(result, expected=(200, 201, 202, 204)):
    status, _, body = result
    if status not in expected:
        sys.exit(f"unexpected {status}: {body}")
    return result


def login(email, password):
    _, _, body = ok(call("POST", "/api/v1/auth/login", {"email": email, "password": password}))
    return body["access_token"]


# --- A webhook receiver -------------------------------------------------------------------
received = queue.Queue()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        received.put((dict(self.headers), body.decode()))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{server.server_port}/csr-events"


def signature_ok(secret, headers, body):
    """Standard Webhooks: HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    if abs(time.time() - int(headers["webhook-timestamp"])) > 300:
        return False
    return any(
        hmac.compare_digest(s.split(",", 1)[1], expected)
        for s in headers["webhook-signature"].split()
        if s.startswith("v1,")
    )


# --- 1. Register, log in, subscribe ----------------------------------------------------------
suffix = uuid.uuid4().hex[:8]
email = f"it-{suffix}@example.com"
password = "a long passphrase for the walkthrough"
credit_code = sys.argv[4] if len(sys.argv) > 4 else "91350100M000100Y43"
ok(call("POST", "/api/v1/enterprises", {
    "credit_code": credit_code, "name": "福州放心食品有限公司", "industry_code": "C1491",
    "region_code": "350102", "size": "small", "contact_email": "service@example.com",
    "admin_email": email, "admin_password": password,
}))
token = login(email, password)
_, _, hook = ok(call("POST", "/api/v1/webhooks", {
    "url": hook_url, "description": "our ERP",
    "event_types": ["submission.returned", "submission.approved", "certificate.issued"],
}, token))
secret = hook["secret"]
print("webhook registered:", hook["id"])

# --- 2. Self-assess and submit -----------------------------------------------------------------
_, hdrs, submission = ok(call("POST", "/api/v1/submissions",
                              {"schema_id": "cca-good-enterprise", "version": "2024"}, token,
                              headers={"Idempotency-Key": f"start-{suffix}"}))
sid, etag = submission["id"], hdrs["ETag"]
_, _, schema = ok(call("GET", "/api/v1/schemas/cca-good-enterprise/versions/2024/resolved"
                       "?industry=C1491", token=token))


def answer(c):
    kind = c["kind"]
    if kind == "yes_no":
        return {"value": True}
    if kind == "maturity":
        return {"value": 2}
    if kind == "single_choice":
        return {"value": max(c["options"], key=lambda o: o["points"])["id"]}
    if kind == "multiple_choice":
        return {"value": [o["id"] for o in c["options"]]}
    if kind == "measured":
        return {"value": c["measure"]["bands"][0]["threshold"]}
    return {"value": "我们开展了多项可持续消费活动。"}


answers = {c["id"]: answer(c) for c in schema["criteria"]}
_, hdrs, _ = ok(call("PATCH", f"/api/v1/submissions/{sid}/answers", {"answers": answers}, token,
                     headers={"If-Match": etag}))
etag = hdrs["ETag"]
needs = [c["id"] for c in schema["criteria"] if (c.get("evidence") or {}).get("required")]
png = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
boundary = "walkthrough-" + suffix
form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"criteria\"\r\n\r\n"
        f"{','.join(needs)}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
        f"filename=\"licence.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + png + \
       f"\r\n--{boundary}--\r\n".encode()
_, hdrs, evidence = ok(call("POST", f"/api/v1/submissions/{sid}/evidence", token=token, raw=form,
                            content_type=f"multipart/form-data; boundary={boundary}",
                            headers={"Idempotency-Key": f"licence-{suffix}"}))
etag = hdrs["ETag"]  # an upload changes the submission: its answer carries the new ETag
ok(call("POST", f"/api/v1/submissions/{sid}/submit", token=token, headers={"If-Match": etag}))
print("submitted:", sid)

# --- 3. The association reviews ----------------------------------------------------------------
admin = login(sys.argv[2], sys.argv[3])
reviewer_email = f"reviewer-{suffix}@example.com"
ok(call("POST", "/api/v1/users", {"email": reviewer_email, "password": password,
                                   "role": "reviewer"}, admin))
ok(call("POST", f"/api/v1/enterprises/{submission['enterprise_id']}/verify",
        {"evidence_id": evidence["id"], "note": "营业执照与信用代码一致"}, admin))
reviewer = login(reviewer_email, password)
ok(call("POST", f"/api/v1/reviews/{sid}/claim", {}, reviewer))
_, _, review = ok(call("GET", f"/api/v1/reviews/{sid}", token=reviewer))
verdicts = {c: {"verdict": "accept"} for c in review["verdicts_required"]}
ok(call("PUT", f"/api/v1/reviews/{sid}/verdicts", {"verdicts": verdicts}, reviewer))
ok(call("POST", f"/api/v1/reviews/{sid}/approve", {"comment": "符合要求"}, reviewer,
        headers={"Idempotency-Key": f"approve-{suffix}"}), expected=(200,))

# --- 4. The enterprise hears of it ------------------------------------------------------------
events = {}
while len(events) < 2:
    headers, body = received.get(timeout=30)
    headers = {k.lower(): v for k, v in headers.items()}
    if not signature_ok(secret, headers, body):
        sys.exit("a webhook with a bad signature")
    event = json.loads(body)
    events[event["type"]] = event
    print("webhook:", event["type"])
number = events["certificate.issued"]["data"]["certificate"]["number"]

# --- 5. Fetch the certificate and verify it offline --------------------------------------------
_, _, mine = ok(call("GET", "/api/v1/certificates", token=token))
assert mine["items"][0]["number"] == number
_, _, certificate = ok(call("GET", f"/api/v1/public/certificates/{number}"))
_, _, keys = ok(call("GET", "/.well-known/csr-assess/keys.json"))
payload = verify(json.dumps(certificate).encode(), json.dumps(keys).encode())
print("certificate verified offline:", payload["number"], payload["level"])
