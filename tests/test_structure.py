"""The package's structure: no import circles, no private name taken across modules.

Both are read from the source (ast), every import counted, those inside functions too: a lazy
import hides a circle from Python, not from a reader.
"""
import ast
from pathlib import Path

import ddpm_np

ROOT = Path(ddpm_np.__file__).parent


def _modules():
    """{dotted name: (path, tree)} of every module of the package."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, ast.parse(path.read_text()), is_package)
    return found


MODULES = _modules()


def _base(name, node, is_package):
    """The module an ImportFrom names, resolved against the importing module `name`."""
    if not node.level:
        return node.module or ""
    package = name.split(".") if is_package else name.split(".")[:-1]
    package = package[:len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def _imports(name):
    """(imported module, [names taken from it]) for each import of module `name`."""
    _, tree, is_package = MODULES[name]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = _base(name, node, is_package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub, []) if sub in MODULES else (base, [alias.name])


def _graph():
    graph = {}
    for name in MODULES:
        graph[name] = sorted({target for target, _ in _imports(name)
                              if target in MODULES and target != name})
    return graph


def _circles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    """A package's face (`__init__`) may gather its own modules; below it, imports run one way."""
    graph = _graph()
    for name, (_, _, is_package) in MODULES.items():
        if is_package:      # a face imports its rooms; a room importing its face is the circle
            graph[name] = [t for t in graph[name] if not t.startswith(name + ".")]
    assert not _circles(graph), _circles(graph)


def test_no_private_name_is_imported_from_another_module():
    hits = [f"{name}: {target}.{taken}"
            for name in MODULES for target, names in _imports(name)
            for taken in names if taken.startswith("_") and not taken.startswith("__")]
    assert not hits, hits


def test_the_checks_see_the_package():
    """The graph is not empty by a wrong root: the CLI reaches the training loop through it."""
    graph = _graph()
    assert len(MODULES) > 100 and "ddpm_np.diffusion.schedule" in graph["ddpm_np.diffusion.vlb"]
