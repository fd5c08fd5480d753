import { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";
export type { components, paths } from "./schema.js";
export type Job = components["schemas"]["Job"];
export type SubmitJobRequest = components["schemas"]["SubmitJobRequest"];
export type BatchJobRequest = components["schemas"]["BatchJobRequest"];
export type BatchItemResult = components["schemas"]["BatchItemResult"];
export type SigningKeyList = components["schemas"]["SigningKeyList"];
export type Problem = components["schemas"]["Problem"];
export type JobEvent = components["schemas"]["JobEvent"];
/** A problem+json answer (RFC 9457), as an error. */
export declare class ProblemError extends Error {
    readonly status: number;
    readonly problem: Problem;
    /** Seconds to wait before trying again (429, 503), when the server said. */
    readonly retryAfter: number | undefined;
    constructor(status: number, problem: Problem, retryAfter?: number);
    /** Each problem's field (`input.delay_ms`) and message. */
    get errors(): {
        field: string;
        message: string;
    }[];
}
/** 400: the request is invalid; `errors` names the fields. */
export declare class ValidationError extends ProblemError {
}
/** 401: no valid token. */
export declare class UnauthorizedError extends ProblemError {
}
/** 403: the token lacks a scope. */
export declare class ForbiddenError extends ProblemError {
}
/** 404: no such job or client (or not the caller's). */
export declare class NotFoundError extends ProblemError {
}
/** 409: not in a state that allows it (canceling a finished job). */
export declare class ConflictError extends ProblemError {
}
/** 422: an idempotency key reused for another request. */
export declare class IdempotencyConflictError extends ProblemError {
}
/** 429: too fast; see `retryAfter`. */
export declare class RateLimitedError extends ProblemError {
}
/** 503: the server is full or its database unreachable; see `retryAfter`. */
export declare class UnavailableError extends ProblemError {
}
/** The typed error of a failed response. */
export declare function problemError(response: Response, body: unknown): ProblemError;
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
export declare class Jobcall {
    readonly api: Client<paths>;
    constructor(options: JobcallOptions);
    /** Submits a job; with `wait`, the finished job if it ends in time. */
    submit(job: SubmitJobRequest, options?: SubmitOptions): Promise<Job>;
    /** Submits up to 100 jobs; one result per job, in order. */
    submitBatch(jobs: BatchJobRequest[]): Promise<BatchItemResult[]>;
    /** The job; with `wait` (seconds, at most 60), once it finishes or the wait ends. */
    getJob(id: string, wait?: number): Promise<Job>;
    /**
     * Waits until the job is terminal, long-polling (no busy polling), for
     * at most `timeoutMs` (default 5 minutes); throws a `TimeoutError` then.
     */
    waitFor(id: string, timeoutMs?: number): Promise<Job>;
    /** The public keys that verify a client's `v1a` signatures. */
    signingKeys(clientId: string): Promise<SigningKeyList>;
}
/** A callback that did not verify. */
export declare class WebhookVerificationError extends Error {
    constructor(message: string);
}
/**
 * Verifies a callback and returns its event. `secret` is the client's
 * `whsec_…` secret (checks `v1` signatures) or a `whpk_…` public key
 * (checks `v1a`, ed25519). `body` is the raw body, as received. Throws a
 * `WebhookVerificationError` unless a signature matches and the timestamp
 * is within 5 minutes of `now` (seconds).
 */
export declare function verifyCallback(headers: Headers | Record<string, string | string[] | undefined>, body: string, secret: string, now?: number): JobEvent;
