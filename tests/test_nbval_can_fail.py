"""A regression test that cannot fail is no test: prove that this one can.

Copy a chapter, change one digit of one stored numeric output, run nbval on the
copy, and expect it to report that the cell outputs differ.
"""

import json
import re
import subprocess
import sys

from conftest import ROOT

CHAPTER = ROOT / "notebooks" / "02_lsa.ipynb"
TARGET = "cosine after projecting with V_k: 0.9926"


def change_one_digit(nb):
    """Turn the stored 0.9926 into 0.9927 in the output of one cell, and return that cell's source."""
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", []))
            if TARGET in text:
                output["text"] = text.replace(TARGET, TARGET[:-1] + "7")
                return "".join(cell["source"])
    raise AssertionError(f"the stored output {TARGET!r} was not found in {CHAPTER.name}")


def run_nbval(path):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), str(path)],
        capture_output=True, text=True, cwd=path.parent, timeout=300,
    )


def test_one_changed_digit_fails_nbval(tmp_path):
    nb = json.loads(CHAPTER.read_text(encoding="utf-8"))
    changed_source = change_one_digit(nb)
    copy = tmp_path / CHAPTER.name
    copy.write_text(json.dumps(nb), encoding="utf-8")

    result = run_nbval(copy)

    assert result.returncode != 0, "nbval passed although a stored output was changed"
    assert "Cell outputs differ" in result.stdout
    assert re.search(r"1 failed", result.stdout), result.stdout[-2000:]
    assert "0.9927" in result.stdout and "0.9926" in result.stdout
    assert "P8_hat = P8 @ V_k" in changed_source
