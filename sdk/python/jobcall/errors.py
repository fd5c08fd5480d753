"""problem+json answers (RFC 9457) as exceptions, one class per status."""

from __future__ import annotations

from typing import Any, Optional

import httpx


class ProblemError(Exception):
    """An error answer. `problem` is the problem+json document."""

    def __init__(self, status: int, problem: dict[str, Any], retry_after: Optional[int] = None):
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem
        #: Seconds to wait before trying again (429, 503), when the server said.
        self.retry_after = retry_after

    @property
    def errors(self) -> list[dict[str, str]]:
        """Each problem's `field` (`input.delay_ms`) and `message`."""
        return list(self.problem.get("errors", []))

    @property
    def fields(self) -> list[str]:
        return [error["field"] for error in self.errors]


class ValidationError(ProblemError):
    """400: the request is invalid; `errors` names the fields."""


class UnauthorizedError(ProblemError):
    """401: no valid token."""


class ForbiddenError(ProblemError):
    """403: the token lacks a scope."""


class NotFoundError(ProblemError):
    """404: no such job or client (or not the caller's)."""


class ConflictError(ProblemError):
    """409: not in a state that allows it (canceling a finished job)."""


class IdempotencyConflictError(ProblemError):
    """422: an idempotency key reused for another request."""


class RateLimitedError(ProblemError):
    """429: too fast; see `retry_after`."""


class UnavailableError(ProblemError):
    """503: the server is full or its database unreachable; see `retry_after`."""


_BY_STATUS = {
    400: ValidationError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: IdempotencyConflictError,
    429: RateLimitedError,
    503: UnavailableError,
}


def problem_error(status: int, body: bytes, headers: httpx.Headers) -> ProblemError:
    """The exception for an error answer."""
    try:
        problem = httpx.Response(status, content=body).json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {"type": "about:blank", "title": "", "status": status, "detail": body.decode(errors="replace")}
    retry_after = headers.get("retry-after")
    kind = _BY_STATUS.get(status, ProblemError)
    return kind(status, problem, int(retry_after) if retry_after and retry_after.isdigit() else None)
