"""Exception types raised by the public API."""


class AnomalousLogonsError(ValueError):
    """Base class for every error this package raises on purpose."""


class InputDataError(AnomalousLogonsError):
    """The input table or file is not usable (missing columns, bad values)."""


class ParameterError(AnomalousLogonsError):
    """A parameter value is out of range or unsafe."""


class QueryError(AnomalousLogonsError):
    """A data query could not run or returned something unusable."""


class StateError(AnomalousLogonsError):
    """The scheduled hunt's state store cannot be used (not a store, too new, missing)."""
