"""
The self-test's attack kinds and intensities, by name.

No heavy imports: the command line's parser reads them before any work.
"""

from __future__ import annotations

__all__ = ["INTENSITIES", "KINDS", "LOUD_KINDS"]

#: Every kind, in planting order: single-victim kinds first, the sprays last.
KINDS: tuple[str, ...] = (
    "brute_force",
    "brute_force_random_hosts",
    "distributed_brute",
    "slow_brute",
    "lateral_movement",
    "lateral_valid",
    "pass_the_hash",
    "service_new_host",
    "service_from_workstation",
    "dormant_revived",
    "off_hours",
    "password_spray",
    "internal_spray",
)

#: Kinds whose high intensity any hunt should catch.
LOUD_KINDS = ("brute_force", "password_spray")

#: Intensities, and how much each scales an attack's failures, servers and logons.
INTENSITIES: dict[str, float] = {"low": 0.3, "medium": 1.0, "high": 3.0}
