"""Shared paths for the test suite."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Chapters written before the readability rules of CONTRIBUTING.md; each leaves this set when it is
# converted, and the rules then hold for it (tests/test_hygiene.py, tests/test_site.py).
LEGACY = {f"{stem}.ipynb" for stem in (
    "01_queries_keys_values", "02_lsa", "03_why_wq_wk_wv",
    "05_multihead_reshaping", "06_cross_attention_perceiver", "07_flash_attention")}
