#!/usr/bin/env python3
"""Verifies a csr-assess certificate independently of the service's own code.

    python3 verify_certificate.py CERTIFICATE KEYS

CERTIFICATE is the certificate's public JSON (a file, or the URL
https://HOST/api/v1/public/certificates/NUMBER); KEYS is the published key set (a file, or
https://HOST/.well-known/csr-assess/keys.json). Needs the PyPI packages `rfc8785` and
`cryptography`. Prints what the certificate says and exits 0 when the signature holds; exits 1
with the reason otherwise. See docs/VERIFYING.md.
"""

import base64
import json
import sys
import urllib.request

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def read(source):
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:
            return response.read()
    with open(source, "rb") as f:
        return f.read()


def strict_object(pairs):
    """Refuses a key given twice: no parser may read another certificate from the same bytes."""
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("a key appears twice in one object")
    return dict(pairs)


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(certificate_bytes, keys_bytes):
    """Returns the signed payload, or raises ValueError naming what is wrong."""
    document = json.loads(certificate_bytes, object_pairs_hook=strict_object)
    signed = document.get("signed", document)
    if set(signed) != {"payload", "alg", "kid", "signature"}:
        raise ValueError(f"not a signed certificate: fields {sorted(signed)}")
    if signed["alg"] != "EdDSA":
        raise ValueError(f"algorithm {signed['alg']!r} is not EdDSA")
    keys = json.loads(keys_bytes)["keys"]
    key = next((k for k in keys if k.get("kid") == signed["kid"]), None)
    if key is None:
        raise ValueError(f"no published key has kid {signed['kid']!r}")
    if key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
        raise ValueError("the published key is not an Ed25519 key")
    public = Ed25519PublicKey.from_public_bytes(b64url(key["x"]))
    message = rfc8785.dumps(signed["payload"])
    try:
        public.verify(b64url(signed["signature"]), message)
    except InvalidSignature:
        raise ValueError("the signature does not match the certificate's content") from None
    return signed["payload"]


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        payload = verify(read(sys.argv[1]), read(sys.argv[2]))
    except (ValueError, KeyError, TypeError) as e:
        print(f"INVALID: {e}")
        return 1
    enterprise = payload["enterprise"]
    print(
        f"VALID: certificate {payload['number']} for {enterprise['name']} "
        f"({enterprise['credit_code']}), level {payload['level']}, score {payload['score']}, "
        f"issued {payload['issued_on']}, expires {payload['expires_on']}"
    )
    print("The signature proves the content; ask the service for the current status.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
