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
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Pages audited with every axe rule; elsewhere the two colour rules are skipped. They cost seconds per
# long page, and they test the theme's colours, which are the same on every page.
FULL_AUDIT = {"book/intro.html", "book/references.html", "notebooks/02_lsa.html"}
MIN_FIGURE_SCALE = 0.75  # a figure shown below 3/4 of its natural width has unreadable labels
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
# Unfold every folded cell (plotting code, solutions) as a curious reader would, then measure the code.
CODE_FACTS_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const code = [...document.querySelectorAll('.bd-article pre')].filter(pre => !pre.closest('.cell_output'));
  const overflowing = code.filter(pre => pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => pre.innerText.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 90));
  const figures = [...document.querySelectorAll('.cell_output img')]
    .map(img => ({src: img.getAttribute('src'), scale: img.getBoundingClientRect().width / img.naturalWidth}));
  const equations = [...document.querySelectorAll('.bd-article mjx-container[display="true"]')]
    .filter(m => m.querySelector('mjx-math') && m.querySelector('mjx-math').getBoundingClientRect().width
                 > m.getBoundingClientRect().width + 1)
    .map(m => (m.closest('.math') || m).id || m.textContent.slice(0, 60));
  return {overflowing, figures, equations, nbval: document.body.innerText.includes('NBVAL_')};
}
"""
AXE_JS = """
async (full) => {
  const rules = full ? {} : {'color-contrast': {enabled: false}, 'link-in-text-block': {enabled: false}};
  const result = await axe.run(document, {resultTypes: ['violations'], rules});
  return result.violations.filter(v => ['critical', 'serious'].includes(v.impact))
    .map(v => `${v.impact} ${v.id}: ${v.nodes.length} element(s), e.g. ${v.nodes[0].html.slice(0, 120)}`);
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


def check_reading(page, full_audit=False):
    """On the page already open at 1280 px: code and display equations fit, no test plumbing shows, figures
    keep their size, and axe-core finds nothing critical or serious."""
    problems = []
    facts = page.evaluate(CODE_FACTS_JS)
    problems += [f"code scrolls sideways at 1280 px: {line!r}" for line in facts["overflowing"]]
    problems += [f"equation wider than the column at 1280 px: {eq!r}" for eq in facts["equations"]]
    if facts["nbval"]:
        problems.append("NBVAL_ test plumbing is visible to readers")
    for figure in facts["figures"]:
        if figure["scale"] < MIN_FIGURE_SCALE:
            problems.append(f"figure shown at {figure['scale']:.2f} of its natural width: {figure['src']}")
    page.add_script_tag(path=str(AXE))
    problems += [f"axe-core: {v}" for v in page.evaluate(AXE_JS, full_audit)]
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
        page.screenshot(path=str(SHOTS / f"{Path(name).stem}.png"))  # the first screen, as a reader lands
    problems = check_reading(page, full_audit=name in FULL_AUDIT)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


NAV_VISIBLE_JS = """
(selector) => [...document.querySelectorAll(selector)].some(e => {
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0
    && r.right > 0 && r.left < window.innerWidth;
})
"""
SITE_NAV, PAGE_NAV = ".bd-docs-nav", ".page-toc"


def navigation_problems(page, url, width):
    """Tap ☰ and the page-contents button as a reader would; return what did not happen."""
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 900})
    page.goto(url, wait_until="load")
    problems = []

    def tap(button):
        page.locator(f"{button}:visible").first.click()
        page.wait_for_timeout(400)

    if width >= 1200:
        if not page.evaluate(NAV_VISIBLE_JS, SITE_NAV):
            problems.append(f"the sidebar is not shown at {width} px")
        tap(".primary-toggle")
        if page.evaluate(NAV_VISIBLE_JS, SITE_NAV):
            problems.append(f"☰ did not collapse the sidebar at {width} px")
        return problems
    for button, drawer, name in [(".primary-toggle", SITE_NAV, "☰"), (".secondary-toggle", PAGE_NAV, "the contents button")]:
        if page.evaluate(NAV_VISIBLE_JS, drawer):
            problems.append(f"{drawer} is already open at {width} px")
        tap(button)
        if not page.evaluate(NAV_VISIBLE_JS, drawer):
            problems.append(f"{name} opened nothing at {width} px")
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
    return problems


@pytest.mark.parametrize("width", [390, 900, 1280])
def test_navigation_works(page, width):
    problems = navigation_problems(page, site_url(SITE) + CHAPTERS[0], width)
    assert not problems, problems


def site_copy(tmp_path, folder):
    """A copy of the site that shares everything by symlink except `folder`, which can then be edited."""
    for item in SITE.iterdir():
        (tmp_path / item.name).symlink_to(item, target_is_directory=item.is_dir())
    (tmp_path / folder).unlink()
    shutil.copytree(SITE / folder, tmp_path / folder)
    return tmp_path


def test_navigation_check_catches_the_theme_bug(page, tmp_path):
    """Put back the hidden duplicate ☰ of pydata-sphinx-theme issue 2451: the check must see ☰ fail."""
    name = CHAPTERS[0]
    copy = site_copy(tmp_path, "notebooks")
    html = (copy / name).read_text(encoding="utf-8")
    anchor = '<div class="bd-header__inner bd-page-width">'
    assert anchor in html
    duplicate = '<button class="pst-navbar-icon sidebar-toggle primary-toggle" aria-label="Site navigation"></button>'
    (copy / name).write_text(html.replace(anchor, anchor + duplicate, 1), encoding="utf-8")
    problems = navigation_problems(page, site_url(copy) + name, 390)
    assert any("☰ opened nothing" in p for p in problems), problems


def test_run_page_shows_what_the_test_run_verified():
    """After `make test` (nbval in four settings, then the build), every chapter's row says 4 of 4."""
    if not (ROOT / "_build" / "execution" / "default.json").exists() and os.environ.get("CI") != "true":
        pytest.skip("no nbval run recorded: run `make test-nbval test-variants`, then `make book`")
    html = (SITE / "book" / "run.html").read_text(encoding="utf-8")
    table = html[html.index("<table"):html.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.DOTALL)[1:]
    chapters = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(rows) == len(chapters), f"{len(rows)} rows for {len(chapters)} chapters"
    for chapter, row in zip(chapters, rows):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        assert cells[3] == "4 of 4", f"{chapter.name}: settings passed {cells[3]!r}"
        assert int(cells[1]) > 0 and cells[2].endswith(" s") and "commit" in cells[4], cells


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
    broken = site_copy(tmp_path, "book") / name
    html = broken.read_text(encoding="utf-8")
    assert old in html
    broken.write_text(html.replace(old, new, 1), encoding="utf-8")
    problems = check_page(page, site_url(tmp_path) + name)
    assert any(expected in p for p in problems), f"injected {new!r}, but the checks found: {problems}"


def wide_png(width, height=8):
    """A valid grey PNG of the given size, as a data: URI."""
    import base64
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.mark.parametrize("new, expected", [
    ('<div class="highlight"><pre>' + "x = 1  # " + "a comment far too long for the column " * 3 + "</pre></div>",
     "code scrolls sideways"),
    ("<details><summary>Show</summary><pre># NBVAL_IGNORE_OUTPUT</pre></details>", "NBVAL_ test plumbing"),
    (f'<div class="cell_output"><img src="{wide_png(1400)}" alt="A figure drawn far too wide"></div>',
     "figure shown at"),
    ("<button></button>", "axe-core: critical button-name"),
    ('<div class="math notranslate nohighlight">\\[' + "x_1 + " * 70 + "x_1\\]</div>", "equation wider"),
], ids=["code-overflow", "nbval-comment", "shrunk-figure", "unnamed-button", "wide-equation"])
def test_reading_checks_catch_injected_faults(page, tmp_path, new, expected):
    name = "book/notation.html"
    broken = site_copy(tmp_path, "book") / name
    html = broken.read_text(encoding="utf-8")
    broken.write_text(html.replace("</article>", new + "</article>", 1), encoding="utf-8")
    page.goto(site_url(tmp_path) + name, wait_until="load")
    problems = check_reading(page)
    assert any(expected in p for p in problems), f"injected {new[:60]!r}, but the checks found: {problems}"
