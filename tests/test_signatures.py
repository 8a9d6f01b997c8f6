"""No function in ``carethread/`` takes more than eight parameters.

A longer list is grouped into a value named for what it holds (an inbox filter, a change of
settings, a measure request as given). Django and django-ninja decide the signatures of views
and routes, so those are left out: a route is decorated by a router's method
(``@router.get(...)``), a view takes the request first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import carethread

LIMIT = 8
ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "api_operation"}
PACKAGE = Path(carethread.__file__).parent


def parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The names a caller passes, ``self`` and ``cls`` left out; ``*args`` and ``**kwargs``
    count as one each."""
    spec = function.args
    names = [arg.arg for arg in (*spec.posonlyargs, *spec.args, *spec.kwonlyargs)]
    names += [arg.arg for arg in (spec.vararg, spec.kwarg) if arg is not None]
    if names[:1] in (["self"], ["cls"]):
        names = names[1:]
    return names


def is_route(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in ROUTE_METHODS:
            return True
    return False


def long_signatures(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            names = parameters(node)
            if len(names) <= LIMIT or is_route(node) or names[:1] == ["request"]:
                continue
            where = path.relative_to(root.parent)
            found.append(f"{where}:{node.lineno} {node.name} ({len(names)} parameters)")
    return found


def test_no_function_takes_more_than_eight_parameters():
    assert long_signatures(PACKAGE) == []


def test_the_check_sees_a_long_signature_and_leaves_views_and_routes_alone(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "module.py").write_text(
        "def helper(a, b, c, d, e, f, g, h, *, i): ...\n"
        "def fine(self, a, b, c, d, e, f, g, h): ...\n"
        "def view(request, a, b, c, d, e, f, g, h): ...\n"
        "@router.get('/x')\n"
        "def route(a, b, c, d, e, f, g, h, i): ...\n",
        encoding="utf-8",
    )
    assert long_signatures(package) == ["pkg/module.py:1 helper (9 parameters)"]
