"""Operator rights are not configuration any more: the old setting stops start-up with what replaces it."""

import pytest

from webapp import config


def test_admin_usernames_is_retired_with_a_message_naming_the_replacement():
    assert "ADMIN_USERNAMES" not in config.build(environ={})
    with pytest.raises(config.ConfigError, match="grant-admin"):
        config.build(environ={"TASKBOARD_ADMIN_USERNAMES": "alice"})
