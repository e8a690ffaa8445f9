"""Helpers shared by the benchmark scripts: timing, memory, machine facts, subprocess workers,
network guard, JSON output and plots.

Benchmark outputs hold metrics, counts and versions only — never note text.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent


def dev_half(doc_id: str) -> str:
    """``"A"`` or ``"B"``: the half of a dev split a document falls in (hash of its id)."""
    return "AB"[int(hashlib.sha256(doc_id.encode("utf-8")).hexdigest(), 16) % 2]


def default_corpora_dir() -> Path:
    """``$ALIA_CLIN_CORPORA``, else ``../shared/corpora`` relative to the repository root."""
    env = os.environ.get("ALIA_CLIN_CORPORA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "corpora").resolve()


# ----------------------------------------------------------------------------------------- timing


@dataclass
class Timing:
    """Wall-clock timing of full passes over a corpus (warm-up excluded)."""

    n_docs: int
    n_chars: int
    runs_s: list[float]
    warmup_docs: int

    @property
    def best_s(self) -> float:
        """The fastest full pass."""
        return min(self.runs_s)

    def to_dict(self) -> dict[str, Any]:
        """Throughput from the best run plus the raw run times."""
        return {
            **asdict(self),
            "wall_s": self.best_s,
            "docs_per_s": self.n_docs / self.best_s if self.best_s else 0.0,
            "chars_per_s": self.n_chars / self.best_s if self.best_s else 0.0,
        }


def time_best_of(
    run: Callable[[Sequence[str]], T],
    texts: Sequence[str],
    *,
    repeats: int = 2,
    warmup: int = 1,
) -> tuple[Timing, T]:
    """Run ``run(texts)`` once on ``texts[:warmup]`` untimed, then ``repeats`` timed full passes.

    Returns the timing and the result of the last pass. ``run`` must consume its input fully
    (return a list, not a lazy generator).
    """
    if warmup:
        run(texts[:warmup])
    runs: list[float] = []
    result: T | None = None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = run(texts)
        runs.append(time.perf_counter() - start)
    assert result is not None
    timing = Timing(len(texts), sum(len(t) for t in texts), runs, warmup)
    return timing, result


# ----------------------------------------------------------------------------------------- memory


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss``; KiB on Linux)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024  # macOS reports bytes
    return maxrss / divisor


def current_rss_mb() -> float:
    """Current resident set size of this process in MiB (from /proc, else ru_maxrss)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


# ---------------------------------------------------------------------------------------- network


class NetworkGuard:
    """Refuse and count every outgoing connection and DNS lookup made in this process.

    Installed before a system is built, it proves (``attempts == 0``) that the benchmarked
    system did not try to reach the network; a library that swallows the error is still counted.
    """

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def install(self) -> NetworkGuard:
        """Monkeypatch ``socket`` connect/lookup entry points."""
        guard = self

        def refuse(kind: str) -> Callable[..., Any]:
            def _refused(*args: Any, **kwargs: Any) -> Any:
                guard.attempts.append(kind)
                raise OSError(f"network disabled by the benchmark ({kind})")

            return _refused

        socket.socket.connect = refuse("connect")  # type: ignore[method-assign]
        socket.socket.connect_ex = refuse("connect_ex")  # type: ignore[method-assign]
        socket.create_connection = refuse("create_connection")
        socket.getaddrinfo = refuse("getaddrinfo")
        return self


# --------------------------------------------------------------------------------- machine facts


def package_version(name: str) -> str | None:
    """Installed distribution version, without importing the package."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """Python, OS, CPU and core counts of this machine."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "total_memory_gb": _total_memory_gb(),
    }


def _total_memory_gb() -> float | None:
    """Physical memory from /proc/meminfo, in GiB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            kib = int(fh.readline().split()[1])
        return round(kib / (1024 * 1024), 1)
    except (OSError, ValueError, IndexError):
        return None


def versions(names: Sequence[str]) -> dict[str, str | None]:
    """``{distribution: version}`` for the given distributions."""
    return {name: package_version(name) for name in names}


def run_facts(network_attempts: int) -> dict[str, Any]:
    """The closing facts of an encoder benchmark's result: peak RSS, network attempts seen by
    the guard, machine and package versions."""
    return {
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "network_attempts": network_attempts,
        "machine": machine_info(),
        "versions": versions(["alia-clin", "spacy", "torch", "transformers"]),
    }


# -------------------------------------------------------------------------------------- workers


def run_worker(script: Path, args: Sequence[str], *, timeout_s: float = 1800) -> dict[str, Any]:
    """Run ``python script *args`` in a fresh interpreter and parse the JSON it writes to stdout's
    last line. A fresh process per system keeps peak-RSS figures independent of each other."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"worker {' '.join(args[:2])} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------- output


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented UTF-8 JSON, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")


def write_result(out: Path, result: dict[str, Any], plot: Callable[[dict[str, Any], Path], None]) -> None:
    """Write ``<out>.json`` and draw ``<out>.png`` with ``plot(result, path)``."""
    write_json(out.with_suffix(".json"), result)
    plot(result, out.with_suffix(".png"))


def plot_labels_and_speed(
    path: Path,
    *,
    labels: Sequence[str],
    scores: Mapping[str, Sequence[float]],
    speed: Mapping[str, float],
    score_title: str,
    speed_title: str,
    speed_unit: str = "documents / second",
    suptitle: str = "",
) -> None:
    """Two panels: grouped horizontal bars of a per-label score for each system (left), one bar
    per system for throughput (right). Uses the Agg backend; writes a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(scores)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, max(4.0, 0.32 * len(labels) + 1.5)), gridspec_kw={"width_ratios": [3, 1]}
    )
    height = 0.8 / max(1, len(systems))
    for i, system in enumerate(systems):
        ys = [j + (i - (len(systems) - 1) / 2) * height for j in range(len(labels))]
        left.barh(ys, scores[system], height=height, label=system, color=f"C{i}")
    left.set_yticks(range(len(labels)))
    left.set_yticklabels(labels, fontsize=8)
    left.invert_yaxis()
    left.set_xlim(0, 1)
    left.set_title(score_title)
    left.legend(loc="lower right", fontsize=8)
    left.grid(axis="x", alpha=0.3)

    bars = right.bar(systems, [speed[s] for s in systems], color=[f"C{i}" for i in range(len(systems))])
    right.bar_label(bars, fmt="%.1f", fontsize=8)
    right.set_ylabel(speed_unit)
    right.set_title(speed_title)
    right.tick_params(axis="x", labelsize=8)
    right.grid(axis="y", alpha=0.3)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
