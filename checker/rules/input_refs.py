"""Which fields of ``input`` and ``data`` the policies read, checked against JSON Schemas.

The policies are parsed by regorus (``get_ast_as_json``) and walked with the schema node each
variable is bound to: ``some d in input.deployments`` binds ``d`` to a deployment, ``x :=
d.window_observations[host]`` binds ``x`` to a list of observations, a comprehension over a
bound list is a list of the same items, and a call of a function of the same package binds its
parameters to the arguments' nodes (each function is walked once per distinct binding, until
nothing new is learnt). Reading a field that a node's schema does not declare is a ``Miss``.
What is not traced to a schema (a value a rule built, a builtin's result) is not judged: the
walk can fail to see a wrong field, but never reports a right one as wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import regorus

from checker.engine.base import policy_error

Node = dict[str, Any]
Env = dict[str, Node | None]


@dataclass(frozen=True)
class Miss:
    """A field read that the schema does not declare."""

    file: str
    line: int
    path: str
    """The reference as written, e.g. ``deployment.shipd``."""
    where: str
    """The schema node it was read on, by title, e.g. ``Deployment``."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path} (no such field in {self.where})"


class Schema:
    """JSON Schemas for the roots (``input``, ``data``), navigated as Rego reads values."""

    def __init__(self, roots: dict[str, Node]) -> None:
        self.roots = roots
        self._defs: dict[str, Node] = {}
        for root in roots.values():
            self._defs.update(root.get("$defs", {}))

    def resolve(self, node: Node | None) -> Node | None:
        """Follow ``$ref``; of a nullable ``anyOf``, the one non-null branch."""
        while node is not None:
            if "$ref" in node:
                node = self._defs[node["$ref"].rsplit("/", 1)[1]]
            elif "anyOf" in node:
                branches = [b for b in node["anyOf"] if b.get("type") != "null"]
                node = branches[0] if len(branches) == 1 else None
            else:
                return node
        return None

    def field(self, node: Node | None, name: str) -> tuple[Node | None, Node | None]:
        """The node of ``node.name``; and the node itself when it declares no such field."""
        node = self.resolve(node)
        if node is None:
            return None, None
        if "properties" in node:
            child = node["properties"].get(name)
            if child is None and node.get("additionalProperties") is False:
                return None, node
            return child, None
        extra = node.get("additionalProperties")
        return (extra if isinstance(extra, dict) else None), None

    def element(self, node: Node | None) -> tuple[Node | None, Node | None]:
        """What ``some key, value in node`` binds: the key's node and the value's."""
        node = self.resolve(node)
        if node is None:
            return None, None
        if node.get("type") == "array":
            return {"type": "integer"}, node.get("items")
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return {"type": "string"}, extra
        return None, None


def _var(node: Any) -> str | None:
    if isinstance(node, dict) and "Var" in node:
        return str(node["Var"]["value"])
    return None


def _string(node: Any) -> str | None:
    if isinstance(node, dict) and "String" in node:
        return str(node["String"]["value"])
    return None


def _text(node: Any) -> str:
    """A reference as written, for messages (``d.window_observations[host].short``)."""
    if not isinstance(node, dict) or len(node) != 1:
        return "…"
    kind, body = next(iter(node.items()))
    if kind == "Var":
        return str(body["value"])
    if kind == "RefDot":
        return f"{_text(body['refr'])}.{body['field'][1]}"
    if kind == "RefBrack":
        return f"{_text(body['refr'])}[{_text(body['index'])}]"
    if kind in ("String", "Number"):
        return json.dumps(body["value"])
    if kind == "Array":
        return "[" + ", ".join(_text(item) for item in body.get("items", [])) + "]"
    if kind == "Call":
        params = ", ".join(_text(p) for p in body["params"])
        return f"{_text(body['fcn'])}({params})"
    return "…"


def _pattern_vars(node: Any) -> list[str]:
    """The variables a destructuring pattern binds (``[a, _]``, ``{"k": v}``)."""
    name = _var(node)
    if name is not None:
        return [name]
    found: list[str] = []
    for child in _children(node.get(next(iter(node))) if isinstance(node, dict) else node):
        found += _pattern_vars(child)
    return found


def _path(node: Any) -> list[str] | None:
    """``object.get``'s key: a string, or an array of strings (a path); None otherwise."""
    key = _string(node)
    if key is not None:
        return [key]
    if isinstance(node, dict) and "Array" in node:
        keys = [_string(item) for item in node["Array"].get("items", [])]
        if keys and all(k is not None for k in keys):
            return [k for k in keys if k is not None]
    return None


def _children(body: Any) -> Iterator[Any]:
    """The expressions directly inside a node (a node is a dict of one capitalised key)."""
    values = body.values() if isinstance(body, dict) else body if isinstance(body, list) else []
    for value in values:
        if isinstance(value, dict) and len(value) == 1 and next(iter(value))[:1].isupper():
            yield value
        elif isinstance(value, dict | list):
            yield from _children(value)


_UNBOUND = "null"
"""A function's binding with nothing traced: every function is walked so at least once."""


@dataclass
class _Walker:
    """Walks one module's rules with its variables bound to schema nodes."""

    file: str
    rules: list[Node]
    schema: Schema
    source: str = ""
    module_imports: list[Node] = field(default_factory=list)
    functions: dict[str, list[Node]] = field(default_factory=dict)
    calls: dict[str, set[str]] = field(default_factory=dict)
    """Each function's argument bindings met so far, as JSON."""
    misses: set[Miss] = field(default_factory=set)
    names: Env = field(default_factory=dict)
    """The module's own names bound to a node: ``import input.deployments as deps``, and
    rules whose value is a reference (``deps := input.deployments``)."""
    in_functions: dict[str, dict[str, set[Miss]]] = field(default_factory=dict)
    """Each function's misses under each binding it was walked with."""

    def run(self) -> None:
        """Every rule, then every function under each binding met, until none is new; a read
        in a function is a miss only if it is one under every binding (a helper may be called
        on deployments and on commits, each definition guarding its own fields)."""
        for spec in self.rules:
            head = spec["head"]
            if "Func" in head and (name := _var(head["Func"]["refr"])) is not None:
                self.functions.setdefault(name, []).append(spec)
        self._aliases()
        for spec in self.rules:
            if "Func" not in spec["head"]:
                self._spec(spec, {})
        self._functions()
        for found in self.in_functions.values():
            # Walked once with nothing bound: what it reads of input itself is a miss under
            # any binding. Then what it reads of its arguments, under every binding met.
            alone = found.pop(_UNBOUND)
            self.misses |= alone
            if found:
                every = set.intersection(*({(m.line, m.path) for m in f} for f in found.values()))
                self.misses |= {m for f in found.values() for m in f if (m.line, m.path) in every}

    def _aliases(self) -> None:
        """Bind the module's imports of ``input`` and its rules whose value is a reference."""
        for item in self.module_imports:
            if not _text(item["refr"]).startswith("input"):
                continue  # a package (data.knightwatch.lib) or rego.v1: nothing read
            node = self._expr(item["refr"], {})
            alias = item.get("as")
            name = self._spelled(alias) if alias else _text(item["refr"]).rsplit(".", 1)[-1]
            if node is not None and name:
                self.names[name] = node
        for _ in range(2):  # an alias of an alias
            for spec in self.rules:
                self._alias(spec)

    def _alias(self, spec: Node) -> None:
        """A rule whose value is a reference (``deps := input.deployments``), or a set whose
        elements are (``prod contains d if { some d in input.deployments; ... }``)."""
        head = spec["head"]
        compr, members = head.get("Compr"), head.get("Set")
        if compr and compr.get("assign") and not spec["bodies"]:
            found = self._expr(compr["assign"]["value"], {})
            if found is not None and (rule := _var(compr["refr"])) is not None:
                self.names[rule] = found
        elif members and members.get("key") is not None and (rule := _var(members["refr"])):
            for body in spec["bodies"]:
                env: Env = {}
                self._query(body["query"], env)
                element = self._expr(members["key"], env)
                if element is not None:
                    self.names[rule] = {"type": "array", "items": element}

    def _spelled(self, span: Node) -> str:
        """The text a span covers in the module's source (a name the AST gives as a span)."""
        return self.source[span.get("start", 0) : span.get("end", 0)].strip()

    def _functions(self) -> None:
        for name in self.functions:
            self.calls.setdefault(name, set()).add(_UNBOUND)
        walked: set[tuple[str, str]] = set()
        while True:  # until no binding is new
            todo = sorted(
                (name, key)
                for name, keys in self.calls.items()
                for key in keys
                if (name, key) not in walked
            )
            if not todo:
                return
            for name, key in todo:
                walked.add((name, key))
                self._function(name, key)

    def _function(self, name: str, key: str) -> None:
        """Each definition of function ``name``, its parameters bound as ``key`` says; its
        misses kept apart, by binding."""
        outside, self.misses = self.misses, set()
        for spec in self.functions[name]:
            params = [_var(a) for a in spec["head"]["Func"]["args"]]
            env: Env = {p: None for p in params if p is not None}
            bound = zip(params, json.loads(key) or [], strict=False)
            env.update({p: n for p, n in bound if p is not None})
            self._spec(spec, env)
        self.in_functions.setdefault(name, {})[key] = self.misses
        self.misses = outside

    def _spec(self, spec: Node, env: Env) -> None:
        _, head = next(iter(spec["head"].items()))
        terms = [head["key"]] if head.get("key") is not None else []
        terms += [head["assign"]["value"]] if head.get("assign") else []
        for body in spec["bodies"] or [{"query": {"stmts": []}}]:
            scope = dict(env)
            self._query(body["query"], scope)
            for term in [*([body["assign"]["value"]] if body.get("assign") else []), *terms]:
                self._expr(term, scope)

    def _query(self, query: Node, env: Env) -> None:
        for stmt in query["stmts"]:
            kind, body = next(iter(stmt["literal"].items()))
            if kind == "SomeIn":
                key, value = self.schema.element(self._expr(body["collection"], env))
                for var, node in ((body.get("key"), key), (body["value"], value)):
                    if (name := _var(var)) is not None:
                        env[name] = node
            elif kind == "Every":
                self._every(body, env)
            elif kind == "SomeVars":
                env.update({name: None for v in body.get("vars", []) if (name := _var(v))})
            elif kind in ("Expr", "NotExpr"):
                self._expr(body["expr"], env)
            else:
                for child in _children(body):
                    self._expr(child, env)

    def _every(self, body: Node, env: Env) -> None:
        """``every k, v in domain { ... }``: its variables (spans in the AST) bound afresh to
        the domain's elements inside its query alone."""
        key, value = self.schema.element(self._expr(body["domain"], env))
        inner = dict(env)
        for span, node in ((body.get("key"), key), (body.get("value"), value)):
            if isinstance(span, dict) and (name := self._spelled(span)):
                inner[name] = node
        self._query(body["query"], inner)

    def _expr(self, expr: Any, env: Env) -> Node | None:
        if not isinstance(expr, dict) or len(expr) != 1:
            return None
        kind, body = next(iter(expr.items()))
        handler = getattr(self, f"_{kind}", None)
        if handler is not None:
            result: Node | None = handler(expr, body, env)
            return result
        for child in _children(body):
            self._expr(child, env)
        return None

    def _Var(self, expr: Node, body: Node, env: Env) -> Node | None:
        name = body["value"]
        if name in env:
            return env[name]
        return self.names[name] if name in self.names else self.schema.roots.get(name)

    def _RefDot(self, expr: Node, body: Node, env: Env) -> Node | None:
        base = self._expr(body["refr"], env)
        span, name = body["field"]
        return self._read(expr, base, name, span.get("line", 0))

    def _RefBrack(self, expr: Node, body: Node, env: Env) -> Node | None:
        base = self._expr(body["refr"], env)
        self._expr(body["index"], env)
        name = _string(body["index"])
        if name is not None:
            return self._read(expr, base, name, body.get("span", {}).get("line", 0))
        return self.schema.element(base)[1]

    def _AssignExpr(self, expr: Node, body: Node, env: Env) -> Node | None:
        value = self._expr(body["rhs"], env)
        if (name := _var(body["lhs"])) is not None:
            env[name] = value
        else:  # a pattern ([a, _] := ...): its variables are bound, to nothing traced
            env.update({v: None for v in _pattern_vars(body["lhs"])})
        return None

    def _Call(self, expr: Node, body: Node, env: Env) -> Node | None:
        params = [self._expr(p, env) for p in body["params"]]
        name = _var(body["fcn"])
        if name in self.functions and any(p is not None for p in params):
            self.calls.setdefault(name, set()).add(json.dumps(params, sort_keys=True))
        if _text(body["fcn"]) != "object.get" or len(params) != 3:
            return None
        keys = _path(body["params"][1])
        line = body.get("span", {}).get("line", 0)
        node = params[0]
        for key in keys or []:  # a key, or a path of keys: each read in turn
            node = self._read(expr, node, key, line)
        return node if keys else None

    def _ArrayCompr(self, expr: Node, body: Node, env: Env) -> Node | None:
        inner = dict(env)
        self._query(body["query"], inner)
        item = self._expr(body["term"], inner)
        return {"type": "array", "items": item} if item is not None else None

    _SetCompr = _ArrayCompr

    def _ObjectCompr(self, expr: Node, body: Node, env: Env) -> Node | None:
        inner = dict(env)
        self._query(body["query"], inner)
        self._expr(body["key"], inner)
        value = self._expr(body["value"], inner)
        return {"type": "object", "additionalProperties": value} if value is not None else None

    def _read(self, expr: Node, base: Node | None, name: str, line: int) -> Node | None:
        child, lacking = self.schema.field(base, name)
        if lacking is not None:
            where = str(lacking.get("title", "the document"))
            self.misses.add(Miss(self.file, line, _text(expr), where))
        return child


def unknown_fields(modules: Iterable[tuple[str, str]], roots: dict[str, Node]) -> list[Miss]:
    """Every read of a field the schemas do not declare, in the ``(file, source)`` modules;
    ``roots`` maps the root documents (``input``, ``data``) to their schemas."""
    schema = Schema(roots)
    misses: set[Miss] = set()
    for file, source in modules:
        engine = regorus.Engine()
        try:
            engine.add_policy(file, source)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise policy_error(str(exc), context=f"loading {file}") from None
        try:
            module = json.loads(engine.get_ast_as_json())[0]["ast"]
        except RecursionError:  # an expression nested hundreds deep: not walked
            continue
        rules = [rule["Spec"] for rule in module["rules"] if "Spec" in rule]
        walker = _Walker(file, rules, schema, source, module.get("imports") or [])
        try:
            walker.run()
        except (KeyError, IndexError, TypeError, ValueError, RecursionError):
            continue  # a construct the walk does not know: what it cannot trace, it does not judge
        misses |= walker.misses
    return sorted(misses, key=lambda m: (m.file, m.line, m.path))
