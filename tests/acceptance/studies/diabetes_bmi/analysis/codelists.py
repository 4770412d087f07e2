from ehrql import codelist_from_csv

diabetes_codes = codelist_from_csv("codelists/type-2-diabetes.csv", column="code")
bmi_codes = codelist_from_csv("codelists/bmi.csv", column="code")
metformin_codes = codelist_from_csv("codelists/metformin.csv", column="dmd_id")
