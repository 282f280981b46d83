"""Open-loop load generator for the HTTP figures: a separate process on loopback that sends POST
requests at a fixed arrival rate, whatever the server's speed, bounded in count and time.

Request i is due at start + i / rate. Its latency is counted from that scheduled time (not from
when it was actually sent), so a server (or a generator) that falls behind shows as latency of
every request that waited: no coordinated omission. Requests go over a pool of keep-alive
HTTP/1.1 connections; a request that finds no free connection waits for one (counted), and the
pool grows up to --connections. Requests still unanswered --timeout seconds after their due time
count as errors (and as latency = timeout in the percentiles). Bodies: one per line of
--body-file, cycled. Prints one JSON object: rate, requests, errors, seconds, rps, achieved_rps,
p50_ms, p90_ms, p99_ms, max_ms, late_send_p99_ms (how late the generator itself sent).

    python -m bench.loadgen --port P --path /get-online-features --body-file F --rate 500 \
        --duration 5 --requests 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from bench.common import percentile


def summarize(latencies_s: list[float], errors: int, seconds: float, rate: float | None = None,
              late_s: list[float] | None = None) -> dict:
    """Summary of one load level; latencies in seconds, output in ms."""
    ms = [x * 1000.0 for x in latencies_s]
    return {
        "rate": rate,
        "requests": len(ms),
        "errors": errors,
        "seconds": seconds,
        "rps": len(ms) / seconds if seconds > 0 else 0.0,
        "achieved_rps": (len(ms) - errors) / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "late_send_p99_ms": percentile([x * 1000.0 for x in late_s], 99) if late_s else None,
    }


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def post(self, request_head: bytes, body: bytes) -> int:
        self.writer.write(request_head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


async def run_open_loop(host: str, port: int, path: str, bodies: list[bytes], rate: float, duration: float,
                        max_requests: int, connections: int = 256, timeout: float = 5.0, warmup: int = 50) -> dict:
    clock = time.perf_counter  # the loop's clock has millisecond resolution under uvloop
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Connection: keep-alive\r\nContent-Length: ").encode()
    idle: list[_Connection] = []
    opened = [0]
    freed = asyncio.Condition()

    async def acquire() -> _Connection:
        async with freed:
            while not idle:
                if opened[0] < connections:
                    opened[0] += 1
                    reader, writer = await asyncio.open_connection(host, port)
                    return _Connection(reader, writer)
                await freed.wait()
            return idle.pop()

    async def release(conn: _Connection | None) -> None:
        async with freed:
            if conn is None:
                opened[0] -= 1
            else:
                idle.append(conn)
            freed.notify()

    for _ in range(warmup):  # connection set-up and first-request costs stay out
        conn = await acquire()
        await conn.post(head, bodies[0])
        await release(conn)

    count = max(1, min(max_requests, int(rate * duration)))
    latencies: list[float] = []
    late: list[float] = []
    errors = [0]

    async def one(due: float, body: bytes) -> None:
        conn = None
        try:
            conn = await acquire()
            status = await conn.post(head, body)
            if status != 200:
                errors[0] += 1
            latencies.append(clock() - due)
        except Exception:
            errors[0] += 1
            latencies.append(clock() - due)
            if conn is not None:
                conn.writer.close()
                conn = None
        finally:
            await release(conn)

    start = clock() + 0.01
    tasks = []
    for i in range(count):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        late.append(max(0.0, clock() - due))
        tasks.append(asyncio.ensure_future(one(due, bodies[i % len(bodies)])))
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:  # unanswered within the timeout: errors, counted at the timeout
        task.cancel()
        errors[0] += 1
        latencies.append(timeout)
    seconds = clock() - start
    for conn in idle:
        conn.writer.close()
    return summarize(latencies, errors[0], seconds, rate, late)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/get-online-features")
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second (arrival rate)")
    parser.add_argument("--requests", type=int, default=5000, help="upper bound on requests")
    parser.add_argument("--duration", type=float, default=5.0, help="upper bound on seconds of sending")
    parser.add_argument("--connections", type=int, default=256, help="upper bound on open connections")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds after its due time a request may take")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests before the timed ones")
    args = parser.parse_args(argv)
    with open(args.body_file, "rb") as f:
        bodies = [line.strip() for line in f if line.strip()]
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is installed with uvicorn's extras
        pass
    result = asyncio.run(run_open_loop(args.host, args.port, args.path, bodies, args.rate, args.duration,
                                       args.requests, args.connections, args.timeout, args.warmup))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
