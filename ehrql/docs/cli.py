"""The command line reference, read from the `ehrql` argument parser.

argparse keeps a parser's arguments in private attributes (`_actions` and
the subparsers' `choices`); there is no public way to walk a parser, so this
module reads them. Usage lines are built here rather than with
`format_usage()`, whose wrapping depends on the terminal width.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from types import ModuleType

from ehrql.docs import markdown as md

#: The module holding the `ehrql` command's parser.
CLI_MODULE = "ehrql.__main__"

#: Names a function building the parser may have, tried in this order.
PARSER_BUILDER_NAMES = ("build_parser", "create_parser", "make_parser", "get_parser")

#: The command name the page shows, whatever `prog` the parser was built with.
PROG = "ehrql"


def find_parser_builder(
    module: ModuleType,
) -> Callable[[], argparse.ArgumentParser] | None:
    """The function in `module` that builds its argument parser, if there is one."""
    for name in PARSER_BUILDER_NAMES:
        builder = getattr(module, name, None)
        if callable(builder):
            return builder
    return None


def load_parser() -> tuple[argparse.ArgumentParser | None, str]:
    """The `ehrql` parser, or None with the reason it could not be found."""
    try:
        module = importlib.import_module(CLI_MODULE)
    except ModuleNotFoundError as e:
        if e.name != CLI_MODULE:
            raise
        return None, f"{md.code(CLI_MODULE)} does not exist yet."
    builder = find_parser_builder(module)
    if builder is None:
        names = ", ".join(md.code(n) for n in PARSER_BUILDER_NAMES)
        return (
            None,
            f"{md.code(CLI_MODULE)} has no parser-building function (looked for {names}).",
        )
    return builder(), ""


def subcommands(
    parser: argparse.ArgumentParser,
) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) for each verb of `parser`, in declared order."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, subparser in action.choices.items():
                # Aliases map to the same parser; only the primary name has a help entry.
                if name in helps or not any(p is subparser for _, _, p in found):
                    found.append((name, helps.get(name, ""), subparser))
    return found


def visible_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments shown in help: not suppressed, not help itself, not verbs."""
    return [
        a
        for a in parser._actions
        if a.help != argparse.SUPPRESS
        and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
    ]


def expand_help(action: argparse.Action, prog: str) -> str:
    """The action's help with `%(default)s`-style references filled in, as argparse does."""
    text = action.help or ""
    if "%" not in text:
        return text
    params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
    params["prog"] = prog
    if params.get("choices") is not None:
        params["choices"] = ", ".join(str(c) for c in params["choices"])
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return text


def metavar(action: argparse.Action) -> str:
    """What the user types as the argument's value."""
    if action.metavar is not None:
        return (
            action.metavar
            if isinstance(action.metavar, str)
            else " ".join(action.metavar)
        )
    if action.option_strings:
        return action.dest.upper()
    return action.dest


def takes_value(action: argparse.Action) -> bool:
    """False for flags such as `--verbose` that take no value."""
    return action.nargs != 0


def usage(prog: str, parser: argparse.ArgumentParser) -> str:
    """A usage line: the command, its options, then its positional arguments."""
    parts = [prog]
    for action in visible_arguments(parser):
        if not action.option_strings:
            continue
        text = action.option_strings[0]
        if takes_value(action):
            text += f" {metavar(action)}"
        parts.append(text if action.required else f"[{text}]")
    for action in visible_arguments(parser):
        if not action.option_strings:
            text = metavar(action)
            parts.append(f"[{text}]" if action.nargs in ("?", "*") else text)
    if subcommands(parser):
        parts.append("COMMAND")
    return " ".join(parts)


def describe_default(action: argparse.Action) -> str:
    """The default of an option that takes a value, when it has a meaningful one."""
    if not takes_value(action) or action.default in (None, argparse.SUPPRESS):
        return ""
    if callable(action.default):
        return ""
    return md.code(str(action.default))


def render_arguments(parser: argparse.ArgumentParser, prog: str) -> list[str]:
    """Tables of positional arguments and of options."""
    actions = visible_arguments(parser)
    positionals = [a for a in actions if not a.option_strings]
    options = [a for a in actions if a.option_strings]
    blocks = []
    if positionals:
        blocks.append(
            md.table(
                ("Argument", "Description"),
                [(md.code(metavar(a)), expand_help(a, prog)) for a in positionals],
            )
        )
    if options:
        rows = []
        for a in options:
            flags = ", ".join(md.code(o) for o in a.option_strings)
            value = md.code(metavar(a)) if takes_value(a) else ""
            text = expand_help(a, prog)
            if a.choices is not None:
                choices = ", ".join(md.code(str(c)) for c in a.choices)
                text = (
                    f"{text.rstrip().rstrip('.')}. One of: {choices}."
                    if text
                    else f"One of: {choices}."
                )
            rows.append(
                (flags, value, text, "yes" if a.required else "", describe_default(a))
            )
        blocks.append(
            md.table(("Option", "Value", "Description", "Required", "Default"), rows)
        )
    return blocks


def render_command(
    prog: str, help_text: str, parser: argparse.ArgumentParser, level: int
) -> str:
    """The section for one command, and then its own subcommands."""
    description = parser.description or ""
    return md.page(
        md.heading(level, md.code(prog)),
        help_text if help_text and help_text.rstrip(".") not in description else None,
        description,
        md.code_block(usage(prog, parser)),
        *render_arguments(parser, prog),
        parser.epilog,
        *(
            render_command(f"{prog} {name}", sub_help, sub, min(level + 1, 6))
            for name, sub_help, sub in subcommands(parser)
        ),
    )


def cli_page(
    parser: argparse.ArgumentParser | None = None, missing_reason: str = ""
) -> str:
    """The command line reference page: from `parser`, or from the `ehrql` parser."""
    # The exit codes are the real command line's, not those of a parser passed in.
    exit_codes = ()
    if parser is None and not missing_reason:
        parser, missing_reason = load_parser()
        exit_codes = (
            getattr(importlib.import_module(CLI_MODULE), "EXIT_CODES", ())
            if parser
            else ()
        )
    if parser is None:
        return md.page(
            md.heading(1, "Command line"),
            f"*The command line reference could not be generated: {missing_reason}*",
        )
    verbs = subcommands(parser)
    contents = md.table(
        ("Command", "Description"),
        [(md.code(f"{PROG} {name}"), text) for name, text, _ in verbs],
    )
    return md.page(
        md.heading(1, "Command line"),
        "Everything the "
        + md.code(PROG)
        + " command does, read from its argument parser.",
        contents if verbs else None,
        render_command(PROG, "", parser, 2),
        exit_codes_section(exit_codes),
    )


def exit_codes_section(exit_codes) -> str | None:
    """The table of exit codes (code, meaning), if the command line lists them."""
    if not exit_codes:
        return None
    return md.page(
        md.heading(2, "Exit codes"),
        "Every "
        + md.code(PROG)
        + " command exits with one of these codes, the same whatever "
        "the query engine.",
        md.table(
            ("Code", "Meaning"),
            [(md.code(code), meaning) for code, meaning in exit_codes],
        ),
    )
