"""The core stays untangled: imports run one way, parts stay small, one reader of config.

Read from the code itself with ``ast``: nothing is imported or run.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 40
ENV_MODULE = "app.config.env"
CONFIG_READER = "app.config.wiring"


def module_name(path: Path) -> str:
    """``app/chat/hub.py`` -> ``app.chat.hub``; a package's ``__init__`` is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, ast.Module]:
    """Every Python module under app/ (migrations aside: Django writes those), parsed."""
    return {
        module_name(path): ast.parse(path.read_text(), filename=str(path))
        for path in sorted(APP.rglob("*.py"))
        if "migrations" not in path.parts
    }


MODULES = app_modules()


def imported_modules(name: str, tree: ast.Module) -> set[str]:
    """The app modules that module ``name`` imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative: from .base import X, inside a package
                package = name.split(".")[: -node.level]
                base = ".".join([*package, node.module])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {module for module in found if module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop in ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function and method in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_the_app_has_modules_to_check() -> None:
    assert {"app.chat.hub", "app.chat.consumers", "app.config.wiring"} <= set(MODULES)


def test_imports_in_app_run_one_way() -> None:
    graph = {name: imported_modules(name, tree) for name, tree in MODULES.items()}

    assert graph["app.config.wiring"] >= {"app.chat.hub", "app.chat.worker"}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_find_cycle_sees_a_loop() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_hides_inside_a_function() -> None:
    hidden = [
        f"{name}:{node.lineno}"
        for name, tree in MODULES.items()
        for function in functions(tree)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]

    assert not hidden, f"function-level imports: {hidden}"


def test_the_interface_side_and_the_worker_side_do_not_import_each_other() -> None:
    interface = {"app.chat.consumers", "app.chat.hub", "app.chat.feed", "app.chat.presence"}
    worker = {"app.chat.batcher", "app.chat.worker"}

    for side, other in ((interface, worker), (worker, interface)):
        for name in side:
            assert not imported_modules(name, MODULES[name]) & other, name


def test_the_chat_and_ops_never_import_the_wiring_above_them() -> None:
    for name, tree in MODULES.items():
        if name.startswith(("app.chat.", "app.ops.")) and ".management." not in name:
            upward = {m for m in imported_modules(name, tree) if m.startswith("app.config")}
            assert not upward, f"{name} imports {upward}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_stay_small(name: str) -> None:
    tree = MODULES[name]
    lines = max((getattr(node, "end_lineno", 0) or 0 for node in ast.walk(tree)), default=0)
    long_functions = [
        f"{function.name} ({function.end_lineno - function.lineno + 1} lines)"
        for function in functions(tree)
        if function.end_lineno - function.lineno + 1 > MAX_FUNCTION_LINES
    ]

    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"
    assert not long_functions, f"{name}: {long_functions}"


def reads_of(attribute: str, tree: ast.Module) -> list[int]:
    """Lines where ``<something>.<attribute>`` is read."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == attribute
        and isinstance(node.ctx, ast.Load)
    ]


def test_only_the_wiring_reads_settings_parley() -> None:
    readers = {name for name, tree in MODULES.items() if reads_of("PARLEY", tree)}

    assert readers == {CONFIG_READER}


def test_only_env_py_touches_the_environment() -> None:
    touching = {
        name
        for name, tree in MODULES.items()
        if reads_of("environ", tree) or reads_of("getenv", tree)
    }

    assert touching == {ENV_MODULE}
