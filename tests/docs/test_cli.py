import argparse
import types

from ehrql.docs import cli


def sample_parser():
    # Deliberately odd prog: the page must always say `ehrql`.
    parser = argparse.ArgumentParser(prog="whatever", description="Run studies.")
    parser.add_argument("--version", action="version", version="1.0")
    verbs = parser.add_subparsers(dest="command")
    generate = verbs.add_parser(
        "generate-dataset", help="Make a dataset.", description="Runs a definition."
    )
    generate.add_argument("definition", help="the dataset definition file")
    generate.add_argument(
        "--output",
        metavar="FILE",
        default="out.csv",
        help="where (default %(default)s)",
    )
    generate.add_argument("--format", choices=["csv", "arrow"], help="file format")
    generate.add_argument("--verbose", action="store_true", help="say more")
    generate.add_argument("--secret", help=argparse.SUPPRESS)
    verbs.add_parser("dump", help="Dump it.")
    return parser


def test_cli_page_has_every_verb_argument_and_option():
    page = cli.cli_page(sample_parser())
    assert "| `ehrql generate-dataset` | Make a dataset. |" in page
    assert "| `ehrql dump` | Dump it. |" in page
    assert "### `ehrql generate-dataset`" in page
    assert "Runs a definition." in page
    assert "| `definition` | the dataset definition file |" in page
    assert "| `--output` | `FILE` | where (default out.csv) |  | `out.csv` |" in page
    assert (
        "| `--format` | `FORMAT` | file format. One of: `csv`, `arrow`. |  |  |" in page
    )
    assert "| `--verbose` |  | say more |  |  |" in page
    assert "--secret" not in page
    assert "whatever" not in page


def test_usage_lines_are_built_without_terminal_wrapping():
    page = cli.cli_page(sample_parser())
    assert (
        "ehrql generate-dataset [--output FILE] [--format FORMAT] [--verbose] definition"
        in page
    )
    assert "```\nehrql [--version] COMMAND\n```" in page


def test_missing_cli_gives_a_page_saying_why():
    page = cli.cli_page(None, "`ehrql.__main__` does not exist yet.")
    assert "could not be generated: `ehrql.__main__` does not exist yet." in page


def test_parser_builder_is_found_under_any_usual_name():
    module = types.ModuleType("m")
    assert cli.find_parser_builder(module) is None
    module.create_parser = sample_parser
    assert cli.find_parser_builder(module) is sample_parser


def test_real_cli_page_is_generated_or_explains_its_absence():
    parser, reason = cli.load_parser()
    page = cli.cli_page(parser, reason)
    if parser is None:
        assert "could not be generated" in page
    else:
        for name, _, _ in cli.subcommands(parser):
            assert f"`ehrql {name}`" in page


def test_verb_help_is_not_repeated_when_the_description_already_says_it():
    parser = argparse.ArgumentParser()
    verbs = parser.add_subparsers()
    verbs.add_parser("run", help="Run it.", description="Run it: all of it.")
    page = cli.cli_page(parser)
    section = page.split("### `ehrql run`", 1)[1]
    assert section.count("Run it") == 1
