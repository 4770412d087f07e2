"""Caches that live as long as one run of the generator.

The solver asks the same questions about the same query model nodes many
times in a run (each literal of each alternative, each goal), so their
answers are worth keeping. A module-level cache (`functools.lru_cache`)
would keep them after the run: in a long-lived process (the test suite, a
notebook generating again and again) it would hold on to the nodes of every
definition seen, and once a definition is loaded again, each look-up would
find an equal but distinct key and compare the two trees in full.

So `per_run` functions keep their answers in the caches of the current run
(`run_caches`), which `generate_dummy_data` opens and drops when it returns.
Called outside a run, they compute their answer each time.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import TypeVar

_Function = TypeVar("_Function", bound=Callable)

#: The current run's answers, keyed by (function, arguments).
_CURRENT: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "ehrql_dummy_run_caches", default=None
)


@contextlib.contextmanager
def run_caches() -> Iterator[None]:
    """Give the `per_run` functions called inside fresh caches, dropped at the end.

    A run started inside another (a nested call) shares the outer run's caches.
    """
    if _CURRENT.get() is not None:
        yield
        return
    token = _CURRENT.set({})
    try:
        yield
    finally:
        _CURRENT.reset(token)


def per_run(function: _Function) -> _Function:
    """`function`, a pure function of hashable arguments, with its answers
    kept for the rest of the current run (see `run_caches`)."""

    @functools.wraps(function)
    def cached(*args, **kwargs):
        answers = _CURRENT.get()
        if answers is None:
            return function(*args, **kwargs)
        # One dict for every function of the run: a single look-up per call.
        key = (cached, args, tuple(kwargs.items())) if kwargs else (cached, args)
        try:
            return answers[key]
        except KeyError:
            value = answers[key] = function(*args, **kwargs)
            return value

    return cached  # type: ignore[return-value]
