"""The share of people with hypertension who had a blood pressure check, overall
(an ungrouped measure) and by sex, month by month."""

import argparse
import sys

from analysis.variables import bp_checked, hypertensive, registered

from ehrql import create_measures, months
from ehrql.tables.core import patients

parser = argparse.ArgumentParser()
parser.add_argument("--start-date", default="2021-01-01")
parser.add_argument("--months", type=int, default=12)
args = parser.parse_args(sys.argv[1:])

measures = create_measures()
measures.configure_disclosure_control(enabled=False)
intervals = months(args.months).starting_on(args.start_date)

measures.define_measure(
    "bp_checked",
    numerator=bp_checked,
    denominator=registered & hypertensive,
    intervals=intervals,
)
measures.define_measure(
    "bp_checked_by_sex",
    numerator=bp_checked,
    denominator=registered & hypertensive,
    intervals=intervals,
    group_by={"sex": patients.sex},
)
