"""The user arguments given after `--` on the command line, as a definition sees them.

A definition reads them in one of two ways, as in public ehrQL:

- `get_parameter("name")` looks up `--name VALUE` (also `--name=VALUE`, several
  values after one name, or the name repeated, which give a list);
- the definition's own code reads `sys.argv`, which is
  `[definition_path, *user_args]`, typically through `argparse`.

So the arguments are never rejected up front: only the definition knows what
it accepts. After loading, `UserArguments.check_all_used` turns an argument
that nothing asked for (a misspelt `--index_date` for `--index-date`) into an
error, unless the definition read `sys.argv` itself, in which case its own
parser has had its say.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import difflib
import sys
from collections.abc import Iterator, Mapping, Sequence

from ehrql.errors import ParameterError


def parse_options(args: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The `--name value...` options in `args`, each name with all of its values.

    `--name=value` is one value; `--name a b` is two; a name given again adds
    its values to the earlier ones; a `--flag` followed by another option (or
    by nothing) has no values. Anything before the first `--name` is a
    positional argument, which only a definition reading `sys.argv` can use.
    """
    options: dict[str, list[str]] = {}
    current: list[str] | None = None
    for arg in args:
        if arg.startswith("--") and len(arg) > 2:
            name, equals, value = arg[2:].partition("=")
            current = options.setdefault(name, [])
            if equals:
                current.append(value)
                current = None
        elif current is not None:
            current.append(arg)
    return {name: tuple(values) for name, values in options.items()}


def positional_arguments(args: Sequence[str]) -> tuple[str, ...]:
    """The arguments before the first `--name` option."""
    for position, arg in enumerate(args):
        if arg.startswith("--") and len(arg) > 2:
            return tuple(args[:position])
    return tuple(args)


def as_argument_list(
    user_args: Sequence[str] | Mapping[str, str] | None,
) -> tuple[str, ...]:
    """User arguments as the list given on the command line.

    A mapping `{"name": "value"}` (the form library callers may find handier)
    becomes `("--name", "value")`.
    """
    if user_args is None:
        return ()
    if isinstance(user_args, Mapping):
        return tuple(
            item
            for name, value in user_args.items()
            for item in (f"--{name}", str(value))
        )
    if isinstance(user_args, str):
        raise TypeError("user arguments must be a list of strings, not one string")
    return tuple(str(arg) for arg in user_args)


class _WatchedArgv(list):
    """`sys.argv` for a definition: an ordinary list that notes being read."""

    def __init__(self, items, on_read):
        super().__init__(items)
        self._on_read = on_read


def _noting_read(name: str):
    method = getattr(list, name)

    def read(self, *args, **kwargs):
        self._on_read()
        return method(self, *args, **kwargs)

    read.__name__ = name
    return read


# Every way of looking at the list counts as reading it (argparse slices it).
for _name in (
    "__getitem__",
    "__iter__",
    "__len__",
    "__contains__",
    "__reversed__",
    "__eq__",
    "__ne__",
    "__repr__",
    "__str__",
    "__add__",
    "__mul__",
    "copy",
    "count",
    "index",
):
    setattr(_WatchedArgv, _name, _noting_read(_name))
del _name


@dataclasses.dataclass
class UserArguments:
    """The user arguments of one load of a definition, and what it made of them."""

    args: tuple[str, ...]
    asked: dict[str, None] = dataclasses.field(default_factory=dict)
    argv_read: bool = False

    @property
    def options(self) -> dict[str, tuple[str, ...]]:
        """The `--name value...` options (see `parse_options`)."""
        return parse_options(self.args)

    def values(self, name: str) -> tuple[str, ...] | None:
        """The values given for `--name`, or None when it was not given."""
        self.asked.setdefault(name, None)
        return self.options.get(name)

    def note_argv_read(self) -> None:
        """The definition looked at `sys.argv` itself."""
        self.argv_read = True

    def check_all_used(self) -> None:
        """Raise ParameterError for arguments the definition never asked for.

        Skipped when the definition read `sys.argv`: its own parser then
        decides what it accepts.
        """
        if self.argv_read:
            return
        unknown = [name for name in self.options if name not in self.asked]
        stray = positional_arguments(self.args)
        if not unknown and not stray:
            return
        if self.asked:
            wanted = ", ".join(f"--{name}" for name in self.asked)
            accepted = f"the definition asks for: {wanted}"
        else:
            accepted = (
                "the definition takes no user arguments (it never calls get_parameter)"
            )
        if stray:
            raise ParameterError(f"unexpected user argument {stray[0]!r}; {accepted}")
        name = unknown[0]
        close = difflib.get_close_matches(name, list(self.asked), n=1)
        hint = f" (did you mean --{close[0]}?)" if close else ""
        raise ParameterError(
            f"user argument '--{name}' is not used by the definition{hint}; {accepted}"
        )


#: The user arguments of the definition being loaded now (None outside a load).
CURRENT: contextvars.ContextVar[UserArguments | None] = contextvars.ContextVar(
    "ehrql_user_args", default=None
)


@contextlib.contextmanager
def user_arguments(
    definition_path: str, args: Sequence[str]
) -> Iterator[UserArguments]:
    """Make `args` the user arguments, and `[definition_path, *args]` the
    `sys.argv`, while a definition loads; restore both afterwards."""
    state = UserArguments(tuple(args))
    saved_argv = sys.argv
    sys.argv = _WatchedArgv([definition_path, *args], state.note_argv_read)
    token = CURRENT.set(state)
    try:
        yield state
    finally:
        CURRENT.reset(token)
        sys.argv = saved_argv
