"""Every audit code lives in ``carethread/audit/codes.py``: each call that records an entry names
its code as ``codes.NAME`` (or passes on a variable its caller filled from ``codes``), never a
string literal or a constant of its own module."""

from __future__ import annotations

import ast
from pathlib import Path

import carethread
from carethread.audit import codes

PACKAGE = Path(carethread.__file__).parent
RECORDERS = {"record"}  # audit.record / record(...)


def _module_strings(tree: ast.Module) -> set[str]:
    return {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant | ast.Attribute)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _from_codes(code: ast.expr, constants: set[str]) -> bool:
    if isinstance(code, ast.IfExp):
        return _from_codes(code.body, constants) and _from_codes(code.orelse, constants)
    if isinstance(code, ast.Attribute):
        return isinstance(code.value, ast.Name) and code.value.id == "codes"
    return isinstance(code, ast.Name) and code.id not in constants  # a caller's value


def _misplaced_codes() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts or path.name == "codes.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _module_strings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in RECORDERS:
                continue
            code = node.args[0]
            if not _from_codes(code, constants):
                where = path.relative_to(PACKAGE.parent)
                found.append(f"{where}:{node.lineno}: {ast.unparse(code)}")
    return found


def test_every_recorded_code_is_named_from_codes():
    assert _misplaced_codes() == []


def test_codes_are_dotted_lowercase_and_unique():
    values = [
        value for name, value in vars(codes).items() if name.isupper() and isinstance(value, str)
    ]
    assert len(values) == len(set(values)) == len(codes.ALL)
    assert all(value == value.lower() and "." in value for value in values)
