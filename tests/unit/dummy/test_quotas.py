"""How the generator credits a patient to the measures' quotas."""

import datetime

import pytest

from ehrql.codes import SNOMEDCTCode
from ehrql.dummy.generator import (
    PATIENT_LEVEL,
    UNKNOWN,
    _OpenQuotas,
    _patient_context,
    _PatientValues,
    compile_row_expression,
)
from tests.unit.dummy.tables import events, people

# A code matched against the codes of the patient's other rows of one table
# (a consultation id among those of a service): the row expressions the
# quick check uses cannot tell this, only the engine can.
CONDITION = (
    events.where(
        events.code.is_in(events.where(events.flagged).code) & ~events.flagged
    ).exists_for_patient()
)._qm_node


def patient(*flags):
    person = {
        "patient_id": 1,
        "birth_month": datetime.date(2000, 1, 1),
        "gender": "f",
        "died_on": None,
        "region": None,
        "score": None,
        "nhs_ref": 1,
    }
    rows = [
        {
            "patient_id": 1,
            "day": None,
            "code": SNOMEDCTCode("123456"),
            "reading": None,
            "flagged": flag,
        }
        for flag in flags
    ]
    return {people._qm_node: [person], events._qm_node: rows}


@pytest.mark.parametrize("flags, meets", [((False,), False), ((True, False), True)])
def test_a_quota_the_rows_cannot_tell_is_credited_only_when_the_engine_says_so(
    flags, meets
):
    rows = patient(*flags)
    context = _patient_context(rows, {})
    assert compile_row_expression(CONDITION, PATIENT_LEVEL).evaluate({}, context) is (
        UNKNOWN
    )
    quotas = _OpenQuotas({0: CONDITION}, [[0]])
    exact = _PatientValues(rows)
    # Made for the quota: it passes, and counts, only if it meets it.
    assert quotas.credit(rows, (0,), {0: 8}, exact) is meets
    assert quotas.got(0) == int(meets)
