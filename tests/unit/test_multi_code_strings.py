import pytest

from ehrql import codelist_from_csv, create_dataset
from ehrql.codes import CodelistError, ICD10MultiCodeString
from ehrql.query_engines.in_memory import InMemoryDatabase, InMemoryQueryEngine
from ehrql.serializer import deserialize, serialize
from ehrql.tables import EventFrame, Series, table


@table
class spells(EventFrame):
    all_diagnoses = Series(ICD10MultiCodeString)


DATABASE = InMemoryDatabase(
    {
        "spells": [
            {
                "patient_id": 1,
                "all_diagnoses": ICD10MultiCodeString("||E119 ,J849 ,N170"),
            },
            {"patient_id": 2, "all_diagnoses": ICD10MultiCodeString("||I10 ,J45X")},
            {"patient_id": 3, "all_diagnoses": None},
        ]
    }
)


def run(condition):
    dataset = create_dataset()
    dataset.define_population(spells.exists_for_patient())
    dataset.v = spells.where(condition).exists_for_patient()
    return {
        row[0]: row[1]
        for row in InMemoryQueryEngine(DATABASE).get_results(dataset._compile())
    }


def test_contains_matches_a_code_or_prefix():
    assert run(spells.all_diagnoses.contains("N17")) == {1: True, 2: False, 3: False}
    assert run(spells.all_diagnoses.contains("I10")) == {1: False, 2: True, 3: False}


def test_contains_any_of_a_list_or_codelist(tmp_path):
    assert run(spells.all_diagnoses.contains_any_of(["J45", "N17"])) == {
        1: True,
        2: True,
        3: False,
    }
    path = tmp_path / "codes.csv"
    path.write_text("code\nE11\nK86\n")
    codelist = codelist_from_csv(path, column="code")
    assert run(spells.all_diagnoses.contains_any_of(codelist)) == {
        1: True,
        2: False,
        3: False,
    }


@pytest.mark.parametrize("bad", ["N17.0", "17", "", "n17"])
def test_text_that_is_no_code_prefix_is_rejected(bad):
    with pytest.raises(CodelistError, match="not a valid icd10 code or prefix"):
        spells.all_diagnoses.contains(bad)


def test_multi_code_string_models_round_trip():
    node = spells.all_diagnoses.contains_any_of(["J45", "N17"])._qm_node
    assert deserialize(serialize(node)) == node
