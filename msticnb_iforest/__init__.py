"""msticnb-iforest: hunt anomalous Windows logon users with an Isolation Forest."""

from ._version import VERSION

__version__ = VERSION
