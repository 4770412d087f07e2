import pytest

from ehrql.backends.emis import EMISBackend
from ehrql.backends.tpp import TPPBackend
from tests.lib.raw_databases import RawDatabase


@pytest.fixture
def tpp_db(tmp_path):
    database = RawDatabase.create(TPPBackend(), tmp_path / "tpp.duckdb")
    yield database
    database.dispose()


@pytest.fixture
def emis_db(tmp_path):
    database = RawDatabase.create(EMISBackend(), tmp_path / "emis.duckdb")
    yield database
    database.dispose()
