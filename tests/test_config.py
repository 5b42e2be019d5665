"""Configuration: defaults, lookup order, one-line errors naming the key, masked secrets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.config import DEFAULT_URL, Config, config_to_dict, load_config, parse_config
from tracker.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_config_toml_equals_the_built_in_defaults() -> None:
    shipped = parse_config(tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8")))
    assert shipped == Config()
    assert shipped.source.urls == (DEFAULT_URL,)
    assert shipped.email.sender == "lifesci-tracker@localhost"


def test_the_shipped_config_toml_holds_every_key_of_every_section() -> None:
    shipped = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    for section, table in config_to_dict(Config(), environ={}).items():
        expected = set(table) - {"password"}  # shown masked by check-config, never a key
        assert set(shipped[section]) == expected, f"[{section}] in config.toml"
    assert shipped["source"]["obey_robots"] is True
    assert shipped["reports"]["enabled"] is True
    assert shipped["email"]["timeout_s"] == 30


def test_reports_go_outside_the_source_tree_by_default() -> None:
    # The quick start runs from the repository root, which holds the `reports` package.
    assert Config().reports.dir == "lifesci-tracker-reports"
    assert not (ROOT / Config().reports.dir).is_dir()


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
    assert load_config(None, environ=environ).database.url == f"sqlite:///{tmp_path / 'env.db'}"
    assert (
        load_config(str(opt_file), environ=environ).database.url == f"sqlite:///{tmp_path}/opt.db"
    )


def test_the_database_url_environment_variable_overrides_the_file(tmp_path: Path) -> None:
    environ = {"LIFESCI_TRACKER_DATABASE_URL": "postgresql+psycopg://u@h/db"}
    assert load_config(None, environ=environ).database.url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"source": {"bogus": 1}}, "unknown key 'bogus' in [source]"),
        (
            {"source": {"timeout": 1}},
            "unknown key 'timeout' in [source] (did you mean 'timeout_s'?)",
        ),
        ({"sauce": {}}, "unknown section [sauce] (did you mean 'source'?)"),
        (
            {"source": {"timeout_s": "30"}},
            "[source] timeout_s must be a number greater than 0, got '30'",
        ),
        (
            {"source": {"retries": 1.5}},
            "[source] retries must be a whole number, 0 or more, got 1.5",
        ),
        ({"source": {"urls": "https://x"}}, "[source] urls must be a list of strings"),
        ({"source": {"urls": ["ftp://x"]}}, "[source] urls: 'ftp://x' is not an http(s) URL"),
        ({"source": {"max_bytes": 0}}, "[source] max_bytes must be a whole number greater than 0"),
        ({"source": {"timeout_s": 0}}, "[source] timeout_s must be a number greater than 0, got 0"),
        (
            {"source": {"requests_per_second": -1}},
            "[source] requests_per_second must be a number greater than 0",
        ),
        (
            {"source": {"max_removed_fraction": 1.5}},
            "[source] max_removed_fraction must be a number greater than 0, at most 1",
        ),
        (
            {"source": {"allowed_hosts": ["https://www.gov.uk"]}},
            "[source] allowed_hosts: 'https://www.gov.uk' is not a host name",
        ),
        (
            {"source": {"urls": ["https://example.org/p"]}},
            "the host of https://example.org/p is not in [source] allowed_hosts (www.gov.uk): "
            "add 'example.org' to it",
        ),
        (
            {"email": {"security": "tls"}},
            "[email] security must be one of 'starttls', 'ssl', 'none', got 'tls'",
        ),
        ({"email": {"enabled": True}}, "[email] to must list a recipient"),
        ({"email": {"sender": "x"}}, "unknown key 'sender' in [email]"),
        ({"email": {"port": 0}}, "[email] port must be a port number from 1 to 65535, got 0"),
        (
            {"email": {"port": 65536}},
            "[email] port must be a port number from 1 to 65535, got 65536",
        ),
        ({"email": {"timeout_s": 0}}, "[email] timeout_s must be a number greater than 0, got 0"),
        (
            {"email": {"username": "bob", "security": "none"}},
            '[email] username is set but security = "none"',
        ),
        ({"email": {"from": "nobody"}}, "[email] from must be an email address"),
        (
            {"email": {"to": ["ops@example.org", "ops"]}},
            "[email] to: 'ops' is not an email address",
        ),
        (
            {"email": {"problems_after": -1}},
            "[email] problems_after must be a whole number, 0 or more",
        ),
        ({"email": {"format": "pdf"}}, "[email] format must be one of 'html', 'text', 'markdown'"),
        (
            {"reports": {"formats": ["pdf"]}},
            "[reports] formats: 'pdf' is not one of 'text', 'markdown'",
        ),
        ({"reports": {"when": "sometimes"}}, "[reports] when must be one of"),
        (
            {"reports": {"max_attempts": 0}},
            "[reports] max_attempts must be a whole number greater than 0",
        ),
        ({"schedule": {"cron": "61 * * * *"}}, "[schedule] invalid cron expression"),
        ({"schedule": {"timezone": "Mars/Base"}}, "Mars/Base"),
        ({"schedule": {"jitter_s": -1}}, "[schedule] jitter_s must be a number, 0 or more"),
        (
            {"notify": {"format": "rst"}},
            "[notify] format must be one of 'markdown', 'text', 'html', got 'rst'",
        ),
        (
            {"site": {"base_url": "example.org/site"}},
            '[site] base_url must be an http(s) URL or ""',
        ),
        (
            {"archive": {"cdx_url": "web.archive.org/cdx"}},
            "[archive] cdx_url must be an http(s) URL",
        ),
        (
            {"archive": {"replay_url": "https://web.archive.org/web/{url}"}},
            "[archive] replay_url must be an http(s) URL containing {timestamp} and {url}",
        ),
        (
            {"archive": {"replay_url": "ftp://a/{timestamp}/{url}"}},
            "[archive] replay_url must be an http(s) URL",
        ),
        (
            {"archive": {"cdx_url": "https://cdx.example.org/cdx"}},
            "[archive] cdx_url: the host 'cdx.example.org' is not in [archive] allowed_hosts",
        ),
        (
            {"archive": {"requests_per_second": 0}},
            "[archive] requests_per_second must be a number greater than 0",
        ),
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
        f"error: {bad}: [source] timeout_s must be a number greater than 0, got 'soon'"
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


def test_relative_paths_in_a_file_resolve_against_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "config.toml").write_text(
        '[database]\nurl = "sqlite:///data/tracker.db"\n'
        '[reports]\ndir = "out"\n'
        '[site]\ndir = "../www"\n'
        '[notify]\nconfig_file = "apprise.yml"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config("../etc/config.toml", environ={})
    assert config.database.url == f"sqlite:///{folder}/data/tracker.db"
    assert Path(config.reports.dir) == folder / "out"
    assert Path(config.site.dir) == folder / ".." / "www"
    assert Path(config.notify.config_file) == folder / "apprise.yml"


def test_absolute_paths_and_other_databases_are_kept_as_written(tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text(
        '[database]\nurl = "postgresql+psycopg://u@db/x"\n[reports]\ndir = "/srv/reports"\n',
        encoding="utf-8",
    )
    config = load_config(str(config_file), environ={})
    assert config.database.url == "postgresql+psycopg://u@db/x"
    assert config.reports.dir == "/srv/reports"
    assert config.notify.config_file == ""  # unset stays unset


def test_defaults_with_no_file_stay_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={})
    assert config.database.url == "sqlite:///lifesci-tracker.db"
    assert config.reports.dir == "lifesci-tracker-reports"


def test_the_database_url_from_the_environment_is_not_moved(tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text("", encoding="utf-8")
    environ = {"LIFESCI_TRACKER_DATABASE_URL": "sqlite:///here.db"}
    assert load_config(str(config_file), environ=environ).database.url == "sqlite:///here.db"


def test_paths_a_file_does_not_set_stay_relative_to_the_current_folder(tmp_path: Path) -> None:
    # /etc/lifesci-tracker/config.toml with the data in the service's working directory.
    config_file = tmp_path / "c.toml"
    config_file.write_text('[reports]\ndir = "out"\n', encoding="utf-8")
    config = load_config(str(config_file), environ={})
    assert config.database.url == "sqlite:///lifesci-tracker.db"
    assert config.site.dir == "lifesci-tracker-site"
    assert Path(config.reports.dir) == tmp_path / "out"


def test_check_config_prints_every_section_and_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["check-config"],
        env={"LIFESCI_TRACKER_CONFIG": "", "LIFESCI_TRACKER_DATABASE_URL": ""},
    )
    assert result.exit_code == 0
    printed = result.output.splitlines()
    for section, table in config_to_dict(Config(), environ={}).items():
        assert f"[{section}]" in printed
        for key in table:
            assert any(line.startswith(f"{key} = ") for line in printed), (section, key)
