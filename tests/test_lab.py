"""A chapter in a real JupyterLab, driven through Chromium as a reader would drive it.

`make test-lab` (and CI) starts the pinned JupyterLab of requirements-lab.txt headless on 127.0.0.1 with a
token, opens a working copy of a chapter, runs all its cells, and checks that:
- every cell ran, and errors appear exactly in the cells tagged `raises-exception`;
- jupyterlab-myst renders the MyST markup: no raw `{cite}`, `{doc}`, `{eq}` or `{ref}` text, and every
  citation appears by its key (jupyterlab-myst 2.7 does not read BibTeX files, so Lab shows the key
  where the site shows "Author et al., year");
- the cells the site folds (plotting code, solutions) are folded in Lab too;
- Lab asks no other host for anything.
The committed notebook is never opened: Lab autosaves, and a test must not rewrite what it checks.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT

CHAPTER = ROOT / "notebooks" / "02_lsa.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
JUPYTER = Path(sys.executable).parent / "jupyter-lab"

if CHROMIUM is None or not JUPYTER.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but Chromium or JupyterLab is missing: run `make test-lab`, which installs Lab")
    pytest.skip("Lab test skipped: needs Chromium and `make test-lab` (which installs JupyterLab)",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

MYST_ROLES = ("{cite}", "{doc}", "{eq}", "{ref}", "{numref}")
# The notebook model, read through the app object that --LabApp.expose_app_in_browser puts on window.
CELLS_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map(w => ({
    type: w.model.type,
    count: w.model.type === 'code' ? w.model.executionCount : null,
    outputs: w.model.type === 'code' ? w.model.toJSON().outputs.map(o => o.output_type) : [],
    tags: w.model.getMetadata('tags') || [],
    inputHidden: w.inputHidden,
  }));
}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    shutil.copy(CHAPTER, work / CHAPTER.name)
    port, token = free_port(), secrets.token_hex(16)
    command = [str(JUPYTER), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
               "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    # Settings of this Lab only: render every cell (Lab 4 otherwise renders only the cells in view),
    # and never offer to fetch news.
    settings = work / ".config" / "lab" / "user-settings" / "@jupyterlab"
    for name, value in [("notebook-extension/tracker", {"windowingMode": "none"}),
                        ("apputils-extension/notification", {"fetchNews": "false"})]:
        (settings / f"{name}.jupyterlab-settings").parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / ".config"), "JUPYTER_RUNTIME_DIR": str(work / ".runtime")}
    log = (work / "lab.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail("JupyterLab did not start:\n" + (work / "lab.log").read_text()[-2000:])
    yield {"url": f"{base}/lab/tree/{CHAPTER.name}?token={token}", "work": work}
    server.terminate()
    server.wait(timeout=20)


def test_a_chapter_runs_in_lab_as_on_the_site(lab):
    expected = json.loads(CHAPTER.read_text(encoding="utf-8"))
    tagged = [i for i, c in enumerate(expected["cells"]) if "raises-exception" in c["metadata"].get("tags", [])]
    markdown = "".join("".join(c["source"]) for c in expected["cells"] if c["cell_type"] == "markdown")
    cited = sorted({key for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", markdown) for key in group.split(",")})
    folded = [i for i, c in enumerate(expected["cells"])
              if {"hide-input", "hide-cell"} & set(c["metadata"].get("tags", []))]
    problems, other_hosts = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        host = urlparse(lab["url"]).netloc

        def route(r):
            if urlparse(r.request.url).netloc in (host, "") or r.request.url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                other_hosts.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto(lab["url"])
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext "
                               "&& window.jupyterapp.shell.currentWidget.sessionContext.isReady", timeout=90_000)
        start = time.perf_counter()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            "() => { const p = window.jupyterapp.shell.currentWidget;"
            " return p.content.widgets.filter(w => w.model.type === 'code')"
            ".every(w => w.model.executionCount !== null && !w.node.querySelector('.jp-mod-running'))"
            " && p.sessionContext.session.kernel.status === 'idle'; }", timeout=120_000)
        seconds = time.perf_counter() - start
        cells = page.evaluate(CELLS_JS)
        text = page.inner_text(".jp-Notebook")
        page.screenshot(path=str(ROOT / "_build" / "lab-screenshot.png")) if (ROOT / "_build").exists() else None
        browser.close()

    assert not problems, problems
    assert not other_hosts, f"Lab asked another host: {other_hosts[:5]}"
    assert len(cells) == len(expected["cells"])
    unrun = [i for i, c in enumerate(cells) if c["type"] == "code" and c["count"] is None]
    assert not unrun, f"cells that did not run: {unrun}"
    errors = [i for i, c in enumerate(cells) if "error" in c["outputs"]]
    assert errors == tagged, f"errors in cells {errors}; the cells tagged raises-exception are {tagged}"
    raw = [role for role in MYST_ROLES if role in text]
    assert not raw, f"MyST markup shown raw in Lab: {raw}"
    assert cited, f"{CHAPTER.name} cites nothing: pick a chapter that does"
    missing = [key for key in cited if key.strip() not in text]
    assert not missing, f"citations not rendered in Lab: {missing}"
    unfolded = [i for i in folded if not cells[i]["inputHidden"]]
    assert not unfolded, f"cells folded on the site but open in Lab: {unfolded}"
    print(f"\n{CHAPTER.name}: {len(cells)} cells, all run in {seconds:.1f} s in JupyterLab; "
          f"errors only in the {len(tagged)} tagged cell(s); {len(cited)} citation key(s) rendered")
