"""Checks on the committed notebooks themselves, before any of them is run."""

import base64
import json
import re
import struct

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


# nbval reads these tags; the old in-source comments are not accepted.
TAG_OF = {"NBVAL_RAISES_EXCEPTION": "raises-exception", "NBVAL_IGNORE_OUTPUT": "nbval-ignore-output"}
MAX_CODE_COLUMNS = 76  # the text column at a 1280-px window
MAX_FIGURE_PX = 700  # 4.6 in at 150 dpi, after matplotlib trims the margins
BARE_FACT = re.compile(r"(^|[:=]\s*)(True|False)\s*$")
SMALL_FONT = re.compile(r"fontsize\s*=\s*(\d+(\.\d+)?|[\"'](x{0,2}-?small)[\"'])")
SOLUTION = re.compile(r"^Solution to exercise \d+$")
# A printed array or tensor row: it must fit the column, or it wraps mid-row on the page.
ARRAY_ROW = re.compile(r"^\s*(\[|tensor\(|array\()")


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def is_marked(cell, marker):
    return TAG_OF[marker] in tags(cell) or marker in "".join(cell["source"])


def prompt(cell):
    return cell.get("metadata", {}).get("mystnb", {}).get("code_prompt_show", "")


def png_size(output):
    """(width, height, dots per inch or None) of a stored PNG figure."""
    data = base64.b64decode(output["data"]["image/png"])
    width, height = struct.unpack(">II", data[16:24])
    at = data.find(b"pHYs")
    dpi = round(struct.unpack(">I", data[at + 4:at + 8])[0] * 0.0254) if at > 0 else None
    return width, height, dpi


def figures(cell):
    return [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]


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


# The readability rules (CONTRIBUTING.md), for every chapter.

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_test_plumbing_is_in_tags_not_comments(path):
    for index, cell in enumerate(load(path)["cells"]):
        assert "NBVAL_" not in "".join(cell["source"]), (
            f"{path.name}, cell {index}: an NBVAL_ comment is visible to readers; use the cell tag instead")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_fits_the_column(path):
    long = [(index, line) for index, cell in enumerate(code_cells(load(path)))
            for line in "".join(cell["source"]).splitlines() if len(line) > MAX_CODE_COLUMNS]
    assert not long, (f"{path.name}: {len(long)} code line(s) longer than {MAX_CODE_COLUMNS} characters, "
                      f"e.g. code cell {long[0][0] + 1}: {long[0][1]!r}" if long else "")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_are_drawn_for_the_column(path):
    for index, cell in enumerate(code_cells(load(path))):
        for output in figures(cell):
            width, _, dpi = png_size(output)
            where = f"{path.name}, code cell {index + 1}"
            assert width <= MAX_FIGURE_PX, f"{where}: a figure {width} px wide is shrunk on the page; draw it ≤ 4.6 in"
            assert dpi is not None and dpi >= 150, f"{where}: a figure at {dpi} dpi; use figure.dpi = 150"
        small = SMALL_FONT.search("".join(cell["source"]))
        if small and (not small.group(1)[0].isdigit() or float(small.group(1)) < 9):
            raise AssertionError(f"{path.name}, code cell {index + 1}: {small.group(0)} is below 9 pt")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_plotting_cells_and_solutions_are_folded_with_a_label(path):
    for index, cell in enumerate(code_cells(load(path))):
        where = f"{path.name}, code cell {index + 1}"
        if "hide-cell" in tags(cell):
            assert SOLUTION.match(prompt(cell)), f"{where}: a folded cell must be labelled 'Solution to exercise N'"
        elif figures(cell):
            assert "hide-input" in tags(cell), f"{where} draws a figure: make it a plotting-only cell tagged hide-input"
        if "hide-input" in tags(cell):
            assert prompt(cell) == "Show the plotting code", f"{where}: label the toggle 'Show the plotting code'"
        if {"hide-input", "hide-cell"} & set(tags(cell)):
            assert cell["metadata"].get("jupyter", {}).get("source_hidden"), (
                f"{where} is folded on the site but not in JupyterLab: run `make execute`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_bare_true_or_false(path):
    for index, cell in enumerate(code_cells(load(path))):
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            bare = [line for line in text.splitlines() if BARE_FACT.search(line)]
            assert not bare, (f"{path.name}, code cell {index + 1} prints a bare fact {bare[0]!r}: "
                              "print the measured value beside its threshold")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_printed_arrays_fit_the_column(path):
    for index, cell in enumerate(code_cells(load(path))):
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            wide = [line for line in text.splitlines() if ARRAY_ROW.match(line) and len(line) > MAX_CODE_COLUMNS]
            assert not wide, (f"{path.name}, code cell {index + 1} prints an array row of {len(wide[0])} "
                              "characters: set linewidth=76 in np/torch print options")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_errors_shown_on_purpose_are_short(path):
    for index, cell in enumerate(code_cells(load(path))):
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                assert len(output["traceback"]) <= 3, (
                    f"{path.name}, code cell {index + 1}: a {len(output['traceback'])}-part traceback; "
                    "use %xmode Minimal in the first cell")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_notation(path):
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "markdown":
            assert "d_{model}" not in "".join(cell["source"]), (
                f"{path.name}, cell {index}: write d_{{\\text{{model}}}}, as book/notation.md does")


def test_hygiene_rules_can_fail():
    """Each rule above must reject a notebook that breaks it."""
    fig = {"output_type": "display_data", "metadata": {}, "data": {"image/png": base64.b64encode(
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", 1200, 400) + b"\x00" * 20).decode()}}
    assert png_size(fig)[:2] == (1200, 400) and png_size(fig)[2] is None
    assert BARE_FACT.search("causal: True") and BARE_FACT.search("False") and not BARE_FACT.search("need_weights=True)")
    assert SMALL_FONT.search('ax.text(0, 0, "x", fontsize=7)') and SMALL_FONT.search("fontsize='small'")
    assert not SOLUTION.match("Show code cell content")
    assert ARRAY_ROW.match(" [0.1, 0.2]") and ARRAY_ROW.match("tensor([1.])") and not ARRAY_ROW.match("loss 0.1")
