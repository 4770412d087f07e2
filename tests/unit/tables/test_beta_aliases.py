import importlib

import pytest


@pytest.mark.parametrize("name", ["core", "tpp", "emis", "smoketest"])
def test_beta_module_exports_the_same_tables(name):
    current = importlib.import_module(f"ehrql.tables.{name}")
    beta = importlib.import_module(f"ehrql.tables.beta.{name}")
    assert beta.__all__ == current.__all__
    for table_name in current.__all__:
        assert getattr(beta, table_name) is getattr(current, table_name)
