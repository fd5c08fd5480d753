// jobcall's TypeScript client: the requests and types of openapi.yaml
// (generated: ./schema.ts, through openapi-fetch), and the few things
// every integration writes by hand: submitting (optionally waiting for the
// job), waiting for a job to finish (long-polling), verifying a callback
// (Standard Webhooks v1 with a `whsec_` secret, v1a with a `whpk_` public
// key), and problem+json answers as typed errors.
import { createHmac, createPublicKey, timingSafeEqual, verify } from "node:crypto";
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths } from "./schema.js";
export type Job = components["schemas"]["Job"];
export type SubmitJobRequest = components["schemas"]["SubmitJobRequest"];
export type BatchJobRequest = components["schemas"]["BatchJobRequest"];
export type BatchItemResult = components["schemas"]["BatchItemResult"];
export type SigningKeyList = components["schemas"]["SigningKeyList"];
export type Problem = components["schemas"]["Problem"];
export type JobEvent = components["schemas"]["JobEvent"];

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

/** A problem+json answer (RFC 9457), as an error. */
export class ProblemError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** Seconds to wait before trying again (429, 503), when the server said. */
  readonly retryAfter: number | undefined;

  constructor(status: number, problem: Problem, retryAfter?: number) {
    super(`${status} ${problem.title}: ${problem.detail}`);
    this.name = new.target.name;
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** Each problem's field (`input.delay_ms`) and message. */
  get errors(): { field: string; message: string }[] {
    return this.problem.errors ?? [];
  }
}
/** 400: the request is invalid; `errors` names the fields. */
export class ValidationError extends ProblemError {}
/** 401: no valid token. */
export class UnauthorizedError extends ProblemError {}
/** 403: the token lacks a scope. */
export class ForbiddenError extends ProblemError {}
/** 404: no such job or client (or not the caller's). */
export class NotFoundError extends ProblemError {}
/** 409: not in a state that allows it (canceling a finished job). */
export class ConflictError extends ProblemError {}
/** 422: an idempotency key reused for another request. */
export class IdempotencyConflictError extends ProblemError {}
/** 429: too fast; see `retryAfter`. */
export class RateLimitedError extends ProblemError {}
/** 503: the server is full or its database unreachable; see `retryAfter`. */
export class UnavailableError extends ProblemError {}

const ERRORS: Record<number, typeof ProblemError> = {
  400: ValidationError,
  401: UnauthorizedError,
  403: ForbiddenError,
  404: NotFoundError,
  409: ConflictError,
  422: IdempotencyConflictError,
  429: RateLimitedError,
  503: UnavailableError,
};

/** The typed error of a failed response. */
export function problemError(response: Response, body: unknown): ProblemError {
  const problem: Problem =
    body && typeof body === "object" && "title" in body
      ? (body as Problem)
      : { type: "about:blank", title: response.statusText, status: response.status, detail: String(body ?? "") };
  const retryAfter = Number(response.headers.get("retry-after") ?? NaN);
  const Kind = ERRORS[response.status] ?? ProblemError;
  return new Kind(response.status, problem, Number.isFinite(retryAfter) ? retryAfter : undefined);
}

function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    throw problemError(result.response, result.error);
  }
  return result.data;
}

export interface JobcallOptions {
  /** `http://127.0.0.1:8080` */
  baseUrl: string;
  /** A bearer token (`jobcall token`). */
  token: string;
  fetch?: typeof globalThis.fetch;
}

export interface SubmitOptions {
  /** Wait up to this many seconds (at most 60) for the job to finish (`Prefer: wait`). */
  wait?: number;
  idempotencyKey?: string;
  /** W3C trace context of the caller's span. */
  traceparent?: string;
}

/** A jobcall client. `api` is the typed client for every operation. */
export class Jobcall {
  readonly api: Client<paths>;

  constructor(options: JobcallOptions) {
    this.api = createClient<paths>({
      baseUrl: options.baseUrl,
      headers: { Authorization: `Bearer ${options.token}` },
      fetch: options.fetch,
    });
  }

  /** Submits a job; with `wait`, the finished job if it ends in time. */
  async submit(job: SubmitJobRequest, options: SubmitOptions = {}): Promise<Job> {
    const header: Record<string, string> = {};
    if (options.wait !== undefined) header["Prefer"] = `wait=${options.wait}`;
    if (options.idempotencyKey !== undefined) header["Idempotency-Key"] = options.idempotencyKey;
    if (options.traceparent !== undefined) header["traceparent"] = options.traceparent;
    return unwrap(await this.api.POST("/v1/jobs", { body: job, params: { header } }));
  }

  /** Submits up to 100 jobs; one result per job, in order. */
  async submitBatch(jobs: BatchJobRequest[]): Promise<BatchItemResult[]> {
    return unwrap(await this.api.POST("/v1/jobs/batch", { body: { jobs } })).data;
  }

  /** The job; with `wait` (seconds, at most 60), once it finishes or the wait ends. */
  async getJob(id: string, wait?: number): Promise<Job> {
    const query = wait === undefined ? {} : { wait };
    return unwrap(await this.api.GET("/v1/jobs/{id}", { params: { path: { id }, query } }));
  }

  /**
   * Waits until the job is terminal, long-polling (no busy polling), for
   * at most `timeoutMs` (default 5 minutes); throws a `TimeoutError` then.
   */
  async waitFor(id: string, timeoutMs = 300_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      const job = await this.getJob(id, Math.max(0, Math.min(60, left)));
      if (TERMINAL.has(job.status)) return job;
      if (Date.now() >= deadline) {
        const error = new Error(`job ${id} did not finish within ${timeoutMs} ms (it is ${job.status})`);
        error.name = "TimeoutError";
        throw error;
      }
      if (left <= 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The public keys that verify a client's `v1a` signatures. */
  async signingKeys(clientId: string): Promise<SigningKeyList> {
    return unwrap(await this.api.GET("/v1/clients/{id}/signing-keys", { params: { path: { id: clientId } } }));
  }
}

/** A callback that did not verify. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

const TOLERANCE_SECONDS = 5 * 60;

function headerOf(headers: Headers | Record<string, string | string[] | undefined>, name: string): string {
  const value =
    headers instanceof Headers
      ? headers.get(name)
      : Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) throw new WebhookVerificationError(`no ${name} header`);
  return text;
}

/**
 * Verifies a callback and returns its event. `secret` is the client's
 * `whsec_…` secret (checks `v1` signatures) or a `whpk_…` public key
 * (checks `v1a`, ed25519). `body` is the raw body, as received. Throws a
 * `WebhookVerificationError` unless a signature matches and the timestamp
 * is within 5 minutes of `now` (seconds).
 */
export function verifyCallback(
  headers: Headers | Record<string, string | string[] | undefined>,
  body: string,
  secret: string,
  now: number = Date.now() / 1000,
): JobEvent {
  const id = headerOf(headers, "webhook-id");
  const timestamp = Number(headerOf(headers, "webhook-timestamp"));
  const signatures = headerOf(headers, "webhook-signature").split(" ");
  if (!Number.isInteger(timestamp)) throw new WebhookVerificationError("unreadable webhook-timestamp");
  if (Math.abs(now - timestamp) > TOLERANCE_SECONDS) {
    throw new WebhookVerificationError("webhook-timestamp is more than 5 minutes away");
  }
  const content = Buffer.from(`${id}.${timestamp}.${body}`);
  let matches: (version: string, signature: Buffer) => boolean;
  if (secret.startsWith("whpk_")) {
    const raw = Buffer.from(secret.slice("whpk_".length), "base64");
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
    matches = (version, signature) => version === "v1a" && verify(null, content, key, signature);
  } else {
    const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    const expected = createHmac("sha256", key).update(content).digest();
    matches = (version, signature) =>
      version === "v1" && signature.length === expected.length && timingSafeEqual(signature, expected);
  }
  const verified = signatures.some((versioned) => {
    const [version, value] = versioned.split(",", 2);
    return value !== undefined && matches(version, Buffer.from(value, "base64"));
  });
  if (!verified) throw new WebhookVerificationError("no signature matches");
  return JSON.parse(body) as JobEvent;
}
