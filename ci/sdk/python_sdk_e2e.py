"""Drives a running jobcall through the Python client that
openapi-python-client generated from openapi.yaml (importable as
`jobcall_client`): submit a job with a callback URL, long-poll it to the end,
read the typed result, and verify the callbacks that arrive with the official
`standardwebhooks` library. Configured by JOBCALL_URL, JOBCALL_TOKEN and
JOBCALL_SIGNING_SECRET."""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

from jobcall_client import AuthenticatedClient
from jobcall_client.api.jobs import get_job, submit_job
from jobcall_client.models import EventType, Job, JobInput, JobStatus, Problem, SubmitJobRequest

received = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()

client = AuthenticatedClient(base_url=os.environ["JOBCALL_URL"], token=os.environ["JOBCALL_TOKEN"])
request = SubmitJobRequest(
    kind="echo",
    input_=JobInput.from_dict({"message": "from python", "delay_ms": 200}),
    callback_url=f"http://127.0.0.1:{server.server_port}/hook",
    callback_events=[EventType.JOB_STARTED, EventType.JOB_SUCCEEDED],
)
job = submit_job.sync(client=client, body=request)
assert isinstance(job, Job), job
assert job.status == JobStatus.QUEUED

while job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED):
    job = get_job.sync(job.id, client=client, wait=10)
    assert isinstance(job, Job), job
assert job.status == JobStatus.SUCCEEDED, job
assert job.result["message"] == "from python", job.result
assert job.input_.to_dict()["delay_ms"] == 200

problem = submit_job.sync(client=client, body=SubmitJobRequest(kind="no.such.kind"))
assert isinstance(problem, Problem) and problem.status == 400, problem
assert problem.errors[0].field == "kind", problem

deadline = time.time() + 20
while len(received) < 2 and time.time() < deadline:
    time.sleep(0.05)
webhook = Webhook(os.environ["JOBCALL_SIGNING_SECRET"])
events = []
for headers, body in received:
    event = webhook.verify(body, headers)
    assert event["data"]["id"] == job.id, event
    events.append(event["type"])
assert events == ["job.started", "job.succeeded"], events
server.shutdown()
print(json.dumps({"sdk": "python", "job": job.id, "status": str(job.status), "verified_events": events}))
