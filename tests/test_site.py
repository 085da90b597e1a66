"""The built site, opened page by page in headless Chromium as a reader would open it, offline.

Run after `make book`. Uses Debian's Chromium through Playwright; Playwright never downloads
a browser here. Screenshots of every chapter go to _build/screenshots/.
"""

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from conftest import ROOT
from playwright.sync_api import sync_playwright

SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
IMAGE_FILE_NAME = re.compile(r"^[\w.-]+\.(png|jpe?g|svg|gif|webp)$|^[0-9a-f]{16,}", re.IGNORECASE)

if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but Chromium is missing: .ci/run must `apt-get install -y chromium`")
    pytest.skip("browser tests skipped: Chromium not found (install it with `sudo apt-get install -y chromium`)",
                allow_module_level=True)
if not (SITE / "index.html").exists():
    pytest.fail("the site is not built: run `make book` first", pytrace=False)

ALL_PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                   if not p.relative_to(SITE).as_posix().startswith(("_static/", "_sources/", "_images/")))
REDIRECTS = [p for p in ALL_PAGES if 'http-equiv="Refresh"' in (SITE / p).read_text(encoding="utf-8")]
PAGES = [p for p in ALL_PAGES if p not in REDIRECTS]
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


SITE_OF = {}  # host:port -> folder served there, so that links can be checked on disk


@functools.cache
def site_url(directory: Path) -> str:
    """Serve a folder on 127.0.0.1 (a free port), once per folder; return its base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    SITE_OF[host] = directory
    return f"http://{host}/"


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# What the page must satisfy. Each check returns a list of problems, so that the
# test that injects faults can see exactly which checks caught them.
PAGE_FACTS_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = [...document.querySelectorAll('img')].map(img => ({
    src: img.getAttribute('src'), alt: (img.getAttribute('alt') || '').trim(),
    loaded: img.complete && img.naturalWidth > 0,
    width: img.getBoundingClientRect().width, inOutput: !!img.closest('.cell_output'),
  }));
  const math = [...document.querySelectorAll('.math')].map(el => !!el.querySelector('mjx-container'));
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, .highlight').forEach(el => el.remove());
  const links = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));
  return {imgs, math, text: clone.innerText, links};
}
"""


def check_page(page, url):
    """Open url in page and return the list of everything wrong with it."""
    problems = []
    base_host = urlparse(url).netloc

    def on_request(route):
        host = urlparse(route.request.url).netloc
        if route.request.url.startswith(("data:", "blob:")) or host == base_host:
            route.continue_()
        else:
            problems.append(f"request to another host: {route.request.url}")
            route.abort()

    page.route("**/*", on_request)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        return problems + [f"page did not load: {url}"]
    facts = page.evaluate(PAGE_FACTS_JS)

    untypeset = facts["math"].count(False)
    if untypeset:
        problems.append(f"{untypeset} math element(s) not typeset by MathJax")
    for raw in ("$$", "\\(", "\\["):
        if raw in facts["text"]:
            problems.append(f"raw TeX {raw!r} visible in the text")
    for img in facts["imgs"]:
        if not img["loaded"]:
            problems.append(f"image did not load: {img['src']}")
        if not img["alt"] or IMAGE_FILE_NAME.search(img["alt"]) or len(img["alt"].split()) < 3:
            problems.append(f"image without meaningful alt text: {img['src']} (alt={img['alt']!r})")
    problems += broken_links(url, facts["links"])
    page.unroute("**/*")
    return problems


def broken_links(page_url, hrefs):
    """Links inside the site must point at a file that exists, and at an anchor that exists in it."""
    problems = []
    for href in hrefs:
        target = urlparse(urljoin(page_url, href))
        if target.scheme not in ("http", "https") or target.netloc != urlparse(page_url).netloc:
            continue
        local = Path(SITE_OF[target.netloc]) / target.path.lstrip("/")
        if local.is_dir():
            local = local / "index.html"
        if not local.exists():
            problems.append(f"broken link: {href}")
        elif target.fragment and local.suffix == ".html":
            html = anchors(local)
            if target.fragment not in html:
                problems.append(f"broken anchor: {href}")
    return problems


@functools.cache
def anchors(path: Path) -> frozenset:
    return frozenset(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("name", PAGES)
def test_page(page, name):
    url = site_url(SITE) + name
    problems = check_page(page, url)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)
    if name in CHAPTERS:  # same page load: download link, figure sizes, then a screenshot for reviewers
        notebook = f"_sources/notebooks/{Path(name).stem}.ipynb"
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert any(h.endswith(notebook) for h in hrefs), f"{name} offers no download of its .ipynb"
        widths = page.eval_on_selector_all(
            ".cell_output img", "els => els.map(e => e.getBoundingClientRect().width)")
        assert len(widths) >= 2, f"{name} has {len(widths)} figure(s); every chapter needs at least 2"
        small = [round(w) for w in widths if w < 300]
        assert not small, f"{name}: figures narrower than 300 px at a 1280-px viewport: {small}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{Path(name).stem}.png"), full_page=True)


def test_front_page_redirects_to_the_introduction(page):
    assert REDIRECTS == ["index.html"]
    page.goto(site_url(SITE) + "index.html", wait_until="load")
    page.wait_for_url("**/book/intro.html")
    assert page.title().startswith("QKV Attention, executed")


def test_search_works_offline(page):
    page.goto(site_url(SITE) + "search.html?q=softmax", wait_until="networkidle")
    page.wait_for_selector("#search-results ul.search li", timeout=15000)
    hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    assert any("notebooks/" in h for h in hits), f"searching 'softmax' found no chapter: {hits}"


def test_dark_mode_keeps_figures_on_white(page):
    name = CHAPTERS[0]
    page.goto(site_url(SITE) + name, wait_until="networkidle")
    page.evaluate("() => { document.documentElement.dataset.theme = 'dark'; document.documentElement.dataset.mode = 'dark'; }")
    styles = page.eval_on_selector_all(
        ".cell_output img",
        "els => els.map(e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).filter])")
    page_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert page_bg != "rgb(255, 255, 255)", "the dark theme did not switch on"
    for background, css_filter in styles:
        assert background == "rgb(255, 255, 255)", f"a figure in dark mode has background {background}"
        assert "invert" not in css_filter, f"a figure in dark mode is inverted: {css_filter}"


@pytest.mark.parametrize("old, new, expected", [
    ("</article>", '<img src="../_images/no-such-figure.png" alt="A figure that is not on disk"></article>',
     "image did not load"),
    ("</article>", '<p>An unclosed formula: $$x^2 + y^2</p></article>', "raw TeX '$$'"),
    ("mathjax/tex-chtml.js", "mathjax/not-there.js", "not typeset by MathJax"),
    ("</article>", '<script src="https://cdn.example.com/tracker.js"></script></article>', "request to another host"),
    ("</article>", '<img src="../_images/x.png" alt="x.png"></article>', "without meaningful alt text"),
    ("</article>", '<a href="no-such-page.html">a link</a></article>', "broken link"),
], ids=["broken-image", "raw-tex", "no-mathjax", "external-script", "file-name-alt", "broken-link"])
def test_checks_catch_injected_faults(page, tmp_path, old, new, expected):
    """The checks above can fail: inject one fault into a copy of a page (a short one with math)."""
    name = "book/notation.html"
    for item in SITE.iterdir():  # a copy of the site that shares the heavy folders by symlink
        (tmp_path / item.name).symlink_to(item, target_is_directory=item.is_dir())
    (tmp_path / "book").unlink()
    shutil.copytree(SITE / "book", tmp_path / "book")
    broken = tmp_path / name
    html = broken.read_text(encoding="utf-8")
    assert old in html
    broken.write_text(html.replace(old, new, 1), encoding="utf-8")
    problems = check_page(page, site_url(tmp_path) + name)
    assert any(expected in p for p in problems), f"injected {new!r}, but the checks found: {problems}"
