"""jobcall's Python client.

- `Jobcall`: submit (optionally waiting for fast jobs), `wait_for` a job,
  batches, signing keys; `Jobcall.api` is the client generated from
  openapi.yaml (`jobcall.generated`) for every other operation.
- `verify_callback(headers, body, secret)`: Standard Webhooks `v1`
  (`whsec_…`) and `v1a` (`whpk_…`).
- Error answers raise `ProblemError` subclasses.
"""

from ._client import Jobcall
from .errors import (
    ConflictError,
    ForbiddenError,
    IdempotencyConflictError,
    NotFoundError,
    ProblemError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
    ValidationError,
)
from .webhooks import WebhookVerificationError, verify_callback

__all__ = [
    "ConflictError",
    "ForbiddenError",
    "IdempotencyConflictError",
    "Jobcall",
    "NotFoundError",
    "ProblemError",
    "RateLimitedError",
    "UnauthorizedError",
    "UnavailableError",
    "ValidationError",
    "WebhookVerificationError",
    "verify_callback",
]
