#!/usr/bin/env python3
"""What concurrent long-polls cost the server in memory.

Starts `jobcall serve` (the binary given) on 127.0.0.1 with a scratch
SQLite database, submits one job that runs for an hour, then holds N
concurrent `GET /v1/jobs/{id}?wait=60` of one client open over raw sockets,
and reports the server's RSS before, while they wait, and after they are
gone (twice, to tell memory kept for reuse from memory that grows).

Talks only to 127.0.0.1; stops the server it started. Not run in CI (it
takes a minute and wants a few thousand file descriptors):

    cargo build --release --bin jobcall   # or a debug build; say which
    python3 ci/longpoll_memory.py target/release/jobcall --waits 5000

Extra server settings may be given as NAME=VALUE after `--env`, e.g.
`--env MALLOC_ARENA_MAX=2` to compare allocator settings.
"""

import argparse
import asyncio
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

JWT_SECRET = "longpoll-memory-measurement-secret-32-bytes!!"
SECRETS_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def steady_rss(pid, seconds=30):
    """RSS once it stops moving: the gauge counts a long-poll from its
    start, before its first read of the job is done."""
    last = rss_kib(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        now = rss_kib(pid)
        if abs(now - last) <= last // 200:
            return now
        last = now
    return last


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(base, method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, data, timeout=30) as response:
        return response.read().decode()


def waiting(base):
    text = http(base, "GET", "/metrics")
    match = re.search(r"^jobcall_http_long_polls_waiting (\d+)", text, re.M)
    return int(match.group(1)) if match else -1


async def settle(base, want, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if waiting(base) == want:
            return True
        await asyncio.sleep(0.2)
    return False


async def open_waits(port, path, token, count, batch=250):
    """`count` connections, each with one long-poll sent and unanswered."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    writers = []
    for start in range(0, count, batch):
        # In batches: the listen backlog is finite.
        pairs = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", port) for _ in range(min(batch, count - start)))
        )
        for _, writer in pairs:
            writer.write(request)
        await asyncio.gather(*(writer.drain() for _, writer in pairs))
        writers.extend(writer for _, writer in pairs)
    return writers


async def close_all(writers):
    for writer in writers:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


async def measure(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.waits + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    data = tempfile.mkdtemp(prefix="jobcall-longpoll-")
    port = free_port()
    env = dict(
        os.environ,
        JOBCALL_DATA_DIR=data,
        JOBCALL_LISTEN=f"127.0.0.1:{port}",
        JOBCALL_JWT_SECRET=JWT_SECRET,
        JOBCALL_SECRETS_KEY=SECRETS_KEY,
        JOBCALL_LOG_LEVEL="error",
        JOBCALL_HTTP_WORKERS=str(args.http_workers),
        JOBCALL_MAX_WAITS_PER_CLIENT=str(args.cap),
        JOBCALL_SUBMIT_RATE_PER_CLIENT="0",
    )
    for pair in args.env:
        name, _, value = pair.partition("=")
        env[name] = value
    client = json.loads(
        subprocess.check_output([args.binary, "client", "create", "longpoll", "--json"], env=env)
    )
    token = subprocess.check_output(
        [args.binary, "token", "--client", client["id"]], env=env, text=True
    ).strip()
    log = open(os.path.join(data, "server.log"), "w")
    server = subprocess.Popen([args.binary, "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                http(base, "GET", "/healthz")
                break
            except OSError:
                time.sleep(0.05)
        job = json.loads(
            http(
                base,
                "POST",
                "/v1/jobs",
                token,
                {"kind": "echo", "input": {"delay_ms": 3_600_000, "message": "x" * args.input_bytes}},
            )
        )
        path = f"/v1/jobs/{job['id']}?wait=60"
        # Warm up: the code paths of a long-poll, and of a plain read.
        warm = await open_waits(port, path, token, 20)
        await settle(base, 20)
        await close_all(warm)
        await settle(base, 0)
        await asyncio.sleep(1)
        figures = {"before": rss_kib(server.pid)}
        for burst in (1, 2):
            started = time.monotonic()
            writers = await open_waits(port, path, token, args.waits)
            if not await settle(base, args.waits):
                print(f"only {waiting(base)} of {args.waits} waits are waiting", file=sys.stderr)
            figures[f"during_{burst}"] = steady_rss(server.pid)
            figures[f"open_seconds_{burst}"] = round(time.monotonic() - started, 1)
            await close_all(writers)
            await settle(base, 0)
            # The server hands memory back within seconds of a burst's end.
            await asyncio.sleep(args.settle_seconds)
            figures[f"after_{burst}"] = steady_rss(server.pid)
        figures["per_wait_kib"] = round(
            (figures["during_1"] - figures["before"]) / args.waits, 1
        )
        figures["waits"] = args.waits
        figures["input_bytes"] = args.input_bytes
        figures["env"] = args.env
        print(json.dumps(figures))
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--waits", type=int, default=5000)
    parser.add_argument("--cap", type=int, default=0, help="JOBCALL_MAX_WAITS_PER_CLIENT (0 = unlimited)")
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--input-bytes", type=int, default=0, help="size of the waited-on job's input")
    parser.add_argument("--settle-seconds", type=float, default=12, help="wait before the 'after' figure")
    parser.add_argument("--env", nargs="*", default=[])
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
