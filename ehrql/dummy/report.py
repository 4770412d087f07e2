"""What happened while generating dummy data, for the user and for tests."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DummyDataReport:
    """A summary of one run of the dummy data generator.

    `generated` patients satisfy the population out of `requested`;
    `candidates` is how many were made and checked in all. When some part of
    the population could not be solved, `unsolved` describes it and
    `used_rejection_sampling` is True: those parts were left to chance and
    candidates that missed them were thrown away. `impossible` says why no
    patient at all can satisfy the population, when the solver can tell;
    `timed_out` that the run stopped at its time limit of `timeout` seconds
    of processor time. `seconds` is the time the run took by the clock.
    `impossible_at` is the (file, line) of the condition no patient can
    meet, when the definition's locations tell; `unsolved` descriptions end
    with theirs the same way.
    """

    requested: int
    generated: int
    candidates: int
    plans: int
    used_rejection_sampling: bool
    unsolved: tuple
    timed_out: bool
    seconds: float
    impossible: tuple = ()
    timeout: float | None = None
    impossible_at: tuple | None = None

    @property
    def complete(self) -> bool:
        """True when every requested patient was generated."""
        return self.generated >= self.requested

    @property
    def acceptance_rate(self) -> float:
        """The share of candidates that turned out to be in the population."""
        return self.generated / self.candidates if self.candidates else 0.0

    @property
    def reason(self) -> str | None:
        """Why fewer patients were made than asked for; None when none are missing."""
        if self.complete:
            return None
        if self.impossible:
            where = ""
            if self.impossible_at is not None:
                filename, line = self.impossible_at
                where = f"the condition in {filename}, line {line} is never true: "
            return (
                "no patient can satisfy the population: "
                + where
                + "; ".join(self.impossible)
            )
        if self.timed_out:
            limit = "" if self.timeout is None else f" of {self.timeout:g} s"
            text = (
                f"the time limit{limit} ran out (counted in processor time; "
                f"{self.acceptance_rate:.1%} of "
                f"{self.candidates} candidates were in the population); "
                "allow longer with configure_dummy_data(timeout=...)"
            )
            if self.used_rejection_sampling:
                # Said here, so that a run that made nobody says it too.
                text += (
                    ", or simplify the conditions left to chance and checked "
                    f"afterwards: {self._left_to_chance}"
                )
            return text
        return "the generator stopped early"

    def summary(self) -> str:
        """One line for the log: how many were made of how many asked, and why any are missing."""
        text = f"made {self.generated} of {self.requested} dummy patients in {self.seconds:.1f}s"
        reason = self.reason
        if reason is None:
            text += (
                f" ({self.candidates} candidates, {self.acceptance_rate:.0%} accepted)"
            )
        else:
            text += f": {reason}"
        if self.used_rejection_sampling and not self.impossible and not self.timed_out:
            text += f"; conditions left to chance and checked afterwards: {self._left_to_chance}"
        return text

    @property
    def _left_to_chance(self) -> str:
        return "; ".join(self.unsolved) or "the whole population"


#: Numerators of this many or fewer are reported as 0 by disclosure control.
SUPPRESSED_AT_OR_BELOW = 7


def suppressed_numerators(rows: list, population_size: int) -> str | None:
    """A sentence for the log when disclosure control hid numerators of
    measures calculated on dummy data; None when every numerator showed.

    `rows` are measure result rows after disclosure control: (measure,
    interval start, interval end, ratio, numerator, denominator, *groups).
    A numerator of 0 there was at most 7 before control.
    """
    hidden = [row for row in rows if row[4] == 0]
    if not hidden:
        return None
    cells = len(rows)
    # Every measure, interval and group needs more than 7 patients in its
    # numerator for all of them to show.
    needed = cells * (SUPPRESSED_AT_OR_BELOW + 1)
    text = (
        f"{len(hidden)} of {cells} measure rows have a numerator of "
        f"{SUPPRESSED_AT_OR_BELOW} or fewer and are reported as 0 by disclosure control"
    )
    if population_size < needed:
        text += (
            f": {population_size} dummy patients are too few to fill every measure, "
            f"interval and group; configure_dummy_data(population_size=...) of at least "
            f"{needed} would give each a chance"
        )
    return text
