"""The errors ehrql raises for problems in a user's definition or data."""


class EHRQLError(Exception):
    """Base of every error that is the user's to fix, not a bug in ehrql."""


class DefinitionError(EHRQLError):
    """A dataset or measures definition that cannot work as written."""


class ParameterError(DefinitionError):
    """A parameter given to `get_parameter` is missing or of the wrong type."""


class DataError(EHRQLError):
    """The data read (a table file, a database table) is not what its schema says.

    The command line exits with the same code for every such error, whatever
    the engine that found it.
    """


class DuplicatePatientIdError(DataError):
    """A patient-level table has more than one row for some patient."""


#: How many duplicated patient ids a `DuplicatePatientIdError` lists.
DUPLICATES_SHOWN = 3


def duplicate_patient_id_error(
    table_name: str, where: str, patient_ids
) -> DuplicatePatientIdError:
    """The error for a patient-level table with repeated ids.

    `patient_ids` are the first repeated ids in order, up to one more than
    `DUPLICATES_SHOWN` (so that the message can say there are more).
    """
    ids = list(patient_ids)
    shown = ", ".join(str(i) for i in ids[:DUPLICATES_SHOWN])
    more = " and more" if len(ids) > DUPLICATES_SHOWN else ""
    return DuplicatePatientIdError(
        f"table '{table_name}' in {where} has more than one row for patient_id {shown}{more}; "
        "it is a patient-level table, which must have at most one row per patient"
    )


class IntegerOverflowError(DataError):
    """An integer calculation gave a value beyond 64 bits, which no database can hold."""


#: The range of the 64-bit integers every engine computes with.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def integer_overflow_error(what: str) -> IntegerOverflowError:
    """The error for an integer result beyond 64 bits; `what` names the column (or population)."""
    return IntegerOverflowError(
        f"{what} overflows: an integer calculation gave a value beyond the 64-bit range "
        f"({INT64_MIN} to {INT64_MAX}) that every database computes with; "
        "use floats (as_float()) for values this large"
    )


class Error(DefinitionError):
    """An ehrQL operation written in a way that cannot work, such as `abs(series)`.

    Exported as `ehrql.Error`, as in public ehrQL, so that a definition can
    catch it.
    """

    # Shown as `ehrql.Error` in messages, where the definition meets it.
    __module__ = "ehrql"
