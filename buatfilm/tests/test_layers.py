"""Dependencies between apps run one way: no import cycle between modules of different apps.

Every `import` in every module counts, function-local ones included (a local import hides a
cycle from Python, not from the design). The layers, top to bottom, are drawn in README.md.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("buatfilm", "courses", "devtools", "notifications", "orders", "payments", "supportdesk")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported dotted name lives in (a module or a name inside one)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` may import the module a.b or the name b of a.
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph has hundreds of modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def cross_app_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    return [
        sorted(component)
        for component in strongly_connected(graph)
        if len({name.split(".")[0] for name in component}) > 1
    ]


def test_the_cycle_finder_sees_a_function_local_cross_app_cycle(tmp_path: Path) -> None:
    graph = {
        "orders.services": {"notifications.services"},
        "notifications.services": {"notifications.models", "orders.services"},
        "notifications.models": set(),
        "orders.models": {"orders.services"},  # a cycle inside one app is allowed
        "orders.helpers": {"orders.models"},
    }
    graph["orders.services"].add("orders.helpers")
    assert cross_app_cycles(graph) == [
        ["notifications.services", "orders.helpers", "orders.models", "orders.services"]
    ]
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from notifications.services import x\n")
    modules = {"orders.mod": source, "notifications.services": source}
    assert _imports("orders.mod", source, modules) == {"notifications.services"}


def test_no_import_cycle_between_modules_of_different_apps() -> None:
    graph = import_graph()
    assert graph.get("orders.services")  # the walk found the code
    assert cross_app_cycles(graph) == []
