"""Template rules: which Jinja constructs an admin-written message template may use.

The check walks the parsed template and accepts only an allow-list of nodes:
text, documented variables, constants, if/else, comparisons, arithmetic, ``~``,
a few filters and tests, and one level of ``for`` over a short literal list or
a variable. Anything else (attribute access, ``|attr``, calls, macros,
``set``, include/extends/import, blocks, ``autoescape``) is refused before the
template is compiled, so none of it can run. Numbers written in the template
and ``|round`` precisions are checked against the bounds the sandbox applies
while rendering.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NoReturn

from jinja2 import nodes

from bot.errors import InvalidInput
from bot.i18n import N_

FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "d",
        "default",
        "first",
        "int",
        "last",
        "length",
        "lower",
        "round",
        "title",
        "trim",
        "truncate",
        "upper",
        "wordcount",
    }
)
TESTS = frozenset(
    {
        "defined",
        "divisibleby",
        "eq",
        "even",
        "ge",
        "gt",
        "in",
        "le",
        "lower",
        "lt",
        "ne",
        "none",
        "number",
        "odd",
        "string",
        "undefined",
        "upper",
    }
)
LOOP_ATTRIBUTES = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length"}
)
MAX_LOOP_ITEMS = 50
# Whole numbers a template may write or compute: far beyond any price or points balance,
# and small enough that every operation on them takes microseconds.
MAX_INT_BITS = 128
# ``|round`` computes 10**precision: a huge precision alone can take minutes.
# (ROUND_PRECISION below names this number.)
MAX_PRECISION = 20

# Nodes that are harmless whatever their children are (the children are checked too).
_PLAIN: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.List,
    nodes.Tuple,
    nodes.Keyword,
)
# How a refused statement is named to the admin.
_STATEMENTS: dict[type[nodes.Node], str] = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Include: "{% include %}",
    nodes.Extends: "{% extends %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.With: "{% with %}",
    nodes.Block: "{% block %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
    nodes.ExprStmt: "{% do %}",
    nodes.Getitem: "[…]",
    nodes.Slice: "[…:…]",
    nodes.Pow: "**",
    nodes.Dict: "{…}",
}

NOT_ALLOWED = N_(
    "“{construct}” isn't allowed in a message template. You can use the variables, "
    "if/else, one simple for-loop and these filters: {filters}."
)
UNKNOWN_VARIABLE = N_("{name} is not a variable you can use. You can use: {variables}.")
NESTED_LOOP = N_("A loop inside another loop isn't allowed in a message template.")
LOOP_ITERABLE = N_(
    "A loop can only go over a variable or a list written in the template (at most {limit} items)."
)
REPEAT_TEXT = N_("Repeating text with * isn't allowed in a message template.")
NUMBER_TOO_BIG = N_("A number in the template gets too big.")
ROUND_PRECISION = N_("|round can keep at most 20 digits before or after the point.")


# A template made only of these does a fixed amount of work per node, each node at most
# once: no loops, filters, tests, arithmetic or numbers to grow.
_PLAIN_ONLY: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
)


def is_plain(ast: nodes.Template) -> bool:
    """Return True when a checked template can only take time in proportion to its text.

    Text, variables and if/else on comparisons: rendering such a template cannot
    run away, so it may be filled in without a worker process.
    """
    return all(isinstance(node, _PLAIN_ONLY) for node in _walk(ast))


def _walk(node: nodes.Node) -> Iterable[nodes.Node]:
    yield node
    for child in node.iter_child_nodes():
        yield from _walk(child)


def check_template(ast: nodes.Template, variables: Mapping[str, str]) -> None:
    """Refuse a parsed template that uses anything outside the allow-list.

    Raises:
        InvalidInput: naming the first offending construct or variable.
    """
    _Walker(variables).visit(ast, frozenset(), depth=0)


def describe_variables(variables: Iterable[str]) -> str:
    """Return the variables as the admin types them: ``{{ first_name }}, …``."""
    return ", ".join("{{ " + name + " }}" for name in variables)


class _Walker:
    def __init__(self, variables: Mapping[str, str]) -> None:
        self.variables = variables

    def visit(self, node: nodes.Node, bound: frozenset[str], *, depth: int) -> None:
        match node:
            case nodes.Name():
                self._name(node, bound)
            case nodes.Getattr():
                self._getattr(node, bound)
            case nodes.Filter() | nodes.Test():
                self._filter_or_test(node, bound, depth=depth)
            case nodes.For():
                self._for(node, bound, depth=depth)
            case nodes.Mul():
                if _is_text(node.left) or _is_text(node.right):
                    raise InvalidInput(REPEAT_TEXT)
                self._children(node, bound, depth=depth)
            case nodes.Call():
                self._refuse(_call_name(node))
            case nodes.Const():
                _check_constant(node.value)
            case _ if isinstance(node, _PLAIN):
                self._children(node, bound, depth=depth)
            case _:
                self._refuse(_STATEMENTS.get(type(node), type(node).__name__))

    def _children(self, node: nodes.Node, bound: frozenset[str], *, depth: int) -> None:
        for child in node.iter_child_nodes():
            self.visit(child, bound, depth=depth)

    def _name(self, node: nodes.Name, bound: frozenset[str]) -> None:
        if node.ctx != "load" or node.name == "loop":
            self._unknown(node.name)
        if node.name not in self.variables and node.name not in bound:
            self._unknown(node.name)

    def _getattr(self, node: nodes.Getattr, bound: frozenset[str]) -> None:
        base = node.node
        ok = isinstance(base, nodes.Name) and base.name == "loop" and "loop" in bound
        if not ok or node.attr not in LOOP_ATTRIBUTES:
            self._refuse(f".{node.attr}")

    def _filter_or_test(
        self, node: nodes.Filter | nodes.Test, bound: frozenset[str], *, depth: int
    ) -> None:
        allowed = FILTERS if isinstance(node, nodes.Filter) else TESTS
        sign = "|" if isinstance(node, nodes.Filter) else "is "
        if node.name not in allowed or node.dyn_args is not None or node.dyn_kwargs is not None:
            self._refuse(f"{sign}{node.name}")
        if node.node is None:  # only inside {% filter %}, which is refused earlier
            self._refuse("{% filter %}")
        if isinstance(node, nodes.Filter) and node.name == "round":
            _check_round(node)
        self._children(node, bound, depth=depth)

    def _for(self, node: nodes.For, bound: frozenset[str], *, depth: int) -> None:
        if depth > 0:
            raise InvalidInput(NESTED_LOOP)
        if node.recursive:
            self._refuse("{% for … recursive %}")
        if not isinstance(node.target, nodes.Name):
            self._refuse("{% for a, b in … %}")
        iterable = node.iter
        short_list = (
            isinstance(iterable, nodes.List | nodes.Tuple)
            and len(iterable.items) <= MAX_LOOP_ITEMS
        )
        variable = isinstance(iterable, nodes.Name) and iterable.name in self.variables
        if not (short_list or variable):
            raise InvalidInput(LOOP_ITERABLE, limit=MAX_LOOP_ITEMS)
        self.visit(iterable, bound, depth=depth)
        inner = bound | {node.target.name}
        if node.test is not None:
            self.visit(node.test, inner, depth=depth + 1)
        for child in node.body:
            self.visit(child, inner | {"loop"}, depth=depth + 1)
        for child in node.else_:
            self.visit(child, bound, depth=depth)

    def _refuse(self, construct: str) -> NoReturn:
        raise InvalidInput(NOT_ALLOWED, construct=construct, filters=", ".join(sorted(FILTERS)))

    def _unknown(self, name: str) -> NoReturn:
        raise InvalidInput(
            UNKNOWN_VARIABLE,
            name="{{ " + name + " }}",
            variables=describe_variables(self.variables),
        )


def _check_constant(value: object) -> None:
    if isinstance(value, int) and abs(value).bit_length() > MAX_INT_BITS:
        raise InvalidInput(NUMBER_TOO_BIG)


def _check_round(node: nodes.Filter) -> None:
    """Refuse a written-out precision the sandbox would refuse for every customer anyway."""
    given = [kw.value for kw in node.kwargs if kw.key == "precision"] or node.args[:1]
    for arg in given:
        value = _literal_number(arg)
        if value is not None and abs(value) > MAX_PRECISION:
            raise InvalidInput(ROUND_PRECISION)


def _literal_number(node: nodes.Node) -> int | float | None:
    """Return the number a node writes out (``-5`` is ``Neg(5)``), or None."""
    while isinstance(node, nodes.Neg | nodes.Pos):
        node = node.node
    if isinstance(node, nodes.Const) and isinstance(node.value, int | float):
        return node.value
    return None


def _is_text(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Const):
        return isinstance(node.value, str)
    return isinstance(node, nodes.List | nodes.Tuple | nodes.TemplateData)


def _call_name(node: nodes.Call) -> str:
    callee = node.node
    if isinstance(callee, nodes.Name):
        return f"{callee.name}(…)"
    if isinstance(callee, nodes.Getattr):
        return f".{callee.attr}(…)"
    return "(…)"
