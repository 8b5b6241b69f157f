"""Python source of a package, parsed and with its names resolved, for the call-graph analysis.

`Source(root, package)` reads `<root>/<package>/**.py` on demand: each module's top-level
functions, classes, variables and imports, and what a dotted name in it refers to.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)
    #: local name → (module, attribute, or None for the module itself)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Sym:
    """What a name refers to: one of our modules, functions, classes or module-level
    variables, or something `external` (another library), by dotted name."""

    kind: str  # "module" | "func" | "class" | "var" | "external"
    module: str
    name: str = ""


def imports_of(node: ast.Import | ast.ImportFrom, package: str) -> dict[str, tuple[str, str | None]]:
    """Names an import statement binds, relative imports resolved against `package`."""
    if isinstance(node, ast.Import):
        return {
            (a.asname or a.name.split(".")[0]): (a.name if a.asname else a.name.split(".")[0], None)
            for a in node.names
        }
    source = node.module or ""
    if node.level:
        parts = package.split(".")
        base = parts[: len(parts) - node.level + 1]
        source = ".".join([*base, *([source] if source else [])])
    return {(a.asname or a.name): (source, a.name) for a in node.names if a.name != "*"}


class Source:
    """The modules of one package under `root`, parsed once each."""

    def __init__(self, root: Path, package: str) -> None:
        self.root, self.package = root, package
        self._modules: dict[str, Module | None] = {}

    def module(self, name: str) -> Module | None:
        """Module `name` of the package; None when it is not one of ours."""
        if name not in self._modules:
            self._modules[name] = self._parse(name)
        return self._modules[name]

    def _parse(self, name: str) -> Module | None:
        if name != self.package and not name.startswith(self.package + "."):
            return None
        base = self.root.joinpath(*name.split("."))
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not path.is_file():
            return None
        found = Module(name, path, ast.parse(path.read_text(), str(path)))
        for node in found.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.defs[node.name] = node
            elif isinstance(node, ast.ClassDef):
                found.classes[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    found.variables.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        for node in walk(found.tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.imports.update(imports_of(node, found.package))
        return found

    def target(self, source: str, attr: str | None, depth: int = 0) -> Sym | None:
        """What `from <source> import <attr>` (or `import <source>`) binds."""
        if attr is None:
            return Sym("module", source) if self.module(source) else Sym("external", source)
        if self.module(f"{source}.{attr}"):
            return Sym("module", f"{source}.{attr}")
        owner = self.module(source)
        if owner is None:
            return Sym("external", f"{source}.{attr}")
        return self.global_(owner, attr, depth + 1)

    def global_(self, mod: Module, name: str, depth: int = 0) -> Sym | None:
        """A module-level name of `mod`, following re-exports."""
        if depth > 20:
            raise RecursionError(f"import cycle resolving {mod.name}.{name}")
        if name in mod.defs:
            return Sym("func", mod.name, name)
        if name in mod.classes:
            return Sym("class", mod.name, name)
        if name in mod.imports:
            return self.target(*mod.imports[name], depth=depth)
        if name in mod.variables:
            return Sym("var", mod.name, name)
        return None

    def resolve(self, mod: Module, expr: ast.AST, local: dict[str, tuple[str, str | None]] | None = None,
                bound: set[str] | frozenset[str] = frozenset()) -> Sym | None:  # fmt: skip
        """What a Name or dotted Attribute in `mod` refers to; None for a local value, a
        builtin, or an attribute of a value (`deps.store`). `local` holds imports made
        inside the function, `bound` its parameters."""
        if isinstance(expr, ast.Name):
            if local and expr.id in local:
                return self.target(*local[expr.id])
            return None if expr.id in bound else self.global_(mod, expr.id)
        if isinstance(expr, ast.Attribute):
            base = self.resolve(mod, expr.value, local, bound)
            if base is None:
                return None
            if base.kind == "module":
                return self.target(base.module, expr.attr)
            if base.kind == "external":
                return Sym("external", f"{base.module}.{expr.attr}")
        return None

    def init(self, sym: Sym) -> ast.FunctionDef | None:
        """`__init__` of one of our classes (None when it has none of its own)."""
        cls = self.module(sym.module).classes[sym.name]
        return next((m for m in cls.body if isinstance(m, ast.FunctionDef) and m.name == "__init__"), None)


def walk(nodes: Iterable[ast.AST], *, into_defs: bool = True) -> Iterator[ast.AST]:
    """Every node that runs: no annotations and no `if TYPE_CHECKING:` blocks. With
    `into_defs=False` (a module's top level) function bodies are left out, class bodies not."""
    todo = list(reversed(list(nodes)))
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(reversed(node.orelse))
            continue
        children: list[ast.AST] = []
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "type_comment"):
                continue
            if name == "body" and not into_defs and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(value, list):
                children.extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                children.append(value)
        todo.extend(reversed(children))


def _is_type_checking(test: ast.AST) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def terminal(expr: ast.AST) -> str:
    """The last name of a (called) dotted expression: `client` for `wiring.client("s3")`."""
    if isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""


def params(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    args = fn.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    return set(names) | {a.arg for a in (args.vararg, args.kwarg) if a is not None}


def decorator_parts(mod: Module) -> set[ast.AST]:
    """The name parts of a module's top-level decorators (`router`, `router.get`)."""
    parts: set[ast.AST] = set()
    for fn in mod.defs.values():
        for decorator in fn.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            while isinstance(target, ast.Attribute):
                parts.add(target)
                target = target.value
            parts.add(target)
    return parts


#: parents in which a value is only looked at (compared, tested, formatted), never called
_LOOKED_AT = (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.If, ast.While, ast.Assert, ast.FormattedValue, ast.JoinedStr)


def attribute_use(node: ast.expr, nodes: list[ast.AST], parents: dict, depth: int = 0) -> str:
    """How code uses an attribute (or a name): `method` when it may be a bound method that
    runs (called, passed on, returned, stored), `receiver` when something is read from it
    (`deps.store.get`: `store`), `value` when it is only looked at (`x is None`), or bound
    to names that are only read through or looked at (`head, event = uow.head, uow.event`)."""
    parent = parents.get(node)
    if isinstance(parent, ast.Call) and parent.func is node:
        return "method"
    if isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node:
        return "receiver"
    if isinstance(parent, _LOOKED_AT):
        return "value"
    grand = parents.get(parent)
    if isinstance(parent, ast.Assign) and parent.value is node:
        targets = list(parent.targets)
    elif isinstance(parent, ast.Tuple) and isinstance(grand, ast.Assign) and grand.value is parent:
        index = parent.elts.index(node)
        targets = [t.elts[index] for t in grand.targets if isinstance(t, ast.Tuple) and len(t.elts) == len(parent.elts)]
        if len(targets) != len(grand.targets):
            return "method"
    else:
        return "method"
    if depth > 3 or not all(isinstance(t, ast.Name) for t in targets):
        return "method"
    names = {t.id for t in targets}
    uses = [n for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in names]
    return "method" if any(attribute_use(n, nodes, parents, depth + 1) == "method" for n in uses) else "value"


@cache
def third_party_calls(qualname: str) -> tuple[str, ...]:
    """Client methods a third-party class calls on the client it keeps (`self.client.<op>(`)."""
    module_name, _, cls_name = qualname.rpartition(".")
    cls = getattr(importlib.import_module(module_name), cls_name)
    tree = ast.parse(inspect.getsource(inspect.getmodule(cls)))
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    return tuple(sorted({
        n.func.attr for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Attribute) and n.func.value.attr == "client"
    }))  # fmt: skip
