"""The package's layout stays readable: no import cycles, and no module reaching into another's
private names. Read from the source with `ast`, so the test sees imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "microsite"


def modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


MODULES = modules()


def is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").is_file()


def absolute(module: str, node: ast.ImportFrom) -> str:
    """The module an import names, resolving dots against the importing module."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package(module) else parts[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> dict[str, set[str]]:
    """Modules of the package that `module` imports (anywhere in it), each with the names it takes."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(MODULES[module]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    found.setdefault(alias.name, set())
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:
                    found.setdefault(submodule, set())
                elif source in MODULES:
                    found.setdefault(source, set()).add(alias.name)
    return found


def defined(module: str) -> set[str]:
    """Private names a module defines: functions, classes, variables and attributes it assigns."""
    names = set()
    for node in ast.walk(MODULES[module]):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_import_graph_has_no_cycle():
    graph = {module: set(imports(module)) - {module} for module in MODULES}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module):] + [module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for other in sorted(graph[module]):
            visit(other, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_no_module_uses_another_modules_private_names():
    own = {module: defined(module) for module in MODULES}
    elsewhere: dict[str, set[str]] = {}
    for module, names in own.items():
        for name in names:
            elsewhere.setdefault(name, set()).add(module)
    found = []
    for module in MODULES:
        taken = imports(module)
        aliases = {}
        for node in ast.walk(MODULES[module]):
            if isinstance(node, ast.ImportFrom):
                source = absolute(module, node)
                for alias in node.names:
                    if f"{source}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
        for source, names in taken.items():
            found += [f"{module} imports {source}.{name}" for name in names if private(name)]
        for node in ast.walk(MODULES[module]):
            if not isinstance(node, ast.Attribute) or not private(node.attr):
                continue
            target = node.value
            if isinstance(target, ast.Name) and target.id in aliases:
                found.append(f"{module} uses {aliases[target.id]}.{node.attr}")
            elif isinstance(target, ast.Name) and target.id in ("self", "cls"):
                continue
            elif node.attr not in own[module] and elsewhere.get(node.attr, set()) - {module}:
                owners = ", ".join(sorted(elsewhere[node.attr]))
                found.append(f"{module} uses .{node.attr} of another module ({owners})")
    assert found == []


def test_the_checks_see_what_they_look_for():
    """The graph holds imports made inside functions, and names resolve across subpackages."""
    assert "microsite.output.write" in imports("microsite.engine")
    assert "microsite.live.watch" in imports("microsite.cli")
    assert "_signature" in defined("microsite.rebuild.cache")
