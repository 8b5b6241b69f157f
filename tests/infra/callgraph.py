"""What each Lambda can call on AWS, read statically from `functions/` (no code is run).

The analysis starts at a handler function and follows the code the way Python runs it,
erring towards reaching more, never less:

* a module's top-level code runs when reached code imports it (at any depth, lazily inside
  a function too); `if TYPE_CHECKING:` blocks and annotations do not run;
* a function is reached when reached code names it: a call, a callback (`record_handler=`),
  a table of steps (`STEPS = {...}`); a function registered by a decorator on a module-level
  object (`@router.get(...)`) when reached code uses that object (`app.include_router(router)`);
  any other decorator but plain wrappers (`@cache`) counts as reaching it;
* a class is instantiated when reached code names it, and its methods are reached when
  reached code may call an attribute of that name on anything (rapid type analysis:
  `deps.store.get(...)` reaches `DynamoStore.get` without knowing `deps`' type): called,
  passed on, stored. An attribute only read through (`x.head.seq`) or only looked at
  (compared, tested, a name bound to it that is only read through) reaches properties
  only. Dunders and pydantic validators run when the class is instantiated;
* a boto3 client is a call `client("svc")` / `clients("svc")` / `self._clients("svc")` with
  the service as a literal. A client may only be called (`client("s3").head_object(...)`)
  or handed straight to a constructor: to one of ours, whose `self.<attr> = <param>` then
  holds it (`self._s3.head_object(...)` is a call on S3), or to a third-party class whose
  calls are read from its installed source (Powertools' idempotency persistence layer).
  Anything else (a client kept in a variable, a service that is not a literal, a
  `client=` parameter given something else) raises `AnalysisError`, so the analysis
  cannot silently lose a call. Paginators and presigned URLs count as their operation.

Code no reached code names is not reached: the authorizer builds `Deps` with an S3
adapter but never calls `upload_url`, so it is asked for no S3 rights.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session

from tests.infra.source import (
    Module,
    Source,
    Sym,
    attribute_use,
    decorator_parts,
    imports_of,
    params,
    terminal,
    third_party_calls,
    walk,
)

ROOT = Path(__file__).resolve().parents[2]
_CLIENT_CALL = re.compile(r"^_?clients?$")
_INDIRECT = ("get_paginator", "generate_presigned_url", "generate_presigned_post")
#: decorators that wrap a function without registering it anywhere
_WRAPPERS = {"cache", "lru_cache", "once", "wraps", "property", "cached_property", "staticmethod", "classmethod"}
_PROPERTIES = {"property", "cached_property"}
#: third-party classes that take one of our clients, and the parameter they take it by
THIRD_PARTY = {
    "aws_lambda_powertools.utilities.idempotency.DynamoDBPersistenceLayer": "boto3_client",
    "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb.DynamoDBPersistenceLayer": "boto3_client",
}


class AnalysisError(Exception):
    """The code does something with a boto3 client that the analysis cannot follow."""


@dataclass(frozen=True)
class ApiCall:
    """One boto3 client method the code can call, where, and the literal names around it."""

    service: str
    method: str
    where: str
    #: keyword names and string literals of the enclosing function (`VersionId`,
    #: `ChecksumMode`, a transaction's `Put`/`Update`/`Delete`): they change the IAM actions
    names: frozenset[str] = frozenset()


@cache
def botocore_client(service: str):
    return botocore.session.get_session().create_client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@cache
def _services() -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_services())


@dataclass
class _Body:
    """A unit of reached code: a module's top level, a function, or a method of a class."""

    mod: Module
    nodes: list[ast.AST]
    label: str
    top_level: bool = False
    cls: tuple[str, str] | None = None  # (module, class) of `self`
    params: set[str] = field(default_factory=set)


class Analysis:
    """Reachability from one handler (see the module docstring); `calls` once `run()` returns."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.modules: set[str] = set()
        self.functions: set[tuple[str, str]] = set()
        self.classes: set[tuple[str, str]] = set()
        self.methods: set[tuple[str, str, str]] = set()
        self.attributes: set[str] = set()  # may be called
        self.receivers: set[str] = set()  # only read through: properties
        self.variables: set[tuple[str, str]] = set()
        self.registered: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.queue: list[_Body] = []
        #: (module, class, __init__ parameter) → services of the clients handed to it
        self.bindings: dict[tuple[str, str, str], set[str]] = {}
        #: calls on `self.<attr>`, resolved once every binding is known, and every other use
        #: of a `self.<attr>` (a client held there may only be called)
        self.self_calls: list[tuple[tuple[str, str], str, ast.Call, str, frozenset[str]]] = []
        self.self_other: list[tuple[tuple[str, str], str, str]] = []
        self.calls: set[ApiCall] = set()
        #: what first reached each function, method (`mod.Class.m`) and attribute (`.m`)
        self.why: dict[str, str] = {}
        self._current = "<entry>"

    def run(self, handler: str) -> Analysis:
        module_name, _, function = handler.rpartition(".")
        mod = self.source.module(module_name)
        if mod is None or function not in mod.defs:
            raise AnalysisError(f"no handler {handler}")
        self.reach_function(module_name, function)
        while self.queue or self._dispatch():
            while self.queue:
                self._scan(self.queue.pop())
        self._finish()
        return self

    def trail(self, label: str) -> list[str]:
        """How `label` (a function or `module.Class.method`) was reached, back to the handler."""
        path = [label]
        while len(path) < 50:
            step = self.why.get(path[-1]) or self.why.get("." + path[-1].rpartition(".")[2])
            if step is None or step in path:
                return path
            path.append(step)
        return path

    # --- reaching ---------------------------------------------------------------------------

    def load(self, name: str) -> None:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a, a.b, then a.b.c
            prefix = ".".join(parts[:i])
            mod = self.source.module(prefix)
            if mod is None or prefix in self.modules:
                continue
            self.modules.add(prefix)
            self.queue.append(_Body(mod, mod.tree.body, prefix, top_level=True))
            for fn in mod.defs.values():
                registrar = self._registrar(mod, fn)
                if registrar is True:
                    self.reach_function(prefix, fn.name)
                elif registrar is not None:
                    self.registered.setdefault(registrar, []).append((prefix, fn.name))
                    if registrar in self.variables:
                        self.reach_function(prefix, fn.name)

    def reach_function(self, mod_name: str, name: str) -> None:
        if (mod_name, name) in self.functions:
            return
        self.functions.add((mod_name, name))
        self.why.setdefault(f"{mod_name}.{name}", self._current)
        self.load(mod_name)
        mod = self.source.module(mod_name)
        fn = mod.defs[name]
        self.queue.append(_Body(mod, fn.body, f"{mod_name}.{name}", params=params(fn)))

    def instantiate(self, sym: Sym) -> None:
        if (sym.module, sym.name) in self.classes:
            return
        self.classes.add((sym.module, sym.name))
        self.load(sym.module)
        mod = self.source.module(sym.module)
        for base in mod.classes[sym.name].bases:
            found = self.source.resolve(mod, base)
            if found is not None and found.kind == "class":
                self.instantiate(found)

    def reach(self, sym: Sym) -> None:
        if sym.kind == "module":
            self.load(sym.module)
        elif sym.kind == "func":
            self.reach_function(sym.module, sym.name)
        elif sym.kind == "class":
            self.instantiate(sym)
        elif sym.kind == "var":
            self.load(sym.module)
            if (sym.module, sym.name) not in self.variables:
                self.variables.add((sym.module, sym.name))
                for mod_name, name in self.registered.get((sym.module, sym.name), []):
                    self.reach_function(mod_name, name)

    def _dispatch(self) -> bool:
        """Reach methods of instantiated classes by attribute name; True if any was new."""
        new = False
        for mod_name, cls_name in sorted(self.classes):
            mod = self.source.module(mod_name)
            for method in mod.classes[cls_name].body:
                if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                key = (mod_name, cls_name, method.name)
                decorators = {terminal(d) for d in method.decorator_list}
                named = method.name in self.attributes or (method.name in self.receivers and decorators & _PROPERTIES)
                implicit = (method.name.startswith("__") and method.name.endswith("__")) or bool(decorators - _WRAPPERS)
                if key in self.methods or not (named or implicit):
                    continue
                self.methods.add(key)
                self.why.setdefault(".".join(key), self.why.get(f".{method.name}", "instantiated"))
                self.queue.append(_Body(mod, method.body, ".".join(key), cls=(mod_name, cls_name), params=params(method)))
                new = True
        return new

    def _registrar(self, mod: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, str] | bool | None:
        """How a top-level function's decorators may run it without it being named: None
        (plain wrappers), the module-level object it is registered on (`@router.get(...)`
        → `router`), or True when the analysis cannot tell (it then counts as reached)."""
        found = None
        for decorator in fn.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if terminal(target) in _WRAPPERS:
                continue
            owner = self.source.resolve(mod, target.value) if isinstance(target, ast.Attribute) else None
            if owner is None or owner.kind != "var" or found not in (None, (owner.module, owner.name)):
                return True
            found = (owner.module, owner.name)
        return found

    # --- scanning ---------------------------------------------------------------------------

    def _scan(self, body: _Body) -> None:
        self._current = body.label
        mod, source = body.mod, self.source
        nodes = list(walk(body.nodes, into_defs=not body.top_level))
        local: dict[str, tuple[str, str | None]] = {}
        bound = set(body.params)
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bindings = imports_of(node, mod.package)
                if not body.top_level:
                    local.update(bindings)
                for origin, attr in bindings.values():  # importing runs the module, not what it names
                    target = source.target(origin, attr)
                    self.load(target.module if target is not None and target.kind == "module" else origin)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and not body.top_level:
                bound |= params(node)
        names = frozenset(
            {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            | {k.arg for n in nodes if isinstance(n, ast.Call) for k in n.keywords if k.arg}
        )
        parents = {child: parent for parent in nodes for child in ast.iter_child_nodes(parent)}
        registering = decorator_parts(mod) if body.top_level else set()
        for node in nodes:
            if (body.cls and isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
                    and isinstance(node.value, ast.Name) and node.value.id == "self"):  # fmt: skip
                parent, grand = parents.get(node), parents.get(parents.get(node))
                if not (isinstance(parent, ast.Attribute) and isinstance(grand, ast.Call) and grand.func is parent):
                    self.self_other.append((body.cls, node.attr, self._where(body, node)))
            if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
                if node in registering:
                    continue  # `@router.get(...)` registers on `router`; it does not use it
                sym = source.resolve(mod, node, local, bound)
                if sym is not None:
                    self.reach(sym)
                elif isinstance(node, ast.Attribute):
                    use = attribute_use(node, nodes, parents)
                    if use == "method":
                        self.attributes.add(node.attr)
                        self.why.setdefault(f".{node.attr}", body.label)
                    elif use == "receiver":
                        self.receivers.add(node.attr)
            if isinstance(node, ast.Call):
                self._call(body, node, local, bound, parents, names)

    def _call(self, body: _Body, node: ast.Call, local, bound, parents, names: frozenset[str]) -> None:
        service = self._client_service(body, node, local, bound)
        if service is not None:
            self._client_use(body, node, service, local, bound, parents, names)
        func = node.func
        if (body.cls and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)
                and isinstance(func.value.value, ast.Name) and func.value.value.id == "self"):  # fmt: skip
            self.self_calls.append((body.cls, func.value.attr, node, self._where(body, node), names))
        sym = self.source.resolve(body.mod, func, local, bound)
        init = self.source.init(sym) if sym is not None and sym.kind == "class" else None
        if init is not None:  # our constructors' `client` parameters take clients only
            given = {**dict(zip([a.arg for a in init.args.args[1:]], node.args)),
                     **{k.arg: k.value for k in node.keywords if k.arg}}  # fmt: skip
            if "client" in given and self._client_service(body, given["client"], local, bound) is None:
                raise AnalysisError(f'{self._where(body, node)}: {sym.name} is given a client that is not client("<service>")')

    def _client_service(self, body: _Body, expr: ast.AST, local, bound) -> str | None:
        """The service of a client-creating call `client("svc")`; None when `expr` is not one."""
        if not isinstance(expr, ast.Call) or not _CLIENT_CALL.match(terminal(expr.func)):
            return None
        sym = self.source.resolve(body.mod, expr.func, local, bound)
        if sym is not None and sym.kind == "external":
            if sym.module.startswith(("boto3", "botocore")):
                raise AnalysisError(f"{self._where(body, expr)}: build clients with functions.adapters.wiring.client")
            return None  # another library's `client(...)`
        literal = expr.args[0] if expr.args else None
        if not isinstance(literal, ast.Constant) or not isinstance(literal.value, str):
            if body.label == f"{self.source.package}.adapters.wiring.client":
                return None  # the factory itself
            raise AnalysisError(f"{self._where(body, expr)}: a client whose service is not a literal")
        if literal.value not in _services():
            raise AnalysisError(f"{self._where(body, expr)}: {literal.value!r} is not a boto3 service")
        return literal.value

    def _client_use(self, body: _Body, node: ast.Call, service: str, local, bound, parents, names) -> None:
        parent = parents.get(node)
        grand = parents.get(parent)
        if isinstance(parent, ast.Attribute) and isinstance(grand, ast.Call) and grand.func is parent:
            self._api_call(service, parent.attr, grand, self._where(body, grand), names)
            return
        if isinstance(parent, ast.keyword):
            call, slot = grand, parent.arg
        elif isinstance(parent, ast.Call) and node in parent.args:
            call, slot = parent, parent.args.index(node)
        else:
            raise AnalysisError(f"{self._where(body, node)}: a {service} client that is neither called nor passed to a constructor")
        sym = self.source.resolve(body.mod, call.func, local, bound)
        if sym is not None and sym.kind == "class":
            init = self.source.init(sym)
            names_in_order = [a.arg for a in init.args.args[1:]] if init else []
            param = slot if isinstance(slot, str) else (names_in_order[slot] if slot < len(names_in_order) else None)
            if param is None:
                raise AnalysisError(f"{self._where(body, call)}: cannot tell which parameter of {sym.name} gets the client")
            self.bindings.setdefault((sym.module, sym.name, param), set()).add(service)
        elif sym is not None and sym.kind == "external" and THIRD_PARTY.get(sym.module) == slot:
            for method in third_party_calls(sym.module):
                self._api_call(service, method, call, f"{self._where(body, call)} via {sym.module}", frozenset())
        else:
            raise AnalysisError(f"{self._where(body, call)}: a {service} client handed to something the analysis cannot read")

    def _api_call(self, service: str, method: str, call: ast.Call, where: str, names: frozenset[str]) -> None:
        if method in _INDIRECT:  # a paginator or a presigned URL: the operation it performs
            literal = call.args[0] if call.args else next(
                (k.value for k in call.keywords if k.arg in ("ClientMethod", "operation_name")), None
            )
            if method == "generate_presigned_post":
                literal = ast.Constant("put_object")
            if not isinstance(literal, ast.Constant) or not isinstance(literal.value, str):
                raise AnalysisError(f"{where}: {method} of an operation that is not a literal")
            method = literal.value
        if method not in botocore_client(service).meta.method_to_api_mapping:
            raise AnalysisError(f"{where}: {service} clients have no method {method!r}")
        self.calls.add(ApiCall(service, method, where, names))

    def _where(self, body: _Body, node: ast.AST) -> str:
        path = body.mod.path.relative_to(self.source.root)
        return f"{path}:{getattr(node, 'lineno', '?')} ({body.label})"

    def _finish(self) -> None:
        """Calls on client attributes, now that every constructor reached has bound its clients."""
        holders: dict[tuple[str, str, str], set[str]] = {}
        for (mod_name, cls_name, param), services in self.bindings.items():
            init = self.source.init(Sym("class", mod_name, cls_name))
            kept = [
                t.attr for node in ast.walk(init) if isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Name) and node.value.id == param
                for t in node.targets if isinstance(t, ast.Attribute)
                and isinstance(t.value, ast.Name) and t.value.id == "self"
            ] if init else []  # fmt: skip
            if not kept:
                raise AnalysisError(f"{cls_name} is given a client as {param!r} but does not keep it as self.<attr> = {param}")
            for attr in kept:
                holders.setdefault((mod_name, cls_name, attr), set()).update(services)
        for (mod_name, cls_name), attr, call, where, names in self.self_calls:
            for service in holders.get((mod_name, cls_name, attr), ()):
                self._api_call(service, call.func.attr, call, where, names)
        for (mod_name, cls_name), attr, where in self.self_other:
            if (mod_name, cls_name, attr) in holders:
                raise AnalysisError(f"{where}: self.{attr} holds a client; call its methods directly")


FUNCTIONS = Source(ROOT, "functions")


def analyse(handler: str, source: Source = FUNCTIONS) -> Analysis:
    """The analysis from a Lambda handler, e.g. `functions.auth.handler.lambda_handler`."""
    return Analysis(source).run(handler)


@cache
def lambda_calls(handler: str) -> frozenset[ApiCall]:
    """Every boto3 call the Lambda with this handler can make."""
    return frozenset(analyse(handler).calls)
