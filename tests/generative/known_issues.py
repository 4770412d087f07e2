"""Engine and query model bugs already found, so generation can step round them.

Each predicate recognises examples that would hit one known bug; the
agreement test `assume()`s they are absent, so that a bug found once shows up
as one xfail regression test (in test_regressions.py, named beside each
predicate) rather than as a red generative test on every run. Remove a
predicate when its regression test starts passing.

None is open at present: the bugs found so far (see test_regressions.py) have
been fixed.
"""

from __future__ import annotations

from ehrql.query_model import nodes as qm

#: Every known-issue predicate; an example matching any of them is skipped.
KNOWN_ISSUES: tuple = ()


def hits_known_issue(dataset: qm.Dataset) -> bool:
    """True when `dataset` would run into an already-reported bug."""
    return any(predicate(dataset) for predicate in KNOWN_ISSUES)
