"""The shape rules of the codebase, checked so they hold as it grows: small modules, short
functions, and no caller-facing English in the services (the gateway's speech layer words causes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = ("common", "services", "gateway")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# A sentence a person would hear: capitalised words ending in . ? or !
SENTENCE = re.compile(r"^[A-Z][a-z']*(?: [\w',;:-]+){2,}[.?!]$")


def application_modules() -> list[Path]:
    return sorted(p for top in APPLICATION for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def test_no_application_module_over_the_line_limit() -> None:
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in application_modules()}
    long = {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES}
    assert long == {}


def test_no_application_function_over_the_line_limit() -> None:
    long: dict[str, int] = {}
    for path in application_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = length
    assert long == {}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


# The SMS texts patients receive are rendered where they are sent (notification), all in this one
# module; what the assistant says is the gateway's speech layer.
SMS_TEXTS = ROOT / "services" / "notification" / "templates.py"


def test_services_speak_in_causes_not_sentences() -> None:
    sentences: list[str] = []
    for path in sorted(p for p in (ROOT / "services").rglob("*.py") if p != SMS_TEXTS):
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                if SENTENCE.match(node.value.strip()):
                    sentences.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert sentences == []
