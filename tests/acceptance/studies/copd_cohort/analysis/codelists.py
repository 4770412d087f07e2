from ehrql import codelist_from_csv

# Code -> category, for labelling each patient's latest respiratory code.
respiratory_categories = codelist_from_csv(
    "codelists/respiratory-conditions.csv", column="code", category_column="category"
)
# Both categorised lists, read as plain lists of codes and joined: every code of interest.
respiratory_codes = codelist_from_csv(
    "codelists/respiratory-conditions.csv", column="code"
) + codelist_from_csv("codelists/copd-local-extra.csv", column="code")
