"""Measures: ratios of patient counts per time interval and group."""

from ehrql.measures.calculate import get_measure_results, measure_output_columns
from ehrql.measures.measures import INTERVAL, Measure, Measures, create_measures

__all__ = [
    "INTERVAL",
    "Measure",
    "Measures",
    "create_measures",
    "get_measure_results",
    "measure_output_columns",
]
