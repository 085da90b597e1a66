"""Remove sphinx-thebe from every page.

Jupyter Book 1.0.4 always loads sphinx-thebe. Its configuration script
(`const THEBE_JS_URL = ...`) ends up twice in each page, so every page logs
"Identifier 'THEBE_JS_URL' has already been declared", and each page also
carries a thebe config block that names a Binder repository of someone else's.
This book has no live kernels (launch buttons are off), so thebe has no use
here: drop its scripts, its stylesheet and its config block.
"""

import re

_CONFIG_BLOCK = re.compile(r'\s*<script type="text/x-thebe-config">.*?</script>', re.DOTALL)


def _is_thebe(asset) -> bool:
    body = getattr(asset, "attributes", {}).get("body", "")
    filename = getattr(asset, "filename", None) or str(asset)
    return "THEBE_JS_URL" in body or "sphinx-thebe" in filename


def _drop_thebe(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]
    if "body" in context:
        context["body"] = _CONFIG_BLOCK.sub("", context["body"])


def setup(app):
    app.connect("html-page-context", _drop_thebe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
