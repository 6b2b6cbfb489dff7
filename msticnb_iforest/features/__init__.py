"""Feature sets: named ways to turn per-user-day rows into model inputs."""

from __future__ import annotations

from ..errors import ParameterError
from ..params import DEFAULT_FEATURE_SET
from .base import FeatureFrame, FeatureSet
from .baseline import BaselineFeatures
from .habits import HabitsFeatures
from .seed import SeedFeatures

__all__ = [
    "DEFAULT_FEATURE_SET",
    "FEATURE_SETS",
    "FeatureFrame",
    "FeatureSet",
    "get_feature_set",
]

#: Registered feature sets by name.
FEATURE_SETS: dict[str, type[FeatureSet]] = {
    BaselineFeatures.name: BaselineFeatures,
    HabitsFeatures.name: HabitsFeatures,
    SeedFeatures.name: SeedFeatures,
}


def get_feature_set(name: str | FeatureSet | None = None) -> FeatureSet:
    """
    Return a feature set instance by name.

    Parameters
    ----------
    name : str or FeatureSet, optional
        A registered name (see `FEATURE_SETS`) or an instance, which is
        returned as is. None selects `DEFAULT_FEATURE_SET`.

    Raises
    ------
    ParameterError
        If the name is not registered.

    """
    if isinstance(name, FeatureSet):
        return name
    key = DEFAULT_FEATURE_SET if name is None else str(name).strip().lower()
    if key not in FEATURE_SETS:
        raise ParameterError(
            f"Unknown feature_set {name!r}; choose one of: {', '.join(sorted(FEATURE_SETS))}."
        )
    return FEATURE_SETS[key]()
