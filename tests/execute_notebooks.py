"""Re-execute notebooks in place, top to bottom, in a fresh kernel each.

Usage: python tests/execute_notebooks.py [notebooks/01_x.ipynb ...]

With no arguments every chapter in notebooks/ is run. The stored outputs are the
ones nbval later compares against, and the ones the site shows, so this is the
only way outputs should ever get into a committed notebook.
"""

import sys
import time
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


def main(args: list[str]) -> None:
    paths = [Path(a) for a in args] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    total = 0.0
    for path in paths:
        seconds = execute(path)
        total += seconds
        print(f"{seconds:6.1f} s  {path.name}", flush=True)
    print(f"{total:6.1f} s  total")


if __name__ == "__main__":
    main(sys.argv[1:])
