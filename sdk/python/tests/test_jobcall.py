"""The Python SDK against a live jobcall (the e2e harness starts one: see
tests/e2e/tools.rs). Configured by JOBCALL_URL, JOBCALL_TOKEN (a token with
every scope), JOBCALL_CLIENT_ID and JOBCALL_SIGNING_SECRET."""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobcall import (
    IdempotencyConflictError,
    Jobcall,
    NotFoundError,
    ValidationError,
    WebhookVerificationError,
    verify_callback,
)
from jobcall.generated.api.clients import rotate_signing_key, update_client
from jobcall.generated.models import JobStatus, UpdateClientRequest
from jobcall.generated.models.signature_scheme import SignatureScheme

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def jc():
    return Jobcall(os.environ["JOBCALL_URL"], os.environ["JOBCALL_TOKEN"])


class Receiver:
    """Records the callbacks it gets: (headers, raw body)."""

    def __init__(self):
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def wait_for(self, count, seconds=20):
        deadline = time.time() + seconds
        while len(self.received) < count and time.time() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, self.received
        return self.received[:count]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


def test_a_fast_job_comes_back_finished_when_the_submission_waits(jc):
    job = jc.submit({"kind": "echo", "input": {"message": "quick"}}, wait=10)
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["message"] == "quick"


def test_wait_for_long_polls_to_the_end_and_times_out(jc):
    job = jc.submit({"kind": "echo", "input": {"message": "slow", "delay_ms": 500}})
    assert job.status == JobStatus.QUEUED or job.status == JobStatus.RUNNING
    done = jc.wait_for(job.id, timeout=30)
    assert done.status == JobStatus.SUCCEEDED
    slow = jc.submit({"kind": "echo", "input": {"delay_ms": 20_000}})
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        jc.wait_for(slow.id, timeout=1)
    assert time.monotonic() - started < 10


def test_errors_are_typed(jc):
    with pytest.raises(ValidationError) as refused:
        jc.submit({"kind": "no.such.kind"})
    assert refused.value.status == 400
    assert refused.value.fields == ["kind"]
    with pytest.raises(NotFoundError):
        jc.get_job("job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z")
    jc.submit({"kind": "echo", "input": {"message": 1}}, idempotency_key="py-key")
    with pytest.raises(IdempotencyConflictError):
        jc.submit({"kind": "echo", "input": {"message": 2}}, idempotency_key="py-key")


def test_a_batch_answers_each_item(jc):
    results = jc.submit_batch([{"kind": "echo"}, {"kind": "no.such.kind"}])
    assert [r.status for r in results] == [202, 400]
    assert results[0].job.status == JobStatus.QUEUED
    assert results[1].error.errors[0].field == "jobs[1].kind"


def test_callbacks_verify_with_the_secret_and_the_public_key(jc, receiver):
    client_id = os.environ["JOBCALL_CLIENT_ID"]
    updated = update_client.sync_detailed(
        client_id,
        client=jc.api,
        body=UpdateClientRequest(signatures=[SignatureScheme.V1, SignatureScheme.V1A]),
    )
    assert updated.status_code == 200, updated.content
    keys = jc.signing_keys(client_id)
    public_key = keys.data[0].public_key
    assert public_key.startswith("whpk_")
    job = jc.submit(
        {"kind": "echo", "callback_url": receiver.url, "callback_events": ["job.started", "job.succeeded"]},
        traceparent=TRACEPARENT,
    )
    for headers, body in receiver.wait_for(2):
        for key in (os.environ["JOBCALL_SIGNING_SECRET"], public_key):
            event = verify_callback(headers, body, key)
            assert event["data"]["id"] == job.id
        assert headers["traceparent"].split("-")[1] == TRACEPARENT.split("-")[1]
        with pytest.raises(WebhookVerificationError):
            verify_callback(headers, body + b" ", public_key)
        with pytest.raises(WebhookVerificationError):
            verify_callback(headers, body, "whsec_" + "A" * 43 + "=")
        with pytest.raises(WebhookVerificationError):
            verify_callback(headers, body, public_key, now=time.time() + 3600)
    events = [json.loads(body)["type"] for _, body in receiver.received]
    assert events == ["job.started", "job.succeeded"]

    rotated = rotate_signing_key.sync_detailed(client_id, client=jc.api)
    assert rotated.status_code == 200
    assert [k.public_key for k in rotated.parsed.data][1:] == [public_key], "the old key signs on"
