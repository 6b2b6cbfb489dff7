"""The interface every feature set implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..params import DEFAULT_CONTAMINATION
from .clauses import clause, keep_telling, rank_clauses, reason_text

__all__ = ["FeatureFrame", "FeatureSet"]


@dataclass
class FeatureFrame:
    """
    Model inputs computed from a per-user-day table.

    Attributes
    ----------
    values : pd.DataFrame
        One column per model feature, in model order, aligned to the table.
    context : pd.DataFrame
        Helper columns aligned to the table (an account's usual values,
        baseline sizes) used to explain outliers. Not model inputs.
    notes : list of str
        Remarks for the analyst, e.g. features that could not be computed
        from the columns the table has.

    """

    values: pd.DataFrame
    context: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)


class FeatureSet:
    """
    A named way to turn per-user-day rows into Isolation Forest inputs.

    Subclasses set `name` and `description` and implement `compute`,
    `n_estimators`, `forest_params`, `suppressed` and `reason`.
    """

    name: str = ""
    description: str = ""
    #: Input columns drawn per day in an outlier account's trend plot.
    trend_columns: tuple[str, ...] = ()
    #: The ``AnomalousLogons`` query that returns the table this set needs.
    query_name: str = "user_day_summary"
    #: Whether days are compared with the account's own other days
    #: (``min_history_days`` applies).
    has_baseline: bool = False
    #: Share of user-days reported when the caller sets no ``contamination``
    #: (the reporting threshold this set was measured at).
    contamination: float | str = DEFAULT_CONTAMINATION

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Refuse a subclass that still defines ``model_params``, which nothing calls."""
        super().__init_subclass__(**kwargs)
        if "model_params" in vars(cls):
            raise TypeError(
                f"{cls.__name__} defines model_params(), which is no longer used: return "
                "its settings from forest_params(self, n_rows) instead."
            )

    def configured(self, *, min_history_days: int | None = None) -> FeatureSet:
        """Return the feature set with run options applied (this one has none)."""
        return self

    def compute(self, table: pd.DataFrame) -> FeatureFrame:
        """Compute model features for every row of a prepared table."""
        raise NotImplementedError

    def n_estimators(self, n_rows: int, n_features: int) -> int:
        """Return the number of trees to use when the caller does not choose one."""
        return 100

    def forest_params(self, n_rows: int) -> dict:
        """
        Forest settings for a table of `n_rows` rows (default: none, scikit-learn's).

        Keyword arguments of `msticnb_iforest.model.fit_score` other than
        ``n_estimators``: IsolationForest parameters, and ``fit_rows`` to
        build the trees from a sample of rows.

        Examples
        --------
        >>> FeatureSet().forest_params(1_000)
        {}

        """
        return {}

    def suppressed(self, table: pd.DataFrame) -> pd.Series:
        """
        Say which rows are scored but never reported, and why.

        Returns
        -------
        pd.Series
            Aligned to `table`; an empty string where the row may be
            reported, otherwise a short reason.

        """
        return pd.Series("", index=table.index, dtype=object)

    def evidence(self, row: pd.Series, feature: str) -> str:
        """
        Describe one feature of a flagged row: the observed value and the usual one.

        Parameters
        ----------
        row : pd.Series
            The user-day with its input columns, features and context columns.
        feature : str
            A model feature name.

        """
        return f"{feature} = {row.get(feature)}"

    def clauses(
        self,
        row: pd.Series,
        top_features: list[str],
        attribution: Mapping[str, float] | None = None,
    ) -> list[dict]:
        """
        Tell the reason for a flagged row as clauses, strongest first.

        Each clause is a dict with ``feature``, ``label``, ``value``,
        ``usual_low``, ``usual_high`` and ``text`` (see
        `msticnb_iforest.features.clauses`). This default says each top
        feature's value in the model's own terms, ordered by `attribution`
        (most negative first), with no usual range.

        Parameters
        ----------
        row : pd.Series
            The user-day with its input columns, features and context columns.
        top_features : list of str
            The features that pushed the row towards anomalous, strongest first.
        attribution : mapping of str to float, optional
            Per feature, its SHAP value (or rarity) for this row.

        Returns
        -------
        list of dict

        Examples
        --------
        >>> row = pd.Series({"a": 3.0, "b": 1.0})
        >>> [c["text"] for c in FeatureSet().clauses(row, ["a", "b"], {"a": -0.1, "b": -0.5})]
        ['b = 1.0', 'a = 3.0']

        """
        candidates = [
            (1, clause(name, name, _number(row.get(name)), self.evidence(row, name)))
            for name in top_features
        ]
        return keep_telling(rank_clauses(candidates, attribution))

    def baseline_text(self, row: pd.Series) -> str:
        """Say how much history the row was judged on, to end its reason ("" for none)."""
        return ""

    def reason(
        self,
        row: pd.Series,
        top_features: list[str],
        attribution: Mapping[str, float] | None = None,
    ) -> str:
        """
        One-line explanation of a flagged row in analyst language.

        The texts of `clauses` joined by "; ", then ". " and `baseline_text`
        when there is one; "unusual combination of values" when no feature
        pushed the row towards anomalous.

        Examples
        --------
        >>> FeatureSet().reason(pd.Series({"a": 3.0}), [])
        'unusual combination of values'

        """
        return reason_text(self.clauses(row, top_features, attribution), self.baseline_text(row))


def _number(value: object) -> float:
    """Return a row's value as a float (NaN when it is missing or not a number)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
