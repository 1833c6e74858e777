"""Running ``wrk`` (HTTP load: fixed connections, fixed duration) and parsing its report."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}

#: Random byte ranges of one blob: every request asks for ``length`` bytes at a random offset.
RANGE_SCRIPT = """\
local size = {size}
local length = {length}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  math.randomseed({seed} + 7919 * (id or 0))
end

function request()
  local start = math.random(0, size - length)
  local headers = {{}}
  headers["Range"] = "bytes=" .. start .. "-" .. (start + length - 1)
  return wrk.format("GET", nil, headers)
end
"""


class WrkError(RuntimeError):
    """wrk failed, or its run is unusable (errors, no requests)."""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    requests_per_sec: float
    transfer_per_sec: float
    latency_ms: dict[str, float]
    socket_errors: dict[str, int] = field(default_factory=dict)
    non_2xx_3xx: int = 0
    output: str = ""

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
            "transfer_bytes_per_sec": self.transfer_per_sec,
            "latency_ms": self.latency_ms,
            "socket_errors": self.socket_errors,
            "non_2xx_3xx": self.non_2xx_3xx,
        }


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def _time_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise WrkError(f"unparsable wrk time {text!r}")
    return float(match.group(1)) * _TIME_UNITS_MS[match.group(2)]


def _size_bytes(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(B|KB|MB|GB|TB)", text.strip())
    if not match:
        raise WrkError(f"unparsable wrk size {text!r}")
    return float(match.group(1)) * _SIZE_UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Parse the report of ``wrk --latency``."""
    total = re.search(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+\w+)", output)
    if not total or not rate:
        raise WrkError(f"unexpected wrk output:\n{output[-2000:]}")
    latency: dict[str, float] = {}
    distribution = output.split("Latency Distribution", 1)
    if len(distribution) == 2:
        for percent, value in re.findall(
            r"^\s+(\d+(?:\.\d+)?%)\s+([\d.]+\w+)\s*$", distribution[1], re.M
        ):
            latency[percent] = _time_ms(value)
    for needed in ("50%", "99%"):
        if needed not in latency:
            raise WrkError(f"no {needed} latency in wrk output (was --latency given?)")
    errors: dict[str, int] = {}
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket:
        errors = dict(
            zip(("connect", "read", "write", "timeout"), map(int, socket.groups()), strict=True)
        )
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_time_ms(total.group(2)) / 1000,
        requests_per_sec=float(rate.group(1)),
        transfer_per_sec=_size_bytes(transfer.group(1)) if transfer else 0.0,
        latency_ms=latency,
        socket_errors=errors,
        non_2xx_3xx=int(non_ok.group(1)) if non_ok else 0,
        output=output,
    )


def run_wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    threads: int = 2,
    headers: dict[str, str] | None = None,
    script: str | None = None,
) -> WrkResult:
    """Run wrk against ``url`` for ``duration`` seconds; refuse a run with failed requests."""
    binary = wrk_binary()
    if binary is None:
        raise WrkError("wrk is not installed (Debian package wrk)")
    threads = max(1, min(threads, connections))
    seconds = max(1, round(duration))
    cmd = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        f"{seconds + 30}s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        if script is not None:
            path = Path(tmp) / "script.lua"
            path.write_text(script)
            cmd += ["-s", str(path)]
        cmd.append(url)
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=seconds + 60,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise WrkError(f"wrk did not finish within {seconds + 60}s") from None
    if done.returncode != 0:
        raise WrkError(f"wrk exited {done.returncode}: {done.stderr[-1000:]}")
    result = parse_wrk(done.stdout)
    if result.requests == 0:
        raise WrkError(f"wrk completed no request:\n{done.stdout[-1500:]}")
    if result.non_2xx_3xx:
        raise WrkError(f"{result.non_2xx_3xx} of {result.requests} answers were not 2xx/3xx")
    failed = sum(result.socket_errors.values())
    if failed > max(10, result.requests // 100):
        raise WrkError(f"{failed} socket errors in {result.requests} requests")
    return result
