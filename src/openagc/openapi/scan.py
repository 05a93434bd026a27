"""Which request parameters a piece of the Agent API reads, found in its code (`ast`), never listed beside it.

A function reads a parameter where its code says `call.p.<name>` (any name for the call: `c.p.value` in a
lambda), `p.<name>` after `p = call.p` (or a parameter annotated `Params`), or `p.get("<name>")`; `p.get(name)`
inside `for name in FIELDS` reads every name of the global `FIELDS` (`o.name` for `o in OPTIONS`: each option's
`name`). What it calls is followed: module functions of openagc, and `Call` methods (`call.identifies_agent()`
reads `agent_user` and `alt_user`). A helper that looks at the names a request carried (`call.sent_names`) and is
given a global collection of names (`_triggers(call, FORM_TRIGGERS)`) reads those as presence-only parameters
(any value). Only names of `params.PARAMETERS` count as parameters; other names read that way are triggers.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from openagc.api.params import PARAMETERS
from openagc.api.pipeline import Call, FunctionSpec

PARAMS_ATTRIBUTE = "p"  # Call.p: the request's filtered parameters
SENT_NAMES = "sent_names"  # Call.sent_names: every parameter name the request carried
# Call methods not followed: they only stamp the printed line's log row with agent_user and value (an echo).
ECHO_ONLY = frozenset({"emit", "stop"})


@dataclass
class Reads:
    """What a piece of code reads: parameters of `PARAMETERS` and presence-only triggers (in order found)."""

    parameters: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    looks_at_sent_names: bool = False

    def add(self, names: Iterable[str], *, triggers: bool = False) -> None:
        """Count `names`; a name outside `PARAMETERS` is a trigger when `triggers`, else not a parameter at all
        (a method of `Params`)."""
        for name in names:
            bucket = self.parameters if name in PARAMETERS else self.triggers if triggers else None
            if bucket is not None and name not in bucket:
                bucket.append(name)

    def merge(self, other: Reads) -> None:
        self.add(other.parameters)
        self.add(other.triggers, triggers=True)


@functools.cache
def _module_tree(filename: str) -> ast.Module:
    with open(filename, encoding="utf-8") as source:
        return ast.parse(source.read(), filename)


def _node_of(fn: types.FunctionType) -> ast.AST | None:
    """The `def` or `lambda` of `fn` in its module's source (by first line and name)."""
    code = fn.__code__
    try:
        tree = _module_tree(inspect.getsourcefile(fn) or code.co_filename)
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and code.co_name == "<lambda>" and node.lineno == code.co_firstlineno:
            return node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if code.co_firstlineno in (first, node.lineno):
                return node
    return None


def _is_params(node: ast.AST, aliases: set[str]) -> bool:
    """`<anything>.p` or a name bound to it."""
    if isinstance(node, ast.Attribute) and node.attr == PARAMS_ATTRIBUTE:
        return True
    return isinstance(node, ast.Name) and node.id in aliases


def _aliases(node: ast.AST) -> set[str]:
    """Names bound to the parameters inside `node`: `p = call.p`, `p, u = call.p, …`, `p: Params` arguments."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assign):
            for target in sub.targets:
                pairs = zip(target.elts, sub.value.elts, strict=False) if (
                    isinstance(target, ast.Tuple) and isinstance(sub.value, ast.Tuple)) else [(target, sub.value)]
                for name, value in pairs:
                    if isinstance(name, ast.Name) and _is_params(value, set()):
                        found.add(name.id)
        elif isinstance(sub, ast.arg) and sub.annotation is not None:
            if "Params" in ast.unparse(sub.annotation):
                found.add(sub.arg)
    return found


def _comprehension_sources(node: ast.AST) -> dict[str, ast.AST]:
    """Loop variables of comprehensions and `for` loops inside `node` → the expression they iterate over."""
    found: dict[str, ast.AST] = {}
    for sub in ast.walk(node):
        loops = sub.generators if isinstance(sub, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) else (
            [sub] if isinstance(sub, (ast.For, ast.AsyncFor)) else [])
        for loop in loops:
            if isinstance(loop.target, ast.Name):
                found[loop.target.id] = loop.iter
    return found


class _Scope:
    """Evaluates the few expressions the scan needs (globals and module attributes) in `fn`'s module."""

    def __init__(self, fn: types.FunctionType) -> None:
        self.globals = fn.__globals__
        self.module = fn.__module__

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return self.globals.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.value(node.value)
            if isinstance(base, types.ModuleType):
                return getattr(base, node.attr, None)
        return None

    def names(self, node: ast.AST) -> list[str]:
        """The strings of a global collection of strings (else nothing)."""
        found = self.value(node)
        if isinstance(found, (tuple, list, set, frozenset)) and found and all(isinstance(s, str) for s in found):
            return sorted(found) if isinstance(found, (set, frozenset)) else list(found)
        return []


def _functions(value: Any, home: str = "openagc") -> Iterator[types.FunctionType]:
    """The function behind `value` if it is one of openagc's, or of the module `home` (where the scan started)."""
    fn = inspect.unwrap(value) if callable(value) else None
    if isinstance(fn, types.FunctionType) and (fn.__module__.startswith("openagc.") or fn.__module__ == home):
        yield fn


class Scanner:
    """Follows functions from a start and collects what they read; each function is read once."""

    def __init__(self, skip: Iterable[Callable[..., Any]] = ()) -> None:
        self.cache: dict[types.FunctionType, Reads] = {fn: Reads() for f in skip for fn in _functions(f)}
        self.visiting: set[types.FunctionType] = set()

    def reads(self, fn: Callable[..., Any]) -> Reads:
        found = Reads()
        for function in _functions(fn, getattr(fn, "__module__", "openagc")):
            found.merge(self._reads(function))
        return found

    def _reads(self, fn: types.FunctionType) -> Reads:
        if fn in self.cache:
            return self.cache[fn]
        if fn in self.visiting:  # recursion: what it reads is being collected further up
            return Reads()
        self.visiting.add(fn)
        try:
            found = self._scan(fn)
        finally:
            self.visiting.discard(fn)
        self.cache[fn] = found
        return found

    def _scan(self, fn: types.FunctionType) -> Reads:
        found = Reads()
        node = _node_of(fn)
        if node is None:
            return found
        scope = _Scope(fn)
        aliases = _aliases(node)
        loops = _comprehension_sources(node)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Load):
                if _is_params(sub.value, aliases) and sub.attr != "get":
                    found.add([sub.attr])
                elif sub.attr == SENT_NAMES:
                    found.looks_at_sent_names = True
                elif sub.attr in vars(Call) and sub.attr not in ECHO_ONLY and isinstance(
                        getattr(Call, sub.attr), types.FunctionType):
                    found.merge(self._reads(getattr(Call, sub.attr)))
            elif isinstance(sub, ast.Call):
                self._call(sub, scope, aliases, loops, found)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                for callee in _functions(scope.value(sub), fn.__module__):
                    found.merge(self._reads(callee))
        return found

    def _call(self, node: ast.Call, scope: _Scope, aliases: set[str], loops: dict[str, ast.AST],
              found: Reads) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and _is_params(func.value, aliases) and node.args:
            found.add(self._get_names(node.args[0], scope, loops))
            return
        for callee in _functions(scope.value(func), scope.module):
            if self._reads(callee).looks_at_sent_names:
                for arg in node.args:
                    found.add(scope.names(arg), triggers=True)

    @staticmethod
    def _get_names(arg: ast.AST, scope: _Scope, loops: dict[str, ast.AST]) -> list[str]:
        """The names `p.get(arg)` reads: a constant, a loop variable over a global collection, or its attribute."""
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return [arg.value]
        loop_name = arg.id if isinstance(arg, ast.Name) else (
            arg.value.id if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) else None)
        if loop_name is None or loop_name not in loops:
            return []
        items = scope.value(loops[loop_name])
        if not isinstance(items, (tuple, list, set, frozenset, dict)):
            return []
        if isinstance(arg, ast.Name):
            return [i for i in items if isinstance(i, str)]
        attribute = arg.attr  # type: ignore[union-attr]
        return [v for i in items if isinstance(v := getattr(i, attribute, None), str)]


def function_reads(spec: FunctionSpec, scanner: Scanner | None = None) -> Reads:
    """What a registered function reads: its step A check, its handler, its `after`, and the shared steps it
    runs (alt_user resolution reads `alt_user`; the logged-in check reads `agent_user`). The lines that only
    echo parameters back (`invalid`, `not_logged_in`, the log identity) are not counted."""
    scanner = scanner or Scanner()
    found = Reads()
    for part in (spec.valid, spec.handler, spec.after):
        if part is not None:
            found.merge(scanner.reads(part))
    if spec.alt_user:
        found.add(["alt_user"])
    if spec.logged_in:
        found.merge(scanner.reads(Call.live_agent))
    return found


def loose_reads(functions: Iterable[Callable[..., Any]], skip: Iterable[Callable[..., Any]] = ()) -> list[str]:
    """Parameters the request's common layer reads: what `function_reads` finds (not following `skip`), plus any
    string constant of `PARAMETERS` looked up in a mapping there (`raw.get("format")`, `raw["function"]`)."""
    scanner = Scanner(skip)
    found = Reads()
    for fn in functions:
        found.merge(scanner.reads(fn))
        for function in _functions(fn):
            node = _node_of(function)
            for sub in ast.walk(node) if node is not None else ():
                key = None
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "get" \
                        and sub.args and isinstance(sub.args[0], ast.Constant):
                    key = sub.args[0].value
                elif isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Constant):
                    key = sub.slice.value
                if isinstance(key, str) and key in PARAMETERS:
                    found.add([key])
    return [name for name in PARAMETERS if name in found.parameters]


def first_line(fn: Callable[..., Any]) -> str:
    """The first line of a docstring (the summary), or ''."""
    doc = inspect.getdoc(fn) or ""
    return doc.splitlines()[0].strip() if doc else ""


def docstring(fn: Callable[..., Any]) -> str:
    return textwrap.dedent(inspect.getdoc(fn) or "").strip()
