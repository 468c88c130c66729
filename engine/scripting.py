"""The script environment of the models: a checked subset of Python.

SpiffWorkflow 3.2.0 runs scripts, gateway conditions, timer expressions and DMN
cells through plain ``eval``/``exec``, and swapping the globals is no sandbox (a
walk over ``__subclasses__`` reaches ``subprocess``). Models come from process
owners, so every expression is parsed and checked against an allow-list before
it runs: names from task data, literals, arithmetic, comparisons, subscripts,
a few builtins and the rules of ``fangfan.rules``. No attribute but ``get`` on
a dict, no imports, no function definitions, no dunder names anywhere.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from fangfan import rules

SAFE_BUILTINS = {
    "len": len,
    "any": any,
    "all": all,
    "min": min,
    "max": max,
    "sum": sum,
    "int": int,
    "str": str,
    "bool": bool,
    "abs": abs,
    "round": round,
    "True": True,
    "False": False,
    "None": None,
}

#: Methods that may be called on values from task data.
SAFE_METHODS = frozenset({"get"})

_EXPRESSION_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.Set,
    ast.Call,
    ast.Attribute,
    ast.keyword,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.expr_context,
)

_STATEMENT_NODES = (
    ast.Module,
    ast.Assign,
    ast.AugAssign,
    ast.Expr,
    ast.If,
    ast.Pass,
)


class UnsafeScript(ValueError):
    """A script or expression uses Python beyond the allowed subset."""


@lru_cache(maxsize=4096)
def check_source(source: str, mode: str) -> None:
    """Raise UnsafeScript unless ``source`` keeps to the allowed subset.

    Cached per text: the same conditions run for every instance.
    """
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as error:
        raise UnsafeScript(f"syntax error: {error.msg} (line {error.lineno})") from None

    allowed = _EXPRESSION_NODES + (_STATEMENT_NODES if mode == "exec" else ())
    callables = set(SAFE_BUILTINS) | set(rules.script_functions())
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise UnsafeScript(f"not allowed in a model: {type(node).__name__}")

        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeScript(f"not allowed in a model: the name {node.id!r}")

        if isinstance(node, ast.Attribute) and node.attr not in SAFE_METHODS:
            raise UnsafeScript(f"not allowed in a model: the attribute {node.attr!r}")

        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id not in callables:
                raise UnsafeScript(f"not allowed in a model: calling {function.id!r}")
            if not isinstance(function, (ast.Name, ast.Attribute)):
                raise UnsafeScript("not allowed in a model: this kind of call")


class CheckedEnvironment(TaskDataEnvironment):
    """Task data as globals, restricted builtins, every text checked before it runs."""

    def __init__(self):
        super().__init__({"__builtins__": SAFE_BUILTINS, **rules.script_functions()})

    def evaluate(self, expression, context, external_context=None):
        check_source(expression, "eval")
        return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        check_source(script, "exec")
        return super().execute(script, context, external_context)


def create_script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=CheckedEnvironment())
