"""Shared paths for the test suite."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Chapters written before the readability rules of CONTRIBUTING.md; each leaves this set when it is
# converted, and the rules then hold for it (tests/test_hygiene.py, tests/test_site.py).
LEGACY = {f"{stem}.ipynb" for stem in (
    "04_annotated_transformer",
)}
