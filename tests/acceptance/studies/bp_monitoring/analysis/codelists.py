from ehrql import codelist_from_csv

bp_reading_codes = codelist_from_csv("codelists/bp-readings.csv", column="code")
hypertension_codes = codelist_from_csv("codelists/hypertension.csv", column="code")
