"""Reference outputs for the lessons' ``# NBVAL_CHECK_OUTPUT`` cells, kept outside the notebooks.

Lessons are stored without outputs, and nbval skips the comparison for a cell that has none, so
the reference text of every checked cell lives in ``tests/lesson_outputs.json`` (keyed by
notebook, cell id and a hash of the cell's source). ``inject`` writes copies of the lessons with
those outputs filled in, and nbval then really compares them.

    python tools/lesson_outputs.py record [NOTEBOOK ...]   # run lessons, store checked outputs
    python tools/lesson_outputs.py inject OUT_DIR          # copies with references, for nbval
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
STORE = ROOT / "tests" / "lesson_outputs.json"
MARK = "# NBVAL_CHECK_OUTPUT"

__all__ = ["checked_cells", "inject", "lesson_paths", "load_store", "record", "source_hash"]


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def lesson_paths() -> list[Path]:
    return sorted(p for p in LESSONS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def checked_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith(MARK)]


def load_store() -> dict:
    return json.loads(STORE.read_text()) if STORE.exists() else {}


def _text_outputs(outputs: list) -> list[dict]:
    """Keep the comparable part of outputs: stream text and text/plain results."""
    kept = []
    for o in outputs:
        if o.get("output_type") == "stream":
            kept.append({"output_type": "stream", "name": o["name"], "text": o["text"]})
        elif o.get("output_type") in ("execute_result", "display_data"):
            text = o.get("data", {}).get("text/plain")
            if text is not None:
                kept.append({"output_type": o["output_type"], "text/plain": text})
    return kept


def record(paths: list[Path]) -> None:
    from nbclient import NotebookClient

    for path in paths:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        rel = str(path.relative_to(LESSONS))
        entry = {c.id: {"source_sha": source_hash(c.source),
                        "outputs": _text_outputs(c.outputs)} for c in checked_cells(nb)}
        noisy = [cid for cid, e in entry.items()
                 if any(o.get("name") == "stderr" for o in e["outputs"])]
        if noisy:  # warnings carry temp paths and would never compare equal: fix them instead
            raise SystemExit(f"{rel}: checked cell(s) {noisy} wrote to stderr (a warning?); "
                             "a reference must hold only rounded numbers")
        store = load_store()  # re-read just before writing: others may have recorded meanwhile
        store[rel] = entry
        STORE.write_text(json.dumps(store, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"recorded {len(entry)} checked cell(s) of {rel}")


def _as_nbformat_output(o: dict, count: int) -> nbformat.NotebookNode:
    if o["output_type"] == "stream":
        return nbformat.v4.new_output("stream", name=o["name"], text=o["text"])
    if o["output_type"] == "execute_result":
        return nbformat.v4.new_output("execute_result", data={"text/plain": o["text/plain"]},
                                      execution_count=count)
    return nbformat.v4.new_output("display_data", data={"text/plain": o["text/plain"]})


def inject(out_dir: Path) -> list[str]:
    """Write lessons with reference outputs to ``out_dir``; returns problems (stale/missing)."""
    store = load_store()
    problems = []
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(LESSONS, out_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in lesson_paths():
        rel = str(path.relative_to(LESSONS))
        nb = nbformat.read(path, as_version=4)
        refs = store.get(rel, {})
        for count, cell in enumerate(checked_cells(nb), start=1):
            ref = refs.get(cell.id)
            if ref is None:
                problems.append(f"{rel}: checked cell {cell.id} has no reference output")
                continue
            if ref["source_sha"] != source_hash(cell.source):
                problems.append(f"{rel}: checked cell {cell.id} changed since its reference "
                                "was recorded")
            cell.execution_count = count
            cell.outputs = [_as_nbformat_output(o, count) for o in ref["outputs"]]
        nbformat.write(nb, out_dir / rel)
    return problems


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "record":
        record([Path(p).resolve() for p in argv[1:]] or lesson_paths())
        return 0
    if len(argv) == 2 and argv[0] == "inject":
        problems = inject(Path(argv[1]))
        for p in problems:
            print("lesson_outputs:", p, "- run: python tools/lesson_outputs.py record",
                  file=sys.stderr)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
