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
    candidates that missed them were thrown away.
    """

    requested: int
    generated: int
    candidates: int
    plans: int
    used_rejection_sampling: bool
    unsolved: tuple
    timed_out: bool
    seconds: float

    @property
    def complete(self) -> bool:
        """True when every requested patient was generated."""
        return self.generated >= self.requested

    @property
    def acceptance_rate(self) -> float:
        """The share of candidates that turned out to be in the population."""
        return self.generated / self.candidates if self.candidates else 0.0

    def summary(self) -> str:
        """One or two sentences for a log."""
        text = (
            f"generated {self.generated} of {self.requested} dummy patients "
            f"({self.candidates} candidates, {self.acceptance_rate:.0%} accepted, "
            f"{self.seconds:.1f}s)"
        )
        if self.used_rejection_sampling:
            parts = "; ".join(self.unsolved) or "the whole population"
            text += f"; fell back to rejection sampling for: {parts}"
        if self.timed_out:
            text += "; stopped at the time limit before reaching the population size"
        return text
