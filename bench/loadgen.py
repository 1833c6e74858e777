"""A small closed-loop HTTP/1.1 load generator, for what wrk cannot do: HEAD requests.

wrk's response parser is never told that a request was HEAD, so it waits for the
``Content-Length`` bytes of a body that never comes (0 requests complete). This generator works
like wrk: ``connections`` keep-alive connections split over ``processes`` OS processes (one
event loop each, uvloop when installed), each sending the next request as soon as the previous
answer arrived, for a fixed duration; it reports requests/s and latency percentiles.

``python -m bench.loadgen --url URL --method HEAD -c 64 -d 10 -H 'Accept: ...'`` runs one
process and prints JSON; ``run_load`` starts several and merges them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    requests: int
    seconds: float
    requests_per_sec: float
    latency_ms: dict[str, float]
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        return self.latency_ms["50%"]

    @property
    def p99_ms(self) -> float:
        return self.latency_ms["99%"]

    def summary(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "seconds": self.seconds,
            "requests_per_sec": self.requests_per_sec,
            "latency_ms": self.latency_ms,
            "errors": self.errors,
            "tool": "bench.loadgen",
        }


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def _connection(
    host: str,
    port: int,
    request: bytes,
    head: bool,
    deadline: float,
    latencies: list[float],
    errors: dict[str, int],
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while time.monotonic() < deadline:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            started = time.perf_counter()
            try:
                writer.write(request)
                header = await reader.readuntil(b"\r\n\r\n")
                status = int(header[9:12])
                length = 0
                close = False
                for line in header.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    lowered = name.strip().lower()
                    if lowered == b"content-length":
                        length = int(value)
                    elif lowered == b"connection" and value.strip().lower() == b"close":
                        close = True
                if not head and length:
                    await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                errors["read"] = errors.get("read", 0) + 1
                writer.close()
                writer = None
                continue
            if time.monotonic() <= deadline:
                latencies.append(time.perf_counter() - started)
                if not 200 <= status < 400:
                    errors["status"] = errors.get("status", 0) + 1
            if close:
                writer.close()
                writer = None
    except OSError:
        errors["connect"] = errors.get("connect", 0) + 1
    finally:
        if writer is not None:
            writer.close()


async def _run(
    url: str, method: str, connections: int, duration: float, headers: dict[str, str]
) -> dict[str, object]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    started = time.monotonic()
    deadline = started + duration
    tasks = [
        _connection(host, port, request, method == "HEAD", deadline, latencies, errors)
        for _ in range(connections)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + 30)
    seconds = min(time.monotonic(), deadline) - started
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "latencies_us": [round(value * 1e6) for value in latencies],
        "errors": errors,
    }


def run_load(
    url: str,
    *,
    method: str = "HEAD",
    connections: int,
    duration: float,
    processes: int = 2,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Run ``processes`` generator processes at once, ``connections`` in all; merge them."""
    processes = max(1, min(processes, connections))
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    header_args: list[str] = []
    for name, value in (headers or {}).items():
        header_args += ["-H", f"{name}: {value}"]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.loadgen",
                "--url",
                url,
                "--method",
                method,
                "-c",
                str(share),
                "-d",
                str(duration),
                *header_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        for share in shares
    ]
    outputs = []
    try:
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=duration + 60)
            except subprocess.TimeoutExpired:
                raise RuntimeError("load generator did not finish in time") from None
            if proc.returncode != 0:
                message = err.decode(errors="replace")[-1000:]
                raise RuntimeError(f"load generator failed: {message}")
            outputs.append(json.loads(out))
    finally:
        for proc in procs:  # on any failure or Ctrl-C: none of them outlives the call
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    latencies = sorted(value / 1000 for output in outputs for value in output["latencies_us"])
    errors: dict[str, int] = {}
    for output in outputs:
        for key, count in output["errors"].items():
            errors[key] = errors.get(key, 0) + count
    seconds = max(float(output["seconds"]) for output in outputs)
    rate = sum(len(output["latencies_us"]) / float(output["seconds"]) for output in outputs)
    if not latencies:
        raise RuntimeError(f"load generator completed no request (errors: {errors})")
    if errors.get("status"):
        raise RuntimeError(f"{errors['status']} answers were not 2xx/3xx")
    return LoadResult(
        requests=len(latencies),
        seconds=seconds,
        requests_per_sec=rate,
        latency_ms={f"{p:g}%": percentile(latencies, p / 100) for p in (50, 75, 90, 99)},
        errors=errors,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="HEAD", choices=("HEAD", "GET"))
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=10.0)
    parser.add_argument("-H", "--header", action="append", default=[])
    args = parser.parse_args(argv)
    headers = dict(
        (name.strip(), value.strip())
        for name, _, value in (item.partition(":") for item in args.header)
    )
    coroutine = _run(args.url, args.method, args.connections, args.duration, headers)
    try:
        import uvloop

        result = uvloop.run(coroutine)
    except ImportError:
        result = asyncio.run(coroutine)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
