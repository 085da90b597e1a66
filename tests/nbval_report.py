"""A pytest plugin that records what an nbval run verified, for the site's "Run it yourself" page.

Loaded with ``-p nbval_report`` and active only when NBVAL_REPORT names the setting of the run
(``default``, ``one-thread``, ``portable-kernels`` or ``openblas-native``; see the Makefile). For each
notebook it writes the cells that passed and failed, the time its cells took, the SHA-256 of the
notebook it checked, the date, the commit, and the versions that matter, to
``_build/execution/<setting>.json``. A run over a few notebooks updates their rows and keeps the others.
The numbers on the site therefore come from a real run; none is typed by hand.
"""

import datetime
import hashlib
import json
import os
import platform
import subprocess
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "_build" / "execution"
_results = defaultdict(lambda: {"passed": 0, "failed": 0, "seconds": 0.0})


def _commit():
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    sha = git("rev-parse", "--short", "HEAD")
    if not sha:
        return "unknown (not a git checkout)"
    return sha + (" with local changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def _active():
    # Under xdist the reports also reach the controller; count them there only.
    return os.environ.get("NBVAL_REPORT") and not os.environ.get("PYTEST_XDIST_WORKER")


def pytest_runtest_logreport(report):
    if not _active() or ".ipynb::" not in report.nodeid:
        return
    if report.when == "call" or report.failed:
        notebook = report.nodeid.split("::")[0]
        result = _results[notebook]
        result["seconds"] += report.duration
        if report.when == "call" and report.passed:
            result["passed"] += 1
        elif report.failed:
            result["failed"] += 1


def pytest_sessionfinish(session, exitstatus):
    if not _active() or not _results:
        return
    setting = os.environ["NBVAL_REPORT"]
    path = OUT / f"{setting}.json"
    record = json.loads(path.read_text()) if path.exists() else {"notebooks": {}}
    stamp = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
    }
    record.update(setting=setting, python=platform.python_version(), torch=version("torch"))
    for notebook, result in _results.items():
        file = ROOT / notebook
        record["notebooks"][Path(notebook).name] = {
            **result, **stamp, "seconds": round(result["seconds"], 2),
            "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
        }
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
