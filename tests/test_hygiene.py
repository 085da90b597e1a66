"""Checks on the committed notebooks themselves, before any of them is run."""

import json
import re

import pytest
import yaml
from conftest import NOTEBOOKS, ROOT

MAX_BYTES = 2 * 1024 * 1024
# A path on the author's machine, e.g. /home/ann/..., /root/..., /tmp/x, /work/..., C:\Users\...
LOCAL_PATH = re.compile(r"(?<![\w.])/(home|root|tmp|work|Users)/[A-Za-z]|[A-Z]:\\\\Users")


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def is_marked(cell, marker):
    return marker in "".join(cell["source"])


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 1, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_toc(path):
    assert f"notebooks/{path.stem}" in toc_files(), f"{path.name} is not listed in _toc.yml"


def test_every_toc_entry_exists():
    for entry in toc_files():
        candidates = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        assert any(c.exists() for c in candidates), f"_toc.yml lists {entry}, which does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_once_top_to_bottom(path):
    counts = [c.get("execution_count") for c in code_cells(load(path))]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name} was not saved from one clean run (execution counts {counts}); "
        "run `make execute NB=notebooks/{path.name}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_unexpected_error(path):
    for index, cell in enumerate(code_cells(load(path))):
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if is_marked(cell, "NBVAL_RAISES_EXCEPTION"):
            assert errors, f"{path.name}, code cell {index + 1}: marked NBVAL_RAISES_EXCEPTION but stores no error"
        else:
            assert not errors, f"{path.name}, code cell {index + 1} stores an error: {errors[0]['ename']}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stderr_output(path):
    for index, cell in enumerate(code_cells(load(path))):
        for output in cell.get("outputs", []):
            assert not (output["output_type"] == "stream" and output["name"] == "stderr"), (
                f"{path.name}, code cell {index + 1} writes to stderr (a warning?): {''.join(output['text'])[:200]}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_kernelspec_is_python3(path):
    assert load(path)["metadata"].get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_absolute_local_path(path):
    match = LOCAL_PATH.search(path.read_text(encoding="utf-8"))
    assert match is None, f"{path.name} contains a local path: ...{match.group(0)}..."


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_size_under_2_mb(path):
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ignored_outputs_are_rare(path):
    cells = code_cells(load(path))
    ignored = [c for c in cells if is_marked(c, "NBVAL_IGNORE_OUTPUT")]
    assert len(ignored) * 5 <= len(cells), (
        f"{path.name}: {len(ignored)} of {len(cells)} code cells ignore their output; "
        "print robust, rounded values instead"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_title_and_figures_have_alt_text(path):
    nb = load(path)
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# "), (
        f"{path.name} must open with a markdown cell holding its '# Title'"
    )
    for index, cell in enumerate(code_cells(nb)):
        has_image = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        if has_image:
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt.split()) >= 4, f"{path.name}, code cell {index + 1}: a figure without alt text"


def test_sanitize_file_hides_no_numbers():
    """The sanitize patterns may only touch figure reprs and memory addresses."""
    text = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    regexes = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("regex:")]
    assert regexes, "no sanitize patterns found"
    for sample in ["0.9926", "12.48", "accuracy 0.99", "copied 20/20", "[-2.81 -0.63]"]:
        for pattern in regexes:
            assert re.search(pattern, sample) is None, f"sanitize pattern {pattern!r} would hide {sample!r}"
