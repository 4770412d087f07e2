"""A generated dataset together with the data to run it on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from hypothesis import strategies as st

from ehrql.query_model import nodes as qm
from tests.generative.data import table_data
from tests.generative.queries import DEFAULT_DEPTH, datasets
from tests.generative.render import data_source, node_source


@dataclasses.dataclass(frozen=True)
class Example:
    """A dataset and table data; shown (e.g. by hypothesis, on failure) as the
    Python code that rebuilds them."""

    dataset: qm.Dataset
    data: Mapping

    def __repr__(self):
        return f"\ndataset = {node_source(self.dataset)}\ndata = {data_source(self.data)}\n"


def examples(
    depth: int = DEFAULT_DEPTH, extreme_dates: bool = False
) -> st.SearchStrategy[Example]:
    """Random valid datasets, each with random data for every generated table
    (with dates at the ends of the range when `extreme_dates`)."""
    return st.builds(Example, datasets(depth), table_data(extreme_dates=extreme_dates))
