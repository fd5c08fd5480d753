"""Loaded by schemathesis before it runs (SCHEMATHESIS_HOOKS=schemathesis_hooks).

Hypothesis describes the lambdas in a strategy's repr by parsing their
module's source with `ast.parse`; inside schemathesis's coverage phase, at
its recursion depth, CPython 3.11.7 (this machine's) fails that parse with
"SystemError: AST constructor recursion depth mismatch" now and then, and
the whole operation errors. The description is only a repr, so a plain one
loses nothing.
"""

from hypothesis.internal import reflection


def _plain_description(f, *args, **kwargs):
    return getattr(f, "__name__", "lambda")


reflection.lambda_description = _plain_description
try:  # newer hypothesis keeps it in a module of its own
    from hypothesis.internal import lambda_sources

    lambda_sources.lambda_description = _plain_description
except ImportError:
    pass
