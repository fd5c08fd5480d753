"""Verifies the `v1a` (ed25519) signatures of callbacks that jobcall really
sent, with an implementation independent of jobcall's: the `cryptography`
package (OpenSSL). The official `standardwebhooks` library (1.1.0) knows only
`v1`: it skips `v1a` signatures, which this script also shows. Reads
[{"public_key", "secret", "headers", "body"}, ...] from the file named on
the command line; exits non-zero on the first failure."""

import base64
import json
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook, WebhookVerificationError

TOLERANCE_SECONDS = 5 * 60


def verify_v1a(public_key: str, headers: dict, body: str) -> bool:
    """True when a `v1a` signature of the header is valid and fresh."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    timestamp = int(headers["webhook-timestamp"])
    if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        return False
    content = f"{headers['webhook-id']}.{timestamp}.{body}".encode()
    for signature in headers["webhook-signature"].split(" "):
        version, _, value = signature.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(base64.b64decode(value), content)
            return True
        except InvalidSignature:
            pass
    return False


deliveries = json.load(open(sys.argv[1]))
official_skipped = 0
for delivery in deliveries:
    headers, body = delivery["headers"], delivery["body"]
    assert verify_v1a(delivery["public_key"], headers, body), delivery
    assert not verify_v1a(delivery["public_key"], headers, body + " "), "a changed body verified"
    schemes = {s.partition(",")[0] for s in headers["webhook-signature"].split(" ")}
    if "v1" in schemes:
        Webhook(delivery["secret"]).verify(body, headers)
    else:
        try:
            Webhook(delivery["secret"]).verify(body, headers)
            raise AssertionError("the official library verified a header without v1")
        except WebhookVerificationError:
            official_skipped += 1
print(
    f"python cryptography verified {len(deliveries)} v1a callbacks; "
    f"standardwebhooks skipped the {official_skipped} with only v1a"
)
