import importlib
import random
import re

import pytest

from ehrql.dummy.regex_strings import UnsupportedRegex, random_matching_string
from ehrql.query_model.table_schema import RegexConstraint


@pytest.mark.parametrize(
    "pattern",
    [
        r"E[0-9]{8}",
        r"[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}",
        r"(alpha|beta)-\d+",
        r"[^0-9]{3}x*",
        r"\w+\.\w{2,3}",
        r"a.c",
        r"(ab)+\1?",
        # Every form of counted repeat; braces Python reads as plain text.
        r"a{,3}b{2,}c{,}d{2}",
        r"a{}b{x}c{1,2",
        # Lazy and possessive repeats give the same strings.
        r"a+?b*+c{1,3}?",
        # Group kinds, named and two-digit back-references.
        r"(?:x|y){3}(?>ab)(?P<kind>[pq])(?P=kind)",
        r"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)\11",
        # Classes: a leading "]", "-" at either end, escaped specials,
        # class escapes, backspace, ranges written with escapes.
        r"[]a][a-][-a][^]][\^\]\-][\s\d][\b][\x41-\x43]",
        # A negated class that excludes every letter and digit.
        r"[^a-zA-Z0-9]",
        # Character escapes: hex, unicode, named, octal.
        r"\x41\u00e9\N{LATIN SMALL LETTER A}\0\101",
        # Anchors, comments, flags: no text of their own.
        r"^\Aab\b$",
        r"(?i)x(?#a comment)*(?s:.)\Z",
        r"a|",
        r"()",
    ],
)
def test_generated_strings_match_in_full(pattern):
    rng = random.Random(2)
    for _ in range(40):
        assert re.fullmatch(pattern, random_matching_string(pattern, rng))


def _table_regexes():
    modules = ["core", "tpp", "emis", "emisv2", "raw.core", "raw.emis", "raw.tpp"]
    for name in modules:
        module = importlib.import_module(f"ehrql.tables.{name}")
        for table in module.__all__:
            node = getattr(module, table)._qm_node
            for _column_name, column in node.schema.columns:
                constraint = column.get_constraint(RegexConstraint)
                if constraint is not None:
                    yield constraint.regex


@pytest.mark.parametrize("pattern", sorted(set(_table_regexes())))
def test_every_table_constraint_regex_is_generated(pattern):
    rng = random.Random(4)
    values = {random_matching_string(pattern, rng) for _ in range(20)}
    assert all(re.fullmatch(pattern, value) for value in values)
    assert len(values) > 1


def test_generated_strings_vary():
    rng = random.Random(3)
    assert len({random_matching_string(r"[a-z]{6}", rng) for _ in range(10)}) > 5


def test_every_branch_and_repeat_count_is_reached():
    rng = random.Random(5)
    values = {random_matching_string(r"(a|b)c{0,2}", rng) for _ in range(200)}
    assert values == {"a", "ac", "acc", "b", "bc", "bcc"}


def test_unbounded_repeats_stay_short():
    rng = random.Random(6)
    assert max(len(random_matching_string(r"x+", rng)) for _ in range(200)) <= 5


def test_same_seed_same_strings():
    pattern = r"[A-Z]{2}\d{3}"
    first = [random_matching_string(pattern, random.Random(7)) for _ in range(3)]
    second = [random_matching_string(pattern, random.Random(7)) for _ in range(3)]
    assert first == second


@pytest.mark.parametrize(
    "pattern,feature",
    [
        (r"(?=a)a", "lookahead (?=...)"),
        (r"(?!a)b", "negative lookahead (?!...)"),
        (r"(?<=a)b", "lookbehind (?<=...)"),
        (r"(?<!a)b", "negative lookbehind (?<!...)"),
        (r"(a)?(?(1)b|c)", "conditional group (?(...)...)"),
        (r"(?x) a b", "verbose mode (?x)"),
        (r"(?x:a b)", "verbose mode (?x)"),
    ],
)
def test_unsupported_features_are_refused_by_name(pattern, feature):
    expected = (
        f"{re.escape(feature)} in regular expression .* is not supported for dummy data"
    )
    with pytest.raises(UnsupportedRegex, match=expected):
        random_matching_string(pattern, random.Random(0))


def test_invalid_pattern_is_refused_clearly():
    with pytest.raises(
        UnsupportedRegex, match=r"'\[a' is not a valid regular expression"
    ):
        random_matching_string(r"[a", random.Random(0))


def test_pattern_nothing_matches_is_refused_clearly():
    with pytest.raises(
        UnsupportedRegex, match=r"could not generate a string matching 'a\\\\bb'"
    ):
        random_matching_string(r"a\bb", random.Random(0))
