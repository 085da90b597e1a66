"""The book's own additions to the site, each small, each explained where it is done.

- Accessibility: a few fixes to the theme's markup, each explained in ``_A11Y`` below.
- Navigation: the theme binds its sidebar buttons with ``querySelector``, which finds the copies hidden
  in pydata-sphinx-theme's header first (pydata-sphinx-theme issue 2451), so ☰ and the page-contents
  button did nothing. The hidden copies are removed from every page.
- The ``.ipynb`` download link gets a ``download`` attribute: opened from ``file://`` it showed raw JSON.
- The footer says under which licences the book is published, and from which commit and on which
  day this copy of the site was built.
- Citation labels in the reference list match the author–year citations in the text.
- The "Run it yourself" page gets two directives: ``runnable-book`` (a zip of the repository made at
  build time) and ``execution-report`` (what the last test run verified, read from the files that
  ``tests/nbval_report.py`` writes).
"""

import datetime
import hashlib
import json
import os
import re
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

ZIP_NAME = "qkv-attention-executed.zip"
# The settings of the four nbval runs, in the order `make test` runs them (see the Makefile).
SETTINGS = {
    "default": "default threads",
    "one-thread": "OMP_NUM_THREADS=1",
    "portable-kernels": "ATEN_CPU_CAPABILITY=default",
    "openblas-native": "OpenBLAS variables unset",
}
# The colour-mode button's icons carried titles ("Light", "Dark") that contradicted its label "Color mode".
_ICON_TITLE = re.compile(r'(<i class="theme-switch [^>]*?) title="[^"]*"')
_HIDDEN_TOGGLE = re.compile(
    r'<button class="pst-navbar-icon sidebar-toggle (?:primary|secondary)-toggle"[^>]*>.*?</button>', re.DOTALL)
_NOTEBOOK_LINK = re.compile(r'(<a href="[^"]*_sources/[^"]*\.ipynb")')
# Accessibility fixes for the theme's markup (axe-core's findings; tests/test_site.py runs the audit).
# Each pair is (what the theme writes, what a screen reader should get).
_A11Y = [
    # The search button's aria-label "Search" hid its visible text "Search Ctrl+K" (label-content-name-mismatch).
    ('class="btn search-button-field search-button__button pst-js-only" title="Search" aria-label="Search"',
     'class="btn search-button-field search-button__button pst-js-only" title="Search"'),
    # A folded cell's toggle said "Toggle hidden content" to screen readers and "Show the plotting code" on screen.
    ('<summary aria-label="Toggle hidden content">', "<summary>"),
    # The site's name in the sidebar stood outside any landmark (region).
    ('<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">',
     '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar" role="complementary" aria-label="Site">'),
    # The reference list is a role="list" whose entries had the deprecated role doc-biblioentry
    # (aria-required-children, aria-deprecated-role, aria-allowed-role).
    ('role="doc-biblioentry"', 'role="listitem"'),
]


# --- the repository: its commit, its files -------------------------------------------------------------

def git(root, *args):
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def commit_of(root):
    """The short commit hash, marked when the working tree differs from it; None outside git."""
    sha = git(root, "rev-parse", "--short", "HEAD")
    if sha is None:
        return None
    dirty = git(root, "status", "--porcelain", "--untracked-files=no")
    return sha.strip() + (" with local changes" if dirty else "")


def build_date():
    stamp = os.environ.get("SOURCE_DATE_EPOCH")
    utc = datetime.timezone.utc
    moment = datetime.datetime.fromtimestamp(int(stamp), utc) if stamp else datetime.datetime.now(utc)
    return moment.strftime("%Y-%m-%d")


def repository_files(root):
    """The files of the book's repository: those git tracks, or (outside git) all but build products."""
    listed = git(root, "ls-files", "-z")
    if listed is not None:
        return [name for name in listed.split("\0") if name and (root / name).is_file()]
    skip = {".git", ".venv", "_build", "lab", "node_modules", "__pycache__", ".ipynb_checkpoints"}
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not skip & set(p.relative_to(root).parts))


# --- navigation, download links, footer --------------------------------------------------------------

def fix_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        fixed = _NOTEBOOK_LINK.sub(r"\1 download", _HIDDEN_TOGGLE.sub("", html))
        fixed = _ICON_TITLE.sub(r"\1", fixed)
        for theirs, ours in _A11Y:
            fixed = fixed.replace(theirs, ours)
        if fixed != html:
            page.write_text(fixed, encoding="utf-8")


def set_footer(app, config):
    commit = commit_of(Path(app.srcdir))
    built = f"Built on {build_date()}" + (f" from commit {commit}" if commit else "") + "."
    config.html_theme_options["extra_footer"] = (
        "<p>Code under the MIT licence; text and figures under CC BY 4.0 "
        "(see <a href=\"{run}#licence\">Run it yourself</a>). " + built + "</p>")


def link_footer(app, pagename, templatename, context, doctree):
    """Point the footer's link at the run page, relative to the page being written."""
    options = context.get("theme_extra_footer")
    if options and "{run}" in options:
        context["theme_extra_footer"] = options.replace("{run}", app.builder.get_relative_uri(pagename, "book/run"))


# --- citation labels that match the text -------------------------------------------------------------

def _surnames(entry):
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(p.last_names) or " ".join(p.first_names) for p in people]
    names = [re.sub(r"[{}]", "", n).replace("\\", "") for n in names]
    if len(names) >= 3:
        return f"{names[0]} et al."
    return " and ".join(names) or entry.key


class AuthorYearLabels(BaseLabelStyle):
    """Label "Vaswani et al., 2017", as the text cites it; "2023a", "2023b" where two would clash."""

    def format_labels(self, sorted_entries):
        labels = [f"{_surnames(e)}, {e.fields.get('year', 'n.d.')}" for e in sorted_entries]
        seen, counts = Counter(), Counter(labels)
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    default_label_style = "book-author-year"


register_plugin("pybtex.style.labels", "book-author-year", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "book-author-year", AuthorYearStyle)


# --- the runnable book, as a zip ----------------------------------------------------------------------

def make_zip(app):
    if app.builder.format != "html":
        return
    root = Path(app.srcdir)
    target = Path(app.outdir) / ZIP_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in repository_files(root):
            archive.write(root / name, f"qkv-attention-executed/{name}")


class RunnableBook(Directive):
    """A paragraph with the link to the zip of the repository and its size."""

    def run(self):
        app = self.state.document.settings.env.app
        target = Path(app.outdir) / ZIP_NAME
        size = target.stat().st_size / 2**20 if target.exists() else 0.0
        docname = self.state.document.settings.env.docname
        href = app.builder.get_relative_uri(docname, "index").replace("index.html", "") + ZIP_NAME
        raw = (f'<p><a class="reference external" href="{href}" download>'
               f"Download the runnable book ({ZIP_NAME}, {size:.1f} MB)</a>: the notebooks with their stored "
               "outputs, <code>requirements.txt</code>, the <code>Makefile</code>, the tests and the "
               "<code>README</code>, as of the commit this site was built from.</p>")
        return [nodes.raw("", raw, format="html")]


# --- what the last test run verified -------------------------------------------------------------------

def title_of(notebook):
    """The chapter's title: the first line of its first cell, without the '# '."""
    first = json.loads(notebook.read_text(encoding="utf-8"))["cells"][0]["source"]
    return "".join(first).splitlines()[0].lstrip("# ").strip()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ExecutionReport(Directive):
    """One row per chapter: checked cells and time in each of the four settings, when and on which commit."""

    def run(self):
        env = self.state.document.settings.env
        app = env.app
        root = Path(app.srcdir)
        folder = Path(app.outdir).parent / "execution"
        runs = {s: json.loads((folder / f"{s}.json").read_text()) for s in SETTINGS if (folder / f"{s}.json").exists()}
        for path in (folder / f"{s}.json" for s in SETTINGS):
            env.note_dependency(str(path))
        if not runs:
            para = nodes.paragraph()
            para += [nodes.Text("No test run is recorded in this build of the site: run "),
                     nodes.literal(text="make test"), nodes.Text(" (or "), nodes.literal(text="make test-nbval"),
                     nodes.Text("), then build it again.")]
            return [para]
        chapters = sorted((root / "notebooks").glob("*.ipynb"))
        header = ["Chapter", "Cells checked", "Cells' run time", "Settings passed", "Tested"]
        rows = []
        for chapter in chapters:
            href = app.builder.get_relative_uri(env.docname, f"notebooks/{chapter.stem}")
            results = {s: runs.get(s, {}).get("notebooks", {}).get(chapter.name) for s in SETTINGS}
            default = results["default"]
            fresh = {s: r for s, r in results.items() if r is not None and r["sha256"] == digest(chapter)}
            passed = [s for s, r in fresh.items() if r["failed"] == 0]
            failed = [SETTINGS[s] for s, r in fresh.items() if r["failed"]]
            verdict = f"{len(passed)} of {len(SETTINGS)}"
            if failed:
                verdict += "; failed: " + ", ".join(failed)
            if len(fresh) < len([r for r in results.values() if r is not None]):
                verdict += "; stale: the notebook changed since"
            rows.append([
                nodes.reference(text=title_of(chapter), refuri=href),
                str(default["passed"] + default["failed"]) if default else "–",
                f"{default['seconds']:.1f} s" if default else "–",
                verdict,
                f"{default['date']}, commit {default['commit']}" if default else "–",
            ])
        return [self._table(header, rows)]

    @staticmethod
    def _table(header, rows):
        table = nodes.table(classes=["execution-report"])
        group = nodes.tgroup(cols=len(header))
        table += group
        group.extend(nodes.colspec(colwidth=1) for _ in header)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        for cells, part in [(header, head)] + [(r, body) for r in rows]:
            row = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                paragraph = nodes.paragraph()
                paragraph += cell if isinstance(cell, nodes.Node) else nodes.Text(cell)
                entry += paragraph
                row += entry
            part += row
        return table


def setup(app):
    app.connect("config-inited", set_footer)
    app.connect("builder-inited", make_zip)
    app.connect("html-page-context", link_footer)
    app.connect("build-finished", fix_pages)
    app.add_directive("runnable-book", RunnableBook)
    app.add_directive("execution-report", ExecutionReport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
