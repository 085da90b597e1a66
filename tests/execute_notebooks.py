"""Re-execute notebooks in place, top to bottom, in a fresh kernel each.

Usage: python tests/execute_notebooks.py [-j N] [notebooks/01_x.ipynb ...]

With no notebook arguments every chapter in notebooks/ is run. With -j N, N notebooks run at a time,
each in its own kernel (the chapters are single-threaded, so on a 2-core machine -j 2 nearly halves the
wall time; each notebook is still one clean top-to-bottom run). The stored outputs are the
ones nbval later compares against, and the ones the site shows, so this is the
only way outputs should ever get into a committed notebook.
"""

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


FOLDED = {"hide-input": {"source_hidden": True}, "hide-cell": {"source_hidden": True, "outputs_hidden": True}}


def fold_in_jupyter(nb) -> None:
    """Fold in JupyterLab the cells the site folds: plotting code (hide-input) and solutions (hide-cell)."""
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        folded = {k: v for tag in tags if tag in FOLDED for k, v in FOLDED[tag].items()}
        if folded:
            cell.metadata["jupyter"] = folded
        else:
            cell.metadata.pop("jupyter", None)


def merge_streams(nb) -> None:
    """Join consecutive pieces of one stream in a cell, as Jupyter shows them: a print that reached the
    kernel's stdout in several chunks is then stored, shown and compared as one."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.outputs:
            last = merged[-1] if merged else None
            if last is not None and output.output_type == last.output_type == "stream" and output.name == last.name:
                last.text += output.text
            else:
                merged.append(output)
        cell.outputs = merged


def execute(path: Path) -> float:
    """Run one notebook in place and return its wall-clock time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        record_timing=False,  # timestamps in the metadata would churn every diff
        shutdown_kernel="immediate",  # a graceful shutdown adds about 2 s that no reader waits for
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    merge_streams(nb)
    fold_in_jupyter(nb)
    nb.metadata.pop("jupytext", None)  # authoring metadata, if a chapter was drafted as a script
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=1, help="notebooks run at a time")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    start = time.perf_counter()
    total = 0.0
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for path, seconds in zip(paths, pool.map(execute, paths)):
            total += seconds
            print(f"{seconds:6.1f} s  {path.name}", flush=True)
    wall = time.perf_counter() - start
    print(f"{total:6.1f} s  summed over notebooks; {wall:.1f} s wall with {args.jobs} at a time")


if __name__ == "__main__":
    main()
