"""Make a shipped checkpoint again: ``python -m nfwidgets.models.train NAME [--seed S] [--out F]``.

``NAME`` is one of ``nfwidgets.models.pretrained.PRETRAINED`` (``glow-digits``,
``flowvae-digits-k0`` … ``-k16``; ``all`` makes every one). With the default seed the result is
the checkpoint that ships (same torch version and CPU: training is seeded end to end).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from .._checks import MAX_SEED, check_count, shown
from .pretrained import PRETRAINED, _resolve, save_checkpoint

__all__ = ["main", "train"]


def train(name: str, seed: int = 0, out: Path | None = None) -> Path:
    """Train checkpoint ``name`` from ``seed`` and write it (default: the shipped file)."""
    if not isinstance(name, str) or name not in PRETRAINED:
        raise ValueError(f"name must be one of {sorted(PRETRAINED)}; got {shown(name)}")
    seed = check_count("seed", seed, owner="train", lo=0, hi=MAX_SEED)
    start = time.perf_counter()
    model, meta = _resolve(PRETRAINED[name].trainer)(seed=seed)
    meta = {**meta, "name": name, "seed": seed, "torch": str(torch.__version__),
            "command": f"python -m nfwidgets.models.train {name} --seed {seed}",
            "train_seconds": round(time.perf_counter() - start, 1)}
    return save_checkpoint(model, name, meta, out)


def main(argv: list[str] | None = None) -> int:
    names = sorted(n for n in PRETRAINED if n != "flowvae-digits")
    parser = argparse.ArgumentParser(prog="python -m nfwidgets.models.train",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=[*names, "all"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write (default: the package's checkpoint)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    todo = names if args.name == "all" else [args.name]
    if args.out is not None and len(todo) > 1:
        parser.error("--out needs a single NAME")
    for name in todo:
        path = train(name, args.seed, args.out)
        print(f"{name}: wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
