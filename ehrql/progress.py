"""Progress of long phases (making dummy patients, writing rows, calculating measures), on stderr.

On a terminal, a phase draws a bar with tqdm; anywhere else (CI, a log file)
it writes a plain line now and then, so that a log shows the run is alive
without filling up with carriage returns. `Progress.silent()` shows nothing
(`--quiet`).

tqdm is imported only when a bar is drawn: it costs about 50 ms, which a run
long enough to need a bar does not notice, and a short or logged run does
not pay.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

#: Reports how far a phase has got: (done so far, total or None if unknown),
#: and optionally the unit counted, where it is not the phase's (`PERCENT`).
Update = Callable[..., None]

#: The unit of a phase counted as a percentage (of a query's work, say) rather than in items.
PERCENT = "%"

#: Seconds between plain progress lines.
LINE_INTERVAL = 10.0


class Progress:
    """Where progress of long phases is shown.

    `stream` defaults to stderr (looked up when used, so that a redirected
    stderr is honoured); `bar` chooses a bar (True) or plain lines (False),
    and defaults to whether the stream is a terminal.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool = True,
        bar: bool | None = None,
        line_interval: float | None = None,
    ):
        self._stream = stream
        self.enabled = enabled
        self._bar = bar
        self._line_interval = line_interval

    @classmethod
    def silent(cls) -> Progress:
        """Progress that shows nothing."""
        return cls(enabled=False)

    @property
    def line_interval(self) -> float:
        """Seconds between plain progress lines."""
        return LINE_INTERVAL if self._line_interval is None else self._line_interval

    @property
    def stream(self) -> TextIO:
        """Where progress is written."""
        return self._stream if self._stream is not None else sys.stderr

    def _use_bar(self) -> bool:
        if self._bar is not None:
            return self._bar
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    @contextlib.contextmanager
    def phase(
        self, description: str, unit: str, total: int | None = None
    ) -> Iterator[Update]:
        """A phase of `total` (if known) `unit`s; the update function it yields takes
        the count done so far and the total (which may change, or become known)."""
        if not self.enabled:
            yield _ignore
        elif self._use_bar():
            with self._bar_phase(description, unit, total) as update:
                yield update
        else:
            yield self._line_phase(description, unit)

    @contextlib.contextmanager
    def _bar_phase(
        self, description: str, unit: str, total: int | None
    ) -> Iterator[Update]:
        from tqdm import tqdm

        with tqdm(
            total=total,
            desc=description,
            unit=f" {unit}",
            file=self.stream,
            leave=False,
            dynamic_ncols=True,
        ) as bar:

            def update(
                done: int, new_total: int | None, unit: str | None = None
            ) -> None:
                if unit is not None and bar.unit != unit:
                    bar.unit = unit
                if new_total is not None and new_total != bar.total:
                    bar.total = new_total
                bar.update(done - bar.n)

            yield update

    def _line_phase(self, description: str, unit: str) -> Update:
        last = [time.monotonic()]

        def update(done: int, total: int | None, counted: str | None = None) -> None:
            # The first line waits an interval: a phase that ends sooner needs none.
            now = time.monotonic()
            if now - last[0] < self.line_interval:
                return
            last[0] = now
            if counted == PERCENT:
                text = f"{done}% done"
            elif total:
                text = (
                    f"{done:,} of {total:,} {counted or unit} ({100 * done // total}%)"
                )
            else:
                text = f"{done:,} {counted or unit}"
            print(f"[ehrql] {description}: {text}", file=self.stream, flush=True)

        return update


def _ignore(done: int, total: int | None, unit: str | None = None) -> None:
    pass
