"""The verify step: a bounded load through the load balancer, gated, and a capacity report.

    python -m pipelines verify --target lab|dev|staging|prod [--seconds 5] [--connections 8]

wrk loads each route in turn for a few seconds at a fixed concurrency. The gate: on every route,
at most ``MAX_ERROR_RATE`` of the requests fail (non-2xx/3xx or socket errors) and the p99 latency
stays under ``MAX_P99_MS``. The report (requests/s and latency percentiles per route) is written to
``build/capacity/<target>/<release>.json`` and compared with the previous release's.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from pipelines import build_image
from pipelines.runner import ROOT, StepFailed, say, shown
from pipelines.targets import resolve

REPORTS = ROOT / "build" / "capacity"
# The gate. The lab shares two cores with everything else, so its latency bound is generous.
MAX_ERROR_RATE = 0.001
MAX_P99_MS = 1500.0
PERCENTILES = ("50", "75", "90", "99")
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str) -> dict[str, float]:
    """requests/s, requests, errors and latency percentiles (ms) from ``wrk --latency`` output."""
    def number(pattern: str) -> float:
        match = re.search(pattern, output, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    figures = {"rps": number(r"Requests/sec:\s+([\d.]+)"), "requests": number(r"(\d+) requests in")}
    for percentile in PERCENTILES:
        # wrk pads a one-letter unit to two characters ("1.20s "): the line may end in a space.
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
        figures[f"p{percentile}_ms"] = float(match.group(1)) * UNITS_MS[match.group(2)] if match else 0.0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    figures["non_2xx"] = number(r"Non-2xx or 3xx responses: (\d+)")
    figures["timeouts"] = float(socket.group(4)) if socket else 0.0
    figures["errors"] = figures["non_2xx"] + (sum(int(n) for n in socket.groups()) if socket else 0)
    return figures


def latency_missing(figures: dict[str, float]) -> str:
    """Why a wrk run has no latency percentiles ("" when it has them): wrk prints 0.00us when no
    response arrived within its timeout, and no real response takes 0 us."""
    if figures["p50_ms"] > 0:
        return ""
    if figures["timeouts"]:
        return f"no latency: {figures['timeouts']:.0f} requests timed out and none finished in time"
    return "no latency: no response finished within the run"


def lua_rotating_get(paths: list[str]) -> str:
    """A wrk script that GETs ``paths`` in turn."""
    items = ",".join(json.dumps(path) for path in paths)
    return f"""
local paths = {{{items}}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
"""


def wrk(url: str, seconds: int, connections: int, paths: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_rotating_get(paths))
    command = ["wrk", "--latency", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
               script.name, url]
    try:
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    return parse_wrk(output)


def routes(url: str) -> dict[str, list[str]]:
    """The routes a customer's visit spends its time on, with real product ids and search terms."""
    products = requests.get(f"{url}/api/v1/products", params={"per_page": 20}, timeout=15).json()["items"]
    words = sorted({p["name"].split()[0].lower() for p in products})[:10] or ["lamp"]
    return {
        "liveness /healthz": ["/healthz"],
        "storefront /": ["/"],
        "listing /api/v1/products": [f"/api/v1/products?page={page}" for page in range(1, 4)],
        "product /api/v1/products/<id>": [f"/api/v1/products/{p['id']}" for p in products] or ["/api/v1/products/1"],
        "search /api/v1/products?q=": [f"/api/v1/products?q={word}" for word in words],
    }


def gate(figures: dict[str, dict[str, float]]) -> list[str]:
    problems = []
    for route, f in figures.items():
        rate = f["errors"] / f["requests"] if f["requests"] else 1.0
        if rate > MAX_ERROR_RATE:
            problems.append(f"{route}: {rate * 100:.2f} % errors ({f['errors']:.0f} of {f['requests']:.0f})")
        if f["p99_ms"] > MAX_P99_MS:
            problems.append(f"{route}: p99 {f['p99_ms']:.0f} ms > {MAX_P99_MS:.0f} ms")
    return problems


def previous_report(directory: Path, release: str) -> dict[str, Any] | None:
    reports = [json.loads(p.read_text()) for p in directory.glob("*.json")]
    earlier = sorted((r for r in reports if r["release"] != release), key=lambda r: str(r["at"]))
    return earlier[-1] if earlier else None


def compare(report: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    header = f"{'route':<32} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}"
    lines = [header + (f"  vs {before['release']}: req/s, p99" if before else "  (no earlier release to compare)")]
    for route, f in report["routes"].items():
        line = f"{route:<32} {f['rps']:>8.1f} {f['p50_ms']:>8.1f} {f['p90_ms']:>8.1f} {f['p99_ms']:>8.1f}"
        old = (before or {}).get("routes", {}).get(route)
        if old:
            rps_change = (f["rps"] - old["rps"]) / old["rps"] * 100 if old["rps"] else 0.0
            line += f"  {rps_change:+6.1f} %, {f['p99_ms'] - old['p99_ms']:+7.1f} ms"
        lines.append(line)
    return lines


def verify(target_name: str, seconds: int = 5, connections: int = 8) -> str:
    from lab.engine import require_tool

    require_tool("wrk")
    target = resolve(target_name)
    release = requests.get(f"{target.public_url}/healthz", timeout=10).json()["release"]
    if release != build_image.default_release():
        say(f"    note: {target.name} serves {release}, not this tree's {build_image.default_release()}")
    figures = {}
    for route, paths in routes(target.public_url).items():
        figures[route] = wrk(f"{target.public_url}/", seconds, connections, paths)
    report = {"release": release, "target": target.name, "at": datetime.now(UTC).isoformat(timespec="seconds"),
              "seconds_per_route": seconds, "connections": connections, "routes": figures,
              "gate": {"max_error_rate": MAX_ERROR_RATE, "max_p99_ms": MAX_P99_MS}}
    directory = REPORTS / target.name
    directory.mkdir(parents=True, exist_ok=True)
    before = previous_report(directory, release)
    path = directory / f"{release}.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    for line in compare(report, before):
        say(f"    {line}")
    problems = gate(figures)
    total = sum(f["rps"] for f in figures.values()) / len(figures)
    if problems:
        raise StepFailed(f"gate failed: {'; '.join(problems)} (report {shown(path)})")
    return (f"{release}: gate passed at {connections} connections (mean {total:.0f} req/s per route, worst p99 "
            f"{max(f['p99_ms'] for f in figures.values()):.0f} ms); report {shown(path)}")
