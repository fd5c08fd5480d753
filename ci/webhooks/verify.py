"""Verifies callbacks that jobcall really sent with the official Python
`standardwebhooks` library. Reads [{"secret", "headers", "body"}, ...] from
the file named on the command line; exits non-zero on the first failure."""

import json
import sys

from standardwebhooks import Webhook

deliveries = json.load(open(sys.argv[1]))
for delivery in deliveries:
    payload = Webhook(delivery["secret"]).verify(delivery["body"], delivery["headers"])
    assert payload["type"] == json.loads(delivery["body"])["type"]
print(f"python standardwebhooks verified {len(deliveries)} callbacks")
