"""Interleaved A/B runs between long-lived worker processes (``kernel_worker.py``).

A driver starts one worker per contender (a tree, a tuning variant), then gives each a short
chunk of the same work in turn, rotating who goes first every round (A B, B A, …), so every
contender sees the same machine noise. Round 0 warms up and is not kept. Per round, the
contenders' results are paired: the ratio of two contenders in the same round is what the
noise of a shared machine disturbs least, and the spread of those per-round ratios (their
interquartile range) shows how much noise there was.

Pure helpers (``percentile``, ``rotation``, ``split_rounds``, ``paired_ratios``, ``spread``,
``redraw_summary``, ``train_summary``) are tested in
``tests/test_interleave.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "kernel_worker.py"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 ≤ q ≤ 1) of ``values``, linear between order statistics."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1]; got {q!r}")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def rotation(names: Sequence[str], turn: int) -> list[str]:
    """``names`` rotated left by ``turn``: who goes first changes every turn."""
    if not names:
        return []
    k = turn % len(names)
    return [*names[k:], *names[:k]]


def split_rounds(rounds: int, parts: int) -> list[int]:
    """``rounds`` split into ``parts`` blocks as even as possible (the first ones one larger)."""
    if rounds < 1 or parts < 1:
        raise ValueError(f"rounds and parts must be ≥ 1; got {rounds} and {parts}")
    parts = min(parts, rounds)
    return [rounds // parts + (b < rounds % parts) for b in range(parts)]


def paired_ratios(new: Sequence[float], base: Sequence[float]) -> list[float]:
    """Per-round ratios ``new[r] / base[r]`` of two contenders' results in the same rounds."""
    if len(new) != len(base):
        raise ValueError(f"rounds differ: {len(new)} against {len(base)}")
    return [a / b for a, b in zip(new, base, strict=True)]


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(25th percentile, median, 75th percentile) of ``values``."""
    return percentile(values, 0.25), percentile(values, 0.5), percentile(values, 0.75)


class WorkerProcess:
    """A ``kernel_worker.py`` process importing nfwidgets from ``tree``; ``ask`` sends one
    command and returns its answer."""

    def __init__(self, name: str, tree: Path, args: Sequence[str] = (),
                 env: dict[str, str] | None = None) -> None:
        self.name, self.tree = name, Path(tree).resolve()
        full_env = dict(os.environ)
        full_env.pop("PYTHONPATH", None)
        full_env |= env or {}
        full_env["PYTHONPATH"] = str(self.tree)
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=full_env, cwd=str(HERE))
        self.hello = self._read()
        where = Path(self.hello.get("nfwidgets", "")).resolve()
        if self.tree not in where.parents:
            self.close()
            raise RuntimeError(f"worker {name} imported nfwidgets from {where}, not from "
                               f"{self.tree}")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} ended (exit code {self.proc.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"worker {self.name}: {answer['error']}")
        return answer

    def ask(self, **command: object) -> dict:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"task": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def redraw_summary(chunks: list[dict]) -> dict:
    """Pooled p50 / p95 (wall ms) and CPU p50 of every move in ``chunks``, and each chunk's p50
    (one per round, for pairing)."""
    ms = [v for c in chunks for v in c["ms"]]
    cpu = [v for c in chunks for v in c["cpu_ms"]]
    return {"p50_ms": statistics.median(ms), "p95_ms": percentile(ms, 0.95),
            "cpu_p50_ms": statistics.median(cpu), "moves": len(ms),
            "round_p50_ms": [statistics.median(c["ms"]) for c in chunks],
            "missed_redraws": sum(len(c["ms"]) - c["redraws"] for c in chunks)}


def train_summary(chunks: list[dict], steps: int) -> dict:
    """Steps/s over all chunks (wall and CPU) and each chunk's steps/s."""
    wall = sum(c["seconds"] for c in chunks)
    cpu = sum(c["cpu_s"] for c in chunks)
    return {"steps_per_s": steps * len(chunks) / wall, "cpu_steps_per_s": steps * len(chunks)
            / cpu, "round_steps_per_s": [steps / c["seconds"] for c in chunks],
            "losses": [c["loss"] for c in chunks]}


def load_line() -> str:
    """The machine's load average, printed under every table: a shared machine's numbers are
    read against it."""
    import os

    loads = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"load average (1, 5, 15 min) at the end: {loads} on {os.cpu_count()} cores"
