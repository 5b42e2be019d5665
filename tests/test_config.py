"""Configuration: defaults, lookup order, one-line errors naming the key, masked secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.config import DEFAULT_URL, Config, config_to_dict, load_config, parse_config
from tracker.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_config_toml_equals_the_built_in_defaults() -> None:
    shipped = load_config(str(ROOT / "config.toml"), environ={})
    assert shipped == Config(path=shipped.path)
    assert shipped.source.urls == (DEFAULT_URL,)
    assert shipped.email.sender == "lifesci-tracker@localhost"


def test_with_no_file_the_defaults_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={})
    assert config.path is None
    assert config.database.url == "sqlite:///lifesci-tracker.db"


def test_lookup_prefers_the_option_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env_file = tmp_path / "env.toml"
    env_file.write_text('[database]\nurl = "sqlite:///env.db"\n')
    opt_file = tmp_path / "opt.toml"
    opt_file.write_text('[database]\nurl = "sqlite:///opt.db"\n')
    environ = {"LIFESCI_TRACKER_CONFIG": str(env_file)}
    assert load_config(None, environ=environ).database.url == "sqlite:///env.db"
    assert load_config(str(opt_file), environ=environ).database.url == "sqlite:///opt.db"


def test_the_database_url_environment_variable_overrides_the_file(tmp_path: Path) -> None:
    environ = {"LIFESCI_TRACKER_DATABASE_URL": "postgresql+psycopg://u@h/db"}
    assert load_config(None, environ=environ).database.url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"source": {"bogus": 1}}, "unknown key 'bogus' in [source]"),
        ({"sauce": {}}, "unknown section [sauce]"),
        ({"source": {"timeout_s": "30"}}, "[source] timeout_s must be a number, got '30'"),
        ({"source": {"retries": 1.5}}, "[source] retries must be an integer"),
        ({"source": {"urls": "https://x"}}, "[source] urls must be a list of strings"),
        ({"source": {"urls": ["ftp://x"]}}, "not an http(s) URL"),
        ({"source": {"max_bytes": 0}}, "[source] max_bytes must be greater than 0"),
        ({"email": {"security": "tls"}}, "[email] security must be one of"),
        ({"email": {"enabled": True}}, "[email] to must list a recipient"),
        ({"email": {"sender": "x"}}, "unknown key 'sender' in [email]"),
        ({"reports": {"formats": ["pdf"]}}, "unknown format 'pdf'"),
        ({"reports": {"when": "sometimes"}}, "[reports] when must be one of"),
        ({"schedule": {"cron": "61 * * * *"}}, "[schedule] invalid cron expression"),
        ({"schedule": {"timezone": "Mars/Base"}}, "Mars/Base"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_check_config_exits_2_with_one_line_for_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[source]\ntimeout_s = 'soon'\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "check-config"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {bad}: [source] timeout_s must be a number, got 'soon'"
    ]


def test_check_config_exits_2_for_invalid_toml_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[source\n")
    for path in (broken, tmp_path / "missing.toml"):
        result = CliRunner().invoke(cli, ["--config", str(path), "check-config"])
        assert result.exit_code == 2
        assert len(result.output.strip().splitlines()) == 1
        assert result.output.startswith("error: ")


def test_check_config_masks_secrets(tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text('[database]\nurl = "postgresql+psycopg://bob:hunter2@db/x"\n')
    result = CliRunner().invoke(
        cli,
        ["--config", str(config_file), "check-config"],
        env={"LIFESCI_TRACKER_SMTP_PASSWORD": "s3cret-pw", "LIFESCI_TRACKER_DATABASE_URL": ""},
    )
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "s3cret-pw" not in result.output
    assert 'password = "****** (set)"' in result.output
    assert "postgresql+psycopg://bob:***@db/x" in result.output


def test_config_to_dict_uses_the_toml_key_names() -> None:
    table = config_to_dict(Config(), environ={})
    assert table["email"]["from"] == "lifesci-tracker@localhost"
    assert "sender" not in table["email"]
    assert table["email"]["password"] == "(not set)"


def test_the_default_schedule_is_valid() -> None:
    # load_config skips checking a default [schedule] (building a trigger imports APScheduler).
    from tracker.config import ScheduleConfig, _check_schedule

    _check_schedule(ScheduleConfig(), "defaults")  # raises ConfigError when it is not
