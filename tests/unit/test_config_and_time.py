"""Configuration layers and time-zone conversion."""

from datetime import datetime, timezone

import pytest

from webapp import config, timezones


def test_defaults_environment_and_test_mapping_layer():
    built = config.build({"TASKS_PER_PAGE": 5}, environ={"TASKBOARD_TASKS_PER_PAGE": "50", "DAPR_GRPC_PORT": "1234"})
    assert built["TASKS_PER_PAGE"] == 5
    assert built["DAPR_GRPC_ADDRESS"] == "127.0.0.1:1234"
    assert built["STATE_STORE"] == "statestore"


def test_production_requires_app_token_and_secure_cookies():
    with pytest.raises(config.ConfigError, match="APP_API_TOKEN"):
        config.build(environ={"TASKBOARD_ENV": "production"})
    built = config.build(environ={"TASKBOARD_ENV": "production", "APP_API_TOKEN": "t"})
    assert built["SESSION_COOKIE_SECURE"] and built["REMEMBER_COOKIE_SECURE"]
    assert built["SESSION_COOKIE_HTTPONLY"] and built["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_an_old_name_of_a_renamed_setting_still_sets_it_and_the_new_name_wins():
    assert config.build(environ={"TASKBOARD_MAX_TASKS_PER_USER": "70"})["MAX_TASKS_PER_BOARD"] == 70
    both = {"TASKBOARD_MAX_TASKS_PER_USER": "70", "TASKBOARD_MAX_TASKS_PER_BOARD": "80"}
    assert config.build(environ=both)["MAX_TASKS_PER_BOARD"] == 80
    assert "MAX_TASKS_PER_USER" not in config.build(environ={})


def test_bad_number_names_the_setting():
    with pytest.raises(config.ConfigError, match="TASKS_PER_PAGE"):
        config.build(environ={"TASKBOARD_TASKS_PER_PAGE": "lots"})


def test_wall_clock_in_user_zone_is_stored_as_utc():
    stored = timezones.to_utc(datetime(2026, 7, 1, 9, 30), "Europe/Paris")
    assert stored == datetime(2026, 7, 1, 7, 30, tzinfo=timezone.utc)
    assert timezones.to_local(stored, "Europe/Paris").hour == 9


def test_unknown_zone_falls_back_to_utc():
    assert timezones.to_utc(datetime(2026, 1, 1, 12), "Mars/Olympus") == datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
