"""Monthly blood pressure checks in people with hypertension, by sex and age band.

Run as, for example:
    ehrql generate-measures analysis/measures_definition.py --output output/bp:csv -- --start-date 2021-01-01 --months 2
"""

import argparse
import sys

from analysis.variables import age_band, bp_checked, hypertensive, registered

from ehrql import create_measures, months
from ehrql.tables.core import patients

parser = argparse.ArgumentParser()
parser.add_argument("--start-date", default="2021-01-01")
parser.add_argument("--months", type=int, default=12)
parser.add_argument("--light", action="store_true", help="only the measure by sex")
args = parser.parse_args(sys.argv[1:])

measures = create_measures()
measures.configure_disclosure_control(enabled=False)
measures.configure_dummy_data(population_size=50)

measures.define_defaults(
    denominator=registered & hypertensive,
    intervals=months(args.months).starting_on(args.start_date),
)
measures.define_measure(
    "bp_checked_by_sex", numerator=bp_checked, group_by={"sex": patients.sex}
)
if not args.light:
    measures.define_measure(
        "bp_checked_by_age", numerator=bp_checked, group_by={"age_band": age_band}
    )
