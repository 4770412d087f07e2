import io

from ehrql.progress import PERCENT, Progress


def test_plain_lines_once_an_interval_has_passed():
    stream = io.StringIO()
    progress = Progress(stream, bar=False, line_interval=0)
    with progress.phase("Writing rows", "rows") as update:
        update(1000, None)
        update(2500, None)
    with progress.phase("Dummy data", "patients", 200) as update:
        update(50, 200)
    with progress.phase("Writing rows", "rows") as update:
        update(45, 100, PERCENT)
    assert stream.getvalue().splitlines() == [
        "[ehrql] Writing rows: 1,000 rows",
        "[ehrql] Writing rows: 2,500 rows",
        "[ehrql] Dummy data: 50 of 200 patients (25%)",
        "[ehrql] Writing rows: 45% done",
    ]


def test_plain_lines_wait_for_the_interval():
    stream = io.StringIO()
    with Progress(stream, bar=False, line_interval=3600).phase(
        "Writing rows", "rows"
    ) as update:
        update(1, None)
        update(2, None)
    assert stream.getvalue() == ""


def test_a_bar_on_a_terminal():
    stream = io.StringIO()
    with Progress(stream, bar=True).phase("Measures", "intervals", 10) as update:
        update(4, 10)
        update(10, 10)
    assert "Measures" in stream.getvalue()
    assert "/10 " in stream.getvalue() and "intervals" in stream.getvalue()


def test_the_bar_is_chosen_by_whether_the_stream_is_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    with Progress(stream, line_interval=3600).phase("Writing rows", "rows") as update:
        update(5, None)
    assert "Writing rows" in stream.getvalue()


def test_silent_shows_nothing():
    stream = io.StringIO()
    progress = Progress(stream, enabled=False, bar=True, line_interval=0)
    with progress.phase("Writing rows", "rows") as update:
        update(10, 100)
    assert stream.getvalue() == ""
    assert not Progress.silent().enabled
