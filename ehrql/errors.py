"""The errors ehrql raises for problems in a user's definition or data."""


class EHRQLError(Exception):
    """Base of every error that is the user's to fix, not a bug in ehrql."""


class DefinitionError(EHRQLError):
    """A dataset or measures definition that cannot work as written."""


class ParameterError(DefinitionError):
    """A parameter given to `get_parameter` is missing or of the wrong type."""
