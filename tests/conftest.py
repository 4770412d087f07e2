"""Hypothesis profiles for the test suite.

* `dev` (the default locally): random examples, failures remembered in the
  local `.hypothesis` database so that a failure replays on the next run.
* `ci` (chosen when the `CI` environment variable is set): derandomized, so
  every CI run tries the same examples and a red build can be reproduced
  exactly with `CI=1 python -m pytest ...`; with fixed examples there is
  nothing for an example database to remember, so none is used.
* `long`: for hunting bugs. Chosen by `HYPOTHESIS_PROFILE=long`, or by setting
  `GENTEST_EXAMPLES=<n>` (the number of examples per generative test, 2000 by
  default).

`HYPOTHESIS_PROFILE` names a profile explicitly and wins over the others.
No profile has a deadline: the engines' run time varies with machine load.
"""

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None)
settings.register_profile(
    "long", deadline=None, max_examples=int(os.environ.get("GENTEST_EXAMPLES", "2000"))
)


def _chosen_profile() -> str:
    if "HYPOTHESIS_PROFILE" in os.environ:
        return os.environ["HYPOTHESIS_PROFILE"]
    if "GENTEST_EXAMPLES" in os.environ:
        return "long"
    return "ci" if os.environ.get("CI") else "dev"


settings.load_profile(_chosen_profile())
