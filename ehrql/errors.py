"""The errors ehrql raises for problems in a user's definition or data."""


class EHRQLError(Exception):
    """Base of every error that is the user's to fix, not a bug in ehrql."""


class DefinitionError(EHRQLError):
    """A dataset or measures definition that cannot work as written."""


class ParameterError(DefinitionError):
    """A parameter given to `get_parameter` is missing or of the wrong type."""


class Error(DefinitionError):
    """An ehrQL operation written in a way that cannot work, such as `abs(series)`.

    Exported as `ehrql.Error`, as in public ehrQL, so that a definition can
    catch it.
    """

    # Shown as `ehrql.Error` in messages, where the definition meets it.
    __module__ = "ehrql"
