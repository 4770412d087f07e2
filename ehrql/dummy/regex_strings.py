"""Random strings that match a regular expression.

Columns with a `Regex` constraint (practice pseudo-ids, postcodes, ...) must get
values that match it in full. The pattern is read by a small parser of our own
into a tree of the few shapes such constraints use (characters, sequences,
alternatives, repeats, groups and back-references), and a string is built by
choosing at random at each branch. The standard library only checks the
pattern (`re.compile`) and the result (`re.fullmatch`): its parser is private
(`re._parser`) and changes between Python versions, and the libraries that
generate strings from a regex on PyPI all walk that same private parser.

Lookarounds, conditionals and verbose mode are refused with an error naming
the feature: a constraint on a column has no business using them.
"""

from __future__ import annotations

import dataclasses
import random
import re
import string
import unicodedata

#: Unbounded repeats (`*`, `+`, `{n,}`) are capped so strings stay short.
_MAX_REPEAT = 4
#: Tries before giving up on patterns whose parts contradict each other
#: (`a\bb`, a back-reference to a group of another branch, ...).
_ATTEMPTS = 50

_PRINTABLE = string.ascii_letters + string.digits
#: What a negated class draws from when none of `_PRINTABLE` is left.
_FALLBACK = string.punctuation + " "
_CLASS_ESCAPES = {
    "d": string.digits,
    "D": string.ascii_letters,
    "s": " ",
    "S": _PRINTABLE,
    "w": _PRINTABLE + "_",
    "W": " -.",
}
_CHAR_ESCAPES = {
    "a": "\a",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}
#: Zero-width assertions: they add nothing to the string; `re.fullmatch`
#: checks the result still obeys them.
_ANCHOR_ESCAPES = frozenset("AZbB")
_HEX_LENGTHS = {"x": 2, "u": 4, "U": 8}
_QUANTIFIER = re.compile(r"\{(\d*)(,?)(\d*)\}")
_UNSUPPORTED_GROUPS = {
    "?=": "lookahead (?=...)",
    "?!": "negative lookahead (?!...)",
    "?<=": "lookbehind (?<=...)",
    "?<!": "negative lookbehind (?<!...)",
    "?(": "conditional group (?(...)...)",
}


class UnsupportedRegex(ValueError):
    """The pattern uses a feature the generator does not handle."""


def random_matching_string(pattern: str, rng: random.Random) -> str:
    """A random string that `re.fullmatch(pattern, ...)` accepts.

    Raises UnsupportedRegex for an invalid pattern, for lookarounds,
    conditionals and verbose mode, and for a pattern no string it builds
    matches.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise UnsupportedRegex(
            f"{pattern!r} is not a valid regular expression: {error}"
        ) from None
    tree = _Parser(pattern).parse()
    for _ in range(_ATTEMPTS):
        value = tree.generate(rng, {})
        if compiled.fullmatch(value):
            return value
    raise UnsupportedRegex(f"could not generate a string matching {pattern!r}")


# The tree. Each node builds its text; `groups` maps a group's number and name
# to the text it captured last, for back-references.


@dataclasses.dataclass(frozen=True)
class _Literal:
    text: str

    def generate(self, rng: random.Random, groups: dict) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class _Chars:
    """One character from a class, `.` or a class escape such as `\\d`."""

    choices: str

    def generate(self, rng: random.Random, groups: dict) -> str:
        return rng.choice(self.choices)


@dataclasses.dataclass(frozen=True)
class _Sequence:
    items: tuple

    def generate(self, rng: random.Random, groups: dict) -> str:
        return "".join(item.generate(rng, groups) for item in self.items)


@dataclasses.dataclass(frozen=True)
class _Alternation:
    branches: tuple

    def generate(self, rng: random.Random, groups: dict) -> str:
        return rng.choice(self.branches).generate(rng, groups)


@dataclasses.dataclass(frozen=True)
class _Repeat:
    body: object
    low: int
    high: int | None

    def generate(self, rng: random.Random, groups: dict) -> str:
        high = self.low + _MAX_REPEAT
        if self.high is not None:
            high = min(high, self.high)
        return "".join(
            self.body.generate(rng, groups) for _ in range(rng.randint(self.low, high))
        )


@dataclasses.dataclass(frozen=True)
class _Group:
    body: object
    keys: tuple  # the group's number and name, if it captures

    def generate(self, rng: random.Random, groups: dict) -> str:
        text = self.body.generate(rng, groups)
        groups.update(dict.fromkeys(self.keys, text))
        return text


@dataclasses.dataclass(frozen=True)
class _BackReference:
    key: int | str

    def generate(self, rng: random.Random, groups: dict) -> str:
        return groups.get(self.key, "")


class _Parser:
    """Recursive descent over a pattern `re.compile` has already accepted.

    So only features are checked here, not syntax.
    """

    def __init__(self, pattern: str):
        self.pattern = pattern
        self.pos = 0
        self.group_count = 0

    def parse(self):
        return self._alternation()

    def _unsupported(self, feature: str):
        raise UnsupportedRegex(
            f"{feature} in regular expression {self.pattern!r}"
            " is not supported for dummy data"
        )

    def _peek(self, text: str) -> bool:
        return self.pattern.startswith(text, self.pos)

    def _take(self) -> str:
        char = self.pattern[self.pos]
        self.pos += 1
        return char

    def _alternation(self):
        branches = [self._sequence()]
        while self._peek("|"):
            self.pos += 1
            branches.append(self._sequence())
        return branches[0] if len(branches) == 1 else _Alternation(tuple(branches))

    def _sequence(self):
        items = []
        while (
            self.pos < len(self.pattern) and not self._peek("|") and not self._peek(")")
        ):
            atom = self._atom()
            if atom is not None:
                items.append(self._quantified(atom))
            elif items:
                # A repeat after a comment, `x(?#...)*`, repeats what came before.
                items[-1] = self._quantified(items[-1])
        return items[0] if len(items) == 1 else _Sequence(tuple(items))

    def _quantified(self, atom):
        bounds = self._quantifier()
        if bounds is None:
            return atom
        if self._peek("?") or self._peek("+"):  # lazy or possessive: same strings
            self.pos += 1
        return _Repeat(atom, *bounds)

    def _quantifier(self):
        if self.pos >= len(self.pattern):
            return None
        char = self.pattern[self.pos]
        simple = {"*": (0, None), "+": (1, None), "?": (0, 1)}
        if char in simple:
            self.pos += 1
            return simple[char]
        braces = _QUANTIFIER.match(self.pattern, self.pos)
        # Python reads `{}`, `{x}` and an unclosed `{1,2` as plain text.
        if braces is None or braces.group() == "{}":
            return None
        self.pos = braces.end()
        low, comma, high = braces.groups()
        low = int(low or 0)
        if not comma:
            return low, low
        return low, int(high) if high else None

    def _atom(self):
        char = self._take()
        if char == "(":
            return self._group()
        if char == "[":
            chars = self._class()
            return _Literal(chars) if len(chars) == 1 else _Chars(chars)
        if char == ".":
            return _Chars(_PRINTABLE)
        if char in "^$":
            return None
        if char == "\\":
            return self._escape()
        return _Literal(char)

    def _group(self):
        if not self._peek("?"):
            self.group_count += 1
            return self._group_body((self.group_count,))
        for prefix, feature in _UNSUPPORTED_GROUPS.items():
            if self._peek(prefix):
                self._unsupported(feature)
        if self._peek("?:") or self._peek("?>"):  # non-capturing or atomic
            self.pos += 2
            return self._group_body(())
        if self._peek("?P<"):
            self.pos += 3
            name = self._until(">")
            self.group_count += 1
            return self._group_body((self.group_count, name))
        if self._peek("?P="):
            self.pos += 3
            return _BackReference(self._until(")"))
        if self._peek("?#"):
            self._until(")")
            return None
        return self._flags()

    def _group_body(self, keys: tuple):
        body = self._alternation()
        self.pos += 1  # the ")"
        return _Group(body, keys) if keys else body

    def _until(self, end: str) -> str:
        stop = self.pattern.index(end, self.pos)
        text = self.pattern[self.pos : stop]
        self.pos = stop + 1
        return text

    def _flags(self):
        """`(?i)` on its own, or scoped as `(?i-s:...)`."""
        self.pos += 1  # the "?"
        start = self.pos
        while self.pattern[self.pos] not in ":)":
            self.pos += 1
        flags = self.pattern[start : self.pos]
        if "x" in flags:
            self._unsupported("verbose mode (?x)")
        # The other flags (aiLmsu) change what matches, not how the pattern
        # reads, and re.fullmatch checks the result under them.
        if self._take() == ")":
            return None
        return self._group_body(())

    def _escape(self):
        char = self._take()
        if char in _CLASS_ESCAPES:
            return _Chars(_CLASS_ESCAPES[char])
        if char in _ANCHOR_ESCAPES:
            return None
        if char.isdigit() and char != "0" and not self._octal_follows():
            digits = char
            if self.pos < len(self.pattern) and self.pattern[self.pos].isdigit():
                digits += self._take()
            return _BackReference(int(digits))
        self.pos -= 1
        return _Literal(self._escaped_char())

    def _octal_follows(self) -> bool:
        """Whether `\\` and the digit just read start a three-digit octal escape."""
        following = self.pattern[self.pos - 1 : self.pos + 2]
        return len(following) == 3 and all(c in string.octdigits for c in following)

    def _escaped_char(self) -> str:
        """The one character a `\\` escape stands for (the `\\` already read)."""
        char = self._take()
        if char in _CHAR_ESCAPES:
            return _CHAR_ESCAPES[char]
        if char in _HEX_LENGTHS:
            digits = self.pattern[self.pos : self.pos + _HEX_LENGTHS[char]]
            self.pos += len(digits)
            return chr(int(digits, 16))
        if char == "N":
            self.pos += 1  # the "{"
            return unicodedata.lookup(self._until("}"))
        if char in string.octdigits:
            digits = char
            while (
                len(digits) < 3
                and self.pos < len(self.pattern)
                and self.pattern[self.pos] in string.octdigits
            ):
                digits += self._take()
            return chr(int(digits, 8))
        return char  # an escaped punctuation character stands for itself

    def _class(self) -> str:
        """The characters a `[...]` class (after its "[") may choose from."""
        negated = self._peek("^")
        self.pos += negated
        chars: list[str] = []
        first = True
        while first or not self._peek("]"):
            first = False
            chars.extend(self._class_item())
        self.pos += 1  # the "]"
        if not negated:
            return "".join(chars)
        excluded = set(chars)
        allowed = "".join(c for c in _PRINTABLE if c not in excluded)
        return allowed or "".join(c for c in _FALLBACK if c not in excluded)

    def _class_item(self) -> str:
        if self._peek("\\") and self.pattern[self.pos + 1] in _CLASS_ESCAPES:
            self.pos += 2
            return _CLASS_ESCAPES[self.pattern[self.pos - 1]]
        low = self._class_char()
        if self._peek("-") and not self._peek("-]"):
            self.pos += 1
            high = self._class_char()
            return "".join(chr(c) for c in range(ord(low), ord(high) + 1))
        return low

    def _class_char(self) -> str:
        char = self._take()
        if char != "\\":
            return char
        if self._peek("b"):  # inside a class, \b is a backspace
            self.pos += 1
            return "\b"
        return self._escaped_char()
