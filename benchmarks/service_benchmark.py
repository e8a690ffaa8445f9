"""Load benchmark of ``alia-clin serve`` on loopback: latency percentiles, throughput, errors and
server memory over time.

Starts ``alia-clin serve`` (``--model alia-clin-rules``, real FHIR mapping) as a subprocess on a free
127.0.0.1 port, then for each concurrency level runs that many closed-loop clients (httpx, one
request in flight each) posting the shipped synthetic notes as DocumentReferences to
``$analyze``, for a bounded time and request count. A final soak phase keeps a steady load to
check that the server's resident memory does not grow. The server RSS is sampled once a second.

    python benchmarks/service_benchmark.py --out benchmarks/results/service
    # quick: --levels 1,4 --level-seconds 10 --soak-seconds 20

Writes ``<out>.json`` (percentiles, throughput, status counts, RSS series, settings, machine,
versions) and ``<out>.png``. Nothing from the notes is written. The load generator runs on the
same machine as the server and competes with it for the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, machine_info, versions, write_json

API_KEY = "benchmark-key-not-secret-0001"


def _notes() -> list[dict[str, Any]]:
    examples = resources.files("alia_clin") / "resources" / "examples"
    out = []
    for path in sorted(p for p in examples.iterdir() if p.name.endswith(".txt")):
        text = path.read_text(encoding="utf-8")
        out.append(
            {
                "resourceType": "DocumentReference",
                "id": path.name[:-4],
                "status": "current",
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/plain; charset=utf-8",
                            "language": path.name[:2],
                            "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                        }
                    }
                ],
            }
        )
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(port: int, *, concurrency: int, queue: int, log_path: Path) -> subprocess.Popen[bytes]:
    """``alia-clin serve`` with a benchmark API key; returns once /readyz is 200."""
    from alia_clin.service.auth import hash_api_key

    env = {
        **os.environ,
        "ALIA_API_KEYS": f'[{{"sha256": "{hash_api_key(API_KEY)}", "name": "bench"}}]',
        "ALIA_SECRET": "benchmark-secret",
        "ALIA_MAX_CONCURRENCY": str(concurrency),
        "ALIA_MAX_QUEUE": str(queue),
        "ALIA_REQUEST_TIMEOUT_S": "60",
    }
    exe = Path(sys.executable).parent / "alia-clin"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--model", "alia-clin-rules"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("alia-clin serve exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    proc.terminate()
    raise RuntimeError("alia-clin serve did not become ready")


class RssSampler(threading.Thread):
    """Samples the server's RSS (MiB) once a second with the current phase label."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.samples: list[tuple[float, float, str]] = []
        self.phase = "idle"
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                rss = self.proc.memory_info().rss / (1024 * 1024)
            except psutil.Error:
                return
            self.samples.append((round(time.monotonic() - self.t0, 2), round(rss, 1), self.phase))
            self.stop.wait(1.0)


async def run_level(
    base: str, notes: list[dict[str, Any]], clients: int, seconds: float, max_requests: int
) -> dict[str, Any]:
    """``clients`` closed-loop clients for ``seconds`` (or ``max_requests`` in all)."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    issued = 0
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/fhir+json"}
    url = f"{base}/fhir/DocumentReference/$analyze"
    stop_at = time.monotonic() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        nonlocal issued
        k = i
        while time.monotonic() < stop_at and issued < max_requests:
            issued += 1
            note = notes[k % len(notes)]
            k += clients
            start = time.perf_counter()
            try:
                response = await http.post(url, json=note, headers=headers)
                statuses[str(response.status_code)] += 1
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - start)
            except httpx.HTTPError as exc:
                statuses[exc.__class__.__name__] += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        wall = time.perf_counter() - t0
    ok = len(latencies)
    result: dict[str, Any] = {
        "clients": clients,
        "requests": sum(statuses.values()),
        "ok": ok,
        "errors": sum(v for k, v in statuses.items() if k != "200"),
        "status_counts": dict(statuses),
        "wall_s": round(wall, 2),
        "throughput_rps": round(ok / wall, 2) if wall else 0.0,
    }
    if latencies:
        ms = sorted(x * 1000 for x in latencies)
        q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
        result.update(
            {
                "latency_ms": {
                    "p50": round(q[49], 1),
                    "p95": round(q[94], 1),
                    "p99": round(q[98], 1),
                    "mean": round(statistics.fmean(ms), 1),
                    "max": round(ms[-1], 1),
                }
            }
        )
    return result


def memory_trend(samples: list[tuple[float, float, str]], phase: str) -> dict[str, Any]:
    """RSS at the start and end of ``phase`` (medians of its first and last fifth) and the
    least-squares slope in MiB per minute."""
    pts = [(t, r) for t, r, p in samples if p == phase]
    if len(pts) < 5:
        return {"samples": len(pts)}
    fifth = max(1, len(pts) // 5)
    ts, rs = [t for t, _ in pts], [r for _, r in pts]
    slope = statistics.linear_regression(ts, rs).slope * 60
    return {
        "samples": len(pts),
        "start_mib": statistics.median(rs[:fifth]),
        "end_mib": statistics.median(rs[-fifth:]),
        "max_mib": max(rs),
        "slope_mib_per_min": round(slope, 3),
    }


def plot(path: Path, data: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = data["levels"]
    clients = [lv["clients"] for lv in levels]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    ax = axes[0]
    for key, marker in (("p50", "o"), ("p95", "s"), ("p99", "^")):
        ax.plot(
            clients,
            [lv.get("latency_ms", {}).get(key, float("nan")) for lv in levels],
            marker=marker,
            label=key,
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(clients, [str(c) for c in clients])
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("latency (ms)")
    ax.set_title("$analyze latency")
    ax.legend()
    ax = axes[1]
    bars = ax.bar([str(c) for c in clients], [lv["throughput_rps"] for lv in levels], color="#4c72b0")
    for bar, lv in zip(bars, levels, strict=True):
        ax.annotate(
            f"{lv['errors']} err",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("notes / second")
    ax.set_title("throughput (errors above bars)")
    ax = axes[2]
    samples = data["rss"]["samples"]
    phases = sorted({p for _, _, p in samples}, key=lambda p: next(t for t, _, q in samples if q == p))
    for phase in phases:
        pts = [(t, r) for t, r, p in samples if p == phase]
        ax.plot([t for t, _ in pts], [r for _, r in pts], ".", markersize=3, label=phase)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("server RSS (MiB)")
    ax.set_title("server memory")
    ax.legend(fontsize=7)
    fig.suptitle(data["title"], fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "service")
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--level-seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=5000, help="Per level.")
    parser.add_argument("--soak-seconds", type=float, default=240.0)
    parser.add_argument("--soak-clients", type=int, default=4)
    parser.add_argument("--server-concurrency", type=int, default=2)
    parser.add_argument("--server-queue", type=int, default=32)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    budget = len(levels) * args.level_seconds + args.soak_seconds
    if budget > 900:
        parser.error(f"the run would take {budget:.0f} s; keep it under 15 minutes")

    notes = _notes()
    port = _free_port()
    log_path = args.out.with_suffix(".server.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()
    proc = start_server(port, concurrency=args.server_concurrency, queue=args.server_queue, log_path=log_path)
    startup_s = time.monotonic() - t_start
    sampler = RssSampler(proc.pid)
    sampler.start()
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        sampler.phase = "warm-up"
        asyncio.run(run_level(base, notes, 1, 5.0, 2 * len(notes)))
        for clients in levels:
            sampler.phase = f"{clients} clients"
            result = asyncio.run(run_level(base, notes, clients, args.level_seconds, args.max_requests))
            print(f"{clients:>3} clients: {result}", file=sys.stderr)
            results.append(result)
        sampler.phase = f"soak ({args.soak_clients} clients)"
        soak = asyncio.run(run_level(base, notes, args.soak_clients, args.soak_seconds, 10**9))
        print(f"soak: {soak}", file=sys.stderr)
    finally:
        sampler.stop.set()
        sampler.join(timeout=5)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    soak_phase = f"soak ({args.soak_clients} clients)"
    chars = [len(base64.b64decode(n["content"][0]["attachment"]["data"]).decode("utf-8")) for n in notes]
    data = {
        "benchmark": "service",
        "title": (
            f"alia-clin serve, $analyze, rules pipeline, {machine_info()['usable_cores']} cores "
            "(load generator on the same machine)"
        ),
        "endpoint": "POST /fhir/DocumentReference/$analyze",
        "notes": {
            "count": len(notes),
            "source": "alia_clin/resources/examples (synthetic)",
            "chars_min": min(chars),
            "chars_max": max(chars),
            "chars_mean": round(statistics.fmean(chars)),
        },
        "server": {
            "model": "alia-clin-rules",
            "max_concurrency": args.server_concurrency,
            "max_queue": args.server_queue,
            "startup_to_ready_s": round(startup_s, 1),
        },
        "levels": results,
        "soak": {**soak, "seconds": args.soak_seconds, "memory": memory_trend(sampler.samples, soak_phase)},
        "total_errors": sum(r["errors"] for r in results) + soak["errors"],
        "rss": {"unit": "MiB", "samples": sampler.samples},
        "machine": machine_info(),
        "versions": versions(["alia-clin", "fastapi", "uvicorn", "httpx", "spacy", "fhir.resources"]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json(args.out.with_suffix(".json"), data)
    plot(args.out.with_suffix(".png"), data)
    log_path.unlink(missing_ok=True)
    print(f"wrote {args.out.with_suffix('.json')} and .png", file=sys.stderr)


if __name__ == "__main__":
    main()
