// The TypeScript SDK, as installed (`npm install --install-links
// ./sdk/typescript`), against a live jobcall (the e2e harness starts one:
// see tests/e2e/tools.rs). Configured by JOBCALL_URL, JOBCALL_TOKEN (every
// scope), JOBCALL_CLIENT_ID and JOBCALL_SIGNING_SECRET. Run with `node --test`.
import assert from "node:assert/strict";
import http from "node:http";
import { after, test } from "node:test";
import {
  IdempotencyConflictError,
  Jobcall,
  NotFoundError,
  ValidationError,
  WebhookVerificationError,
  verifyCallback,
} from "jobcall";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const jc = new Jobcall({ baseUrl: process.env.JOBCALL_URL, token: process.env.JOBCALL_TOKEN });

const received = [];
const server = http.createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk.toString()));
  request.on("end", () => {
    received.push({ headers: request.headers, body });
    response.writeHead(204).end();
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const hook = `http://127.0.0.1:${server.address().port}/hook`;
after(() => server.close());

test("a fast job comes back finished when the submission waits", async () => {
  const job = await jc.submit({ kind: "echo", input: { message: "quick" } }, { wait: 10 });
  assert.equal(job.status, "succeeded");
  assert.deepEqual(job.result, { message: "quick" });
});

test("waitFor long-polls to the end, and times out", async () => {
  const job = await jc.submit({ kind: "echo", input: { delay_ms: 500 } });
  assert.ok(["queued", "running"].includes(job.status));
  assert.equal((await jc.waitFor(job.id, 30_000)).status, "succeeded");
  const slow = await jc.submit({ kind: "echo", input: { delay_ms: 20_000 } });
  const started = Date.now();
  await assert.rejects(jc.waitFor(slow.id, 1_000), { name: "TimeoutError" });
  assert.ok(Date.now() - started < 10_000);
});

test("errors are typed", async () => {
  const refused = await jc.submit({ kind: "no.such.kind" }).catch((e) => e);
  assert.ok(refused instanceof ValidationError, String(refused));
  assert.equal(refused.status, 400);
  assert.deepEqual(refused.errors.map((e) => e.field), ["kind"]);
  await assert.rejects(jc.getJob("job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z"), NotFoundError);
  await jc.submit({ kind: "echo", input: { message: 1 } }, { idempotencyKey: "ts-key" });
  await assert.rejects(jc.submit({ kind: "echo", input: { message: 2 } }, { idempotencyKey: "ts-key" }), IdempotencyConflictError);
});

test("a batch answers each item", async () => {
  const results = await jc.submitBatch([{ kind: "echo" }, { kind: "no.such.kind" }]);
  assert.deepEqual(results.map((r) => r.status), [202, 400]);
  assert.equal(results[0].job.status, "queued");
  assert.equal(results[1].error.errors[0].field, "jobs[1].kind");
});

test("callbacks verify with the secret and with the public key", async () => {
  const clientId = process.env.JOBCALL_CLIENT_ID;
  const updated = await jc.api.PATCH("/v1/clients/{id}", {
    params: { path: { id: clientId } },
    body: { signatures: ["v1", "v1a"] },
  });
  assert.equal(updated.response.status, 200);
  const publicKey = (await jc.signingKeys(clientId)).data[0].public_key;
  assert.match(publicKey, /^whpk_/);
  const job = await jc.submit(
    { kind: "echo", callback_url: hook, callback_events: ["job.started", "job.succeeded"] },
    { traceparent: TRACEPARENT },
  );
  const deadline = Date.now() + 20_000;
  while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(received.length, 2);
  for (const { headers, body } of received) {
    for (const key of [process.env.JOBCALL_SIGNING_SECRET, publicKey]) {
      assert.equal(verifyCallback(headers, body, key).data.id, job.id);
    }
    assert.equal(headers.traceparent.split("-")[1], TRACEPARENT.split("-")[1]);
    assert.throws(() => verifyCallback(headers, body + " ", publicKey), WebhookVerificationError);
    assert.throws(() => verifyCallback(headers, body, `whsec_${"A".repeat(43)}=`), WebhookVerificationError);
    assert.throws(() => verifyCallback(headers, body, publicKey, Date.now() / 1000 + 3600), WebhookVerificationError);
  }
  assert.deepEqual(received.map(({ body }) => JSON.parse(body).type), ["job.started", "job.succeeded"]);
});
