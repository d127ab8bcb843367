"""Every text a person reads is marked for translation: rule titles, notification texts, words
for codes, the dashboard's templates, and every gettext call is one the extraction sees."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from api.pages.templates import TEMPLATES_DIR, templates
from tests.i18n.catalogs import KEYWORDS, ROOT, extracted
from tests.i18n.visible_text import visible_text

#: Modules whose module-level sentences are texts people read (titles, labels, messages).
TEXT_MODULES = sorted(
    [*(ROOT / "rules" / "catalog").glob("*.py")]
    + [ROOT / "rules" / "notify" / "messages.py", ROOT / "i18n" / "labels.py"]
)
MARKS = {"N_", "NC_", "_", "gettext", "pgettext", "ngettext", "npgettext"}
#: A sentence: words with a space between them, or a {placeholder} template.
SENTENCE = re.compile(r"[A-Za-z]+\s+\S|\{[a-z_]+\}")


def _is_mark(node: ast.AST) -> bool:
    func = node.func if isinstance(node, ast.Call) else None
    return isinstance(func, ast.Name) and func.id in MARKS


def _unmarked_strings(tree: ast.Module) -> Iterator[ast.Constant]:
    """String constants at module level (constants, dicts, calls building them) that are not
    inside a marking call, docstrings left out."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr):
            continue  # a docstring or a bare expression
        if not isinstance(stmt, ast.Assign | ast.AnnAssign):
            continue
        stack: list[ast.AST] = [stmt.value] if stmt.value is not None else []
        while stack:
            node = stack.pop()
            if _is_mark(node):
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node
            stack.extend(ast.iter_child_nodes(node))


@pytest.mark.parametrize("path", TEXT_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_level_sentences_are_marked(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    unmarked = [n.value for n in _unmarked_strings(tree) if SENTENCE.search(n.value)]
    assert unmarked == [], f"wrap these in N_() (i18n.languages): {unmarked}"


def _signal_summaries(tree: ast.Module) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Signal":
            yield from (k.value for k in node.keywords if k.arg == "summary_key")


@pytest.mark.parametrize(
    "path", sorted((ROOT / "rules").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_rules_never_write_a_title_in_place(path: Path) -> None:
    """A summary_key is a marked constant, never a literal or an f-string at the call."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    literal = [
        ast.unparse(v)
        for v in _signal_summaries(tree)
        for n in ast.walk(v)
        if isinstance(n, ast.Constant | ast.JoinedStr) and (isinstance(n, ast.JoinedStr) or n.value)
    ]
    assert literal == []


def test_every_rule_title_is_in_the_catalogue() -> None:
    """Each catalogue module's templates, as the rules will use them, are msgids."""
    msgids = {msgid for _, msgid in extracted("courtyard")}
    titles: list[str] = []
    for path in (ROOT / "rules" / "catalog").glob("*.py"):
        module = importlib.import_module(f"rules.catalog.{path.stem}")
        for value in vars(module).values():
            if isinstance(value, str) and "{" in value:
                titles.append(value)
        for kind in getattr(module, "KINDS", {}).values():
            titles += [t for t in (kind.raised, kind.cleared) if t]
    assert titles, "found no rule titles: the scan is broken"
    assert sorted(t for t in titles if t not in msgids) == []


def _gettext_calls(tree: ast.Module) -> Iterator[tuple[str | None, str]]:
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in KEYWORDS:
            continue
        args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        context = None
        if node.func.id in ("pgettext", "npgettext", "NC_"):
            context, args = args[0] if args else None, args[1:]
        if args and isinstance(args[0], str) and args[0]:
            yield (context if isinstance(context, str) else None, args[0])


@pytest.mark.parametrize("package", ["rules", "api", "courtyard", "store", "i18n"])
def test_every_gettext_call_is_extracted(package: str) -> None:
    """A `_()` the extraction cannot see (inside an f-string on Python 3.11, say) would never
    be translated."""
    found = extracted("courtyard")
    missing = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        missing += [
            (str(path.relative_to(ROOT)), key) for key in _gettext_calls(tree) if key not in found
        ]
    assert missing == []


def test_every_simulator_gettext_call_is_extracted() -> None:
    found = extracted("device_sims")
    missing = []
    for path in sorted((ROOT / "device_sims").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        missing += [key for key in _gettext_calls(tree) if key not in found]
    assert missing == []


# Templates: text outside {% trans %} and _() is a TemplateData node of the parsed template.


def untranslated_text(source: str, env: jinja2.Environment) -> list[str]:
    """The readable text of a template that no {% trans %} or _() covers."""
    tree = env.parse(source)
    # Expressions ({{ ... }}) stand in as a neutral word-less marker inside the HTML.
    pieces: list[str] = []
    for node in tree.find_all(nodes.Output):
        for child in node.nodes:
            pieces.append(child.data if isinstance(child, nodes.TemplateData) else "\x00")
    return visible_text("".join(pieces).replace("\x00", ""))


TEMPLATE_FILES = sorted(TEMPLATES_DIR.rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_templates_have_no_untranslated_text(path: Path) -> None:
    assert untranslated_text(path.read_text(encoding="utf-8"), templates.env) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<p>{{ _('Hello') }}</p>", []),
        ("<p>{% trans %}Hello {{ name }}{% endtrans %}</p>", []),
        ("<p>Hello</p>", ["Hello"]),
        ("<p>{{ n }} 条</p>", ["条"]),
        ('<input placeholder="Search">', ["placeholder='Search'"]),
        ("<img alt=\"{{ _('Chart') }}\">", []),
        ("<script>const s = 'ok';</script><p>{{ x }} – {{ y }}</p>", []),
        ('<input type="submit" value="Go">', ["value='Go'"]),
        ('<button type="submit" name="language" value="en">{{ _("Go") }}</button>', []),
        ('<p>{{ _("Read in") }} <button lang="zh-CN">中文</button></p>', []),
        ('<p lang="en"><b>English</b> only</p><p>Hello</p>', ["Hello"]),
        # Skipping ends with the element that began it, not with a nested one of its kind.
        ('<span lang="en"><span>a</span> b</span> Hello', ["Hello"]),
        # A void element with a lang of its own leaves out nothing after it.
        ('<img lang="en" src="x.png"><p>Hello</p>', ["Hello"]),
        ("<script><p>x</p></script>Hello", ["Hello"]),
    ],
)
def test_the_template_scan_finds_unmarked_text(source: str, found: list[str]) -> None:
    assert untranslated_text(source, templates.env) == found


def test_the_scan_reads_the_templates() -> None:
    assert len(TEMPLATE_FILES) >= 5


def test_a_gettext_call_hidden_in_an_f_string_is_seen() -> None:
    tree = ast.parse("x = f\"[red]{_('error:')}[/red]\"")
    assert list(_gettext_calls(tree)) == [(None, "error:")]
