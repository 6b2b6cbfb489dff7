"""``demo.settings``: one definition of the demo generators' arguments."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import date

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest import params
from msticnb_iforest.errors import ParameterError
from msticnb_iforest.sources import demo
from msticnb_iforest.sources.demo import (
    DemoEnterprise,
    demo_labels,
    generate_demo,
    iter_demo_events,
)
from msticnb_iforest.sources.demo.settings import DEFAULT_END, DemoSettings

PUBLIC = [
    "ATTACK_KINDS",
    "DEFAULT_END",
    "EVENT_COLUMNS",
    "LABEL_COLUMNS",
    "DemoData",
    "DemoEnterprise",
    "demo_labels",
    "generate_demo",
    "iter_demo_events",
    "match_labels",
]


def test_public_names_and_old_module_name():
    import msticnb_iforest.demo as old

    assert sorted(demo.__all__) == sorted(PUBLIC)
    assert old is demo
    for name in PUBLIC:
        assert getattr(old, name) is getattr(demo, name)


def test_every_entry_point_shows_the_settings_signature():
    settings = list(inspect.signature(DemoSettings).parameters.values())
    for entry in (generate_demo, demo_labels, DemoEnterprise):
        assert list(inspect.signature(entry).parameters.values()) == settings, entry
    chunked = list(inspect.signature(iter_demo_events).parameters.values())
    assert chunked[:-1] == settings
    assert (chunked[-1].name, chunked[-1].default) == ("chunk_days", 1)
    assert chunked[-1].kind is inspect.Parameter.KEYWORD_ONLY
    names = [p.name for p in settings]
    assert names == [
        "n_users",
        "n_days",
        "seed",
        "end",
        "n_service_accounts",
        "attacks",
        "attack_intensity",
        "incidents_per_kind",
        "domain",
        "noise",
    ]
    assert [p.kind for p in settings[:2]] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 2
    assert {p.kind for p in settings[2:]} == {inspect.Parameter.KEYWORD_ONLY}


def test_size_and_seed_defaults_are_the_hunt_parameters():
    settings = DemoSettings()
    assert settings.n_users == params.default("demo_users") == 150
    assert settings.n_days == params.default("demo_days") == 21
    assert settings.seed == params.default("demo_seed") == 7
    assert settings.last_day == DEFAULT_END == date(2024, 3, 31)


def test_resolved_values_follow_the_other_settings():
    settings = DemoSettings(300, 40)
    assert (settings.n_services, settings.per_kind) == (12, 2)
    assert settings.n_service_accounts is None and settings.incidents_per_kind is None
    smaller = dataclasses.replace(settings, n_users=50, n_service_accounts=0)
    assert (smaller.n_services, smaller.per_kind) == (0, 1)
    assert "service_new_host" not in smaller.kinds
    assert "service_new_host" in settings.kinds
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.n_users = 3  # type: ignore[misc]


def test_values_are_normalized():
    settings = DemoSettings(
        np.int64(40),
        np.int32(5),
        seed=np.uint8(3),
        end=pd.Timestamp("2024-06-01 23:30", tz="US/Pacific"),
        attacks=iter(["Password_Spray ", "brute_force"]),
        attack_intensity=np.float32(0.5),
        domain="  FABRIKAM ",
    )
    assert type(settings.n_users) is int and type(settings.seed) is int
    assert type(settings.attack_intensity) is float
    assert settings.end == settings.last_day == date(2024, 6, 2)  # its UTC day
    assert settings.attacks == settings.kinds == ("brute_force", "password_spray")
    assert settings.domain == "FABRIKAM"
    assert hash(settings) == hash(dataclasses.replace(settings))


def test_settings_object_gives_the_same_data():
    settings = DemoSettings(30, 4, seed=5, attacks=["brute_force"])
    given = generate_demo(settings)
    keywords = generate_demo(30, 4, seed=5, attacks=["brute_force"])
    pd.testing.assert_frame_equal(given.events, keywords.events)
    pd.testing.assert_frame_equal(given.labels, keywords.labels)
    pd.testing.assert_frame_equal(demo_labels(settings), keywords.labels)
    assert DemoEnterprise(settings).settings is settings


def test_messages_name_the_setting():
    with pytest.raises(ParameterError, match=r"^n_users must be an integer >= 1, got 0\.$"):
        DemoSettings(0)
    with pytest.raises(ParameterError, match=r"attack_intensity must be a number in \(0, 100\]"):
        DemoSettings(attack_intensity=101)
    with pytest.raises(ParameterError, match="end must be a date such as '2024-03-31'"):
        DemoSettings(end=20240101)
    # The first bad setting is the one reported.
    with pytest.raises(ParameterError, match="^n_days"):
        DemoSettings(5, 0, seed=-1)


def test_chunk_days_checked_at_call():
    company = DemoEnterprise(20, 3)
    with pytest.raises(ParameterError, match="chunk_days must be an integer >= 1"):
        company.iter_chunks(0)
    with pytest.raises(ParameterError, match="n_users"):
        iter_demo_events(0, 3, chunk_days=0)  # settings are checked first
