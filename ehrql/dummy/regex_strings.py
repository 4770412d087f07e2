"""Random strings that match a regular expression.

Columns with a `Regex` constraint (practice pseudo-ids, postcodes, ...) must get
values that match it in full. We walk the standard library's parse of the
pattern and choose a random branch at each step.
"""

from __future__ import annotations

import random
import re
import string

try:  # Python 3.11+ names it re._parser; older versions sre_parse.
    from re import _parser as sre_parse
    from re import _constants as sre_constants
except ImportError:  # pragma: no cover
    import sre_constants
    import sre_parse

_CATEGORY_CHARS = {
    sre_constants.CATEGORY_DIGIT: string.digits,
    sre_constants.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
    sre_constants.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_constants.CATEGORY_NOT_WORD: " -.",
}
_PRINTABLE = string.ascii_letters + string.digits
#: Unbounded repeats (`*`, `+`) are capped so strings stay short.
_MAX_REPEAT = 4


class UnsupportedRegex(ValueError):
    """The pattern uses a feature the generator does not handle."""


def random_matching_string(pattern: str, rng: random.Random) -> str:
    """A random string that `re.fullmatch(pattern, ...)` accepts.

    Raises UnsupportedRegex for lookarounds and backreferences, which a
    constraint on a column has no business using.
    """
    parsed = sre_parse.parse(pattern)
    for _ in range(50):
        value = _generate(parsed, rng, {})
        if re.fullmatch(pattern, value):
            return value
    raise UnsupportedRegex(f"could not generate a string matching {pattern!r}")


def _generate(items, rng: random.Random, groups: dict) -> str:
    return "".join(_generate_item(op, arg, rng, groups) for op, arg in items)


def _generate_item(op, arg, rng, groups) -> str:
    if op is sre_constants.LITERAL:
        return chr(arg)
    if op is sre_constants.NOT_LITERAL:
        return rng.choice([c for c in _PRINTABLE if ord(c) != arg])
    if op is sre_constants.ANY:
        return rng.choice(_PRINTABLE)
    if op is sre_constants.IN:
        return rng.choice(_class_chars(arg))
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        low, high, body = arg
        high = min(high, low + _MAX_REPEAT)
        return "".join(_generate(body, rng, groups) for _ in range(rng.randint(low, high)))
    if op is sre_constants.SUBPATTERN:
        group, _add_flags, _del_flags, body = arg
        text = _generate(body, rng, groups)
        if group is not None:
            groups[group] = text
        return text
    if op is sre_constants.BRANCH:
        _unused, branches = arg
        return _generate(rng.choice(branches), rng, groups)
    if op is sre_constants.AT:
        return ""
    if op is sre_constants.GROUPREF:
        return groups.get(arg, "")
    if op is sre_constants.CATEGORY:
        return rng.choice(_CATEGORY_CHARS[arg])
    raise UnsupportedRegex(f"regular expression feature {op} is not supported for dummy data")


def _class_chars(items) -> str:
    negated = False
    chars: list[str] = []
    for op, arg in items:
        if op is sre_constants.NEGATE:
            negated = True
        elif op is sre_constants.LITERAL:
            chars.append(chr(arg))
        elif op is sre_constants.RANGE:
            low, high = arg
            chars.extend(chr(c) for c in range(low, high + 1))
        elif op is sre_constants.CATEGORY:
            chars.extend(_CATEGORY_CHARS[arg])
        else:
            raise UnsupportedRegex(f"character class item {op} is not supported for dummy data")
    if negated:
        excluded = set(chars)
        return "".join(c for c in _PRINTABLE if c not in excluded)
    return "".join(chars)
