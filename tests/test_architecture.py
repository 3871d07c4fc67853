"""Architecture checks of issue 16, by walking the source's AST (nothing is imported).

(a) no import of a third-party private module (a dotted path part starting with ``_``)
or private name; (b) no use of an underscore member of a third-party object (``X._y``
where ``X`` is bound by a third-party import, or ``super()._y`` in a class that derives
from one); (c) no module over 400 lines; (d) no function over 50 lines; (e) the layer
rules of DESIGN.md; (f) no import cycle (``python -m scripts.import_cycles``).
Every check lists all offenders, ``path:line``, in its failure message.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.import_cycles import ROOT, cycles, import_graph

PACKAGES = ("agent", "tools", "knowledge", "evals", "prompts", "testing")
FIRST_PARTY = {*PACKAGES, "tests", "scripts", "benchmarks"}
FACES = ("agent.cli", "agent.server", "agent.mcp")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
# LangChain's documented hooks for a custom chat model or tool: defined and called as
# the extension interface says, not private members reached into.
EXTENSION_HOOKS = {"_generate", "_agenerate", "_stream", "_astream", "_llm_type", "_run", "_arun"}


def _files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _third_party(module: str | None, level: int = 0) -> bool:
    if level or not module:
        return False
    top = module.split(".")[0]
    return top not in FIRST_PARTY and top not in sys.stdlib_module_names


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def private_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) for each import of a third-party private module or name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _third_party(alias.name) and any(map(_private, alias.name.split("."))):
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and _third_party(node.module, node.level):
            module = node.module or ""
            for alias in node.names:
                if any(map(_private, [*module.split("."), alias.name])):
                    yield node.lineno, f"from {module} import {alias.name}"


def _third_party_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _third_party(alias.name):
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and _third_party(node.module, node.level):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node


def private_uses(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) for each ``X._y`` on a third-party name and ``super()._y`` in a
    class with a third-party base (LangChain's extension hooks excepted)."""
    names = _third_party_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = {_root(b).id for b in node.bases if isinstance(_root(b), ast.Name)}  # type: ignore[attr-defined]
            if bases & names:
                yield from _super_privates(node)
        if not isinstance(node, ast.Attribute) or not _private(node.attr):
            continue
        root = _root(node)
        if isinstance(root, ast.Name) and root.id in names:
            yield node.lineno, f"{ast.unparse(node)}"


def _own_names(cls: ast.ClassDef) -> set[str]:
    """Names the class itself defines: methods, class attributes, ``self.x = ...``."""
    names = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return names


def _super_privates(cls: ast.ClassDef) -> Iterator[tuple[int, str]]:
    """``super()._x``, or ``self._x`` the class does not define: an inherited private."""
    own = _own_names(cls) | EXTENSION_HOOKS
    for node in ast.walk(cls):
        if not isinstance(node, ast.Attribute) or not _private(node.attr) or node.attr in own:
            continue
        value = node.value
        via_super = isinstance(value, ast.Call) and getattr(value.func, "id", "") == "super"
        via_self = isinstance(value, ast.Name) and value.id in {"self", "cls"}
        if via_super or via_self:
            yield node.lineno, f"{ast.unparse(node)} in class {cls.name} (inherited)"


def long_functions(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) for each function longer than MAX_FUNCTION_LINES, def to last line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                yield node.lineno, f"{node.name}() is {length} lines"


def _report(check: object) -> list[str]:
    found = []
    for path in _files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, what in check(tree):  # type: ignore[operator]
            found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    return found


def layer_violations() -> list[str]:
    """Imports that break DESIGN.md's "Who may import whom"."""
    out = []
    for module, imported in sorted(import_graph(ROOT, PACKAGES).items()):
        for target in sorted(imported):
            rule = _broken_rule(module, target)
            if rule:
                out.append(f"{module} imports {target}: {rule}")
    return out


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _broken_rule(module: str, target: str) -> str | None:
    if _within(module, "knowledge") and _within(target, "agent", "tools"):
        return "knowledge imports nothing from agent/ or tools/"
    if _within(module, "tools") and _within(target, "agent.graph", *FACES):
        return "tools never import agent.graph, cli or server"
    if _within(target, *FACES) and not _within(module, *FACES):
        return "nothing imports the faces (agent.cli, agent.server, agent.mcp) but themselves"
    inner = _within(module, "agent", "tools", "knowledge") and not _within(module, *FACES)
    if _within(target, "evals") and inner:  # `lingshu eval` is a face's command
        return "evals is never imported by agent/, tools/ or knowledge/"
    return None


def test_no_third_party_private_module_is_imported() -> None:
    found = _report(private_imports)
    assert not found, "imports of third-party private modules:\n" + "\n".join(found)


def test_no_underscore_member_of_a_third_party_object_is_used() -> None:
    found = _report(private_uses)
    assert not found, "private members of third-party objects:\n" + "\n".join(found)


def test_no_module_is_over_400_lines() -> None:
    lengths = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in _files()}
    found = [f"{p.relative_to(ROOT)}: {n} lines" for p, n in lengths.items() if n > 400]
    assert not found, "modules over 400 lines:\n" + "\n".join(found)


def test_no_function_is_over_50_lines() -> None:
    found = _report(long_functions)
    assert not found, "functions over 50 lines:\n" + "\n".join(found)


def test_the_layer_rules_hold() -> None:
    found = layer_violations()
    assert not found, "layer rules broken:\n" + "\n".join(found)


def test_there_is_no_import_cycle() -> None:
    found = cycles(import_graph(ROOT, PACKAGES))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


# --- the checks themselves catch what they are meant to ------------------------------
@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("from langgraph._internal._runnable import RunnableCallable", True),
        ("import openai._exceptions", True),
        ("from openai import _exceptions", True),
        ("from langgraph.graph import StateGraph", False),
        ("from ._private import x", False),  # first party, relative
        ("from __future__ import annotations", False),
    ],
)
def test_private_import_check(source: str, flagged: bool) -> None:
    assert bool(list(private_imports(ast.parse(source)))) is flagged


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("import openai\nopenai._make_status_error_from_response(r)", True),
        ("from langchain_openai import ChatOpenAI\nChatOpenAI._get_request_payload(m, x)", True),
        ("from langchain_openai import ChatOpenAI as C\nC._use_responses_api", True),
        (
            "from langchain_openai import ChatOpenAI\nclass M(ChatOpenAI):\n"
            "    def f(self):\n        return super()._create_chat_result(r)",
            True,
        ),
        (
            "from langchain_core.language_models import BaseChatModel\n"
            "class M(BaseChatModel):\n    def _generate(self):\n        return super()._generate()",
            False,
        ),
        (
            "from langchain_openai import ChatOpenAI\nclass M(ChatOpenAI):\n"
            "    def f(self):\n        return self._get_request_payload(m)",
            True,
        ),
        (
            "from langchain_openai import ChatOpenAI\nclass M(ChatOpenAI):\n"
            "    def _own(self):\n        return 1\n    def f(self):\n        return self._own()",
            False,
        ),
        ("import openai\nopenai.__version__", False),
        ("from agent.x import Y\nY._private", False),
        ("self._client.chat", False),
    ],
)
def test_private_use_check(source: str, flagged: bool) -> None:
    assert bool(list(private_uses(ast.parse(source)))) is flagged


def test_function_length_check() -> None:
    long = "def f():\n" + "    x = 1\n" * 50
    assert [name for _, name in long_functions(ast.parse(long))] == ["f() is 51 lines"]
    assert not list(long_functions(ast.parse("def f():\n" + "    x = 1\n" * 49)))


def test_layer_rule_check() -> None:
    assert _broken_rule("knowledge.ehr.store", "agent.settings")
    assert _broken_rule("tools.ehr", "agent.graph")
    assert _broken_rule("agent.session", "agent.server.app")
    assert _broken_rule("agent.graph", "evals.run")
    assert _broken_rule("agent.cli.serve", "agent.server.workers") is None
    assert _broken_rule("agent.cli.eval", "evals.run") is None
    assert _broken_rule("tools.ehr", "knowledge.ehr") is None
