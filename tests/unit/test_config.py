import json
from pathlib import Path

import pytest

from paved.config import Paths, Settings, load_settings
from paved.errors import InputError
from paved.text import escaped


def test_paved_home_moves_every_folder(tmp_path: Path) -> None:
    paths = Paths.from_env({"PAVED_HOME": str(tmp_path / "p")}, tmp_path / "home")
    assert paths == Paths(tmp_path / "p/config", tmp_path / "p/data", tmp_path / "p/cache")
    assert paths.catalog_db == tmp_path / "p/data/catalog.db"


def test_xdg_folders_and_their_fallbacks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = Paths.from_env(
        {"XDG_CONFIG_HOME": "/etc/xdg-config", "XDG_DATA_HOME": "relative"}, home
    )
    assert paths.config_file == Path("/etc/xdg-config/paved/config.toml")
    assert paths.data_dir == home / ".local/share/paved"  # a relative XDG path is ignored
    assert paths.cache_dir == home / ".cache/paved"


def _paths(tmp_path: Path, toml: str | None) -> Paths:
    paths = Paths.from_env({"PAVED_HOME": str(tmp_path)}, tmp_path)
    if toml is not None:
        paths.config_dir.mkdir(parents=True)
        paths.config_file.write_text(toml, encoding="utf-8")
    return paths


def test_defaults_without_any_configuration(tmp_path: Path) -> None:
    assert load_settings(_paths(tmp_path, None), {}) == Settings()


def test_layers_apply_lowest_to_highest(tmp_path: Path) -> None:
    paths = _paths(
        tmp_path,
        '[githost]\nremote = "ssh://git@file.example/{name}.git"\n'
        '[new]\ntemplate = "service-file"\n',
    )
    organisation = {
        "githost": {"remote": "ssh://git@org.example/{name}.git"},
        "catalog": {"url": "https://org"},
    }
    env = {"PAVED_TEMPLATE": "service-env"}
    settings = load_settings(paths, env, organisation)
    assert settings.catalog_url == "https://org"
    assert settings.githost_remote == "ssh://git@file.example/{name}.git"
    assert settings.default_template == "service-env"
    assert settings.sources["catalog_url"] == "the platform settings"
    assert settings.sources["githost_remote"] == str(paths.config_file)
    assert settings.sources["default_template"] == "$PAVED_TEMPLATE"


def test_the_platform_s_own_flags_pass_over_the_members_settings(tmp_path: Path) -> None:
    organisation = {"onboarding": {"production_deploy": True}}
    assert load_settings(_paths(tmp_path, None), {}, organisation) == Settings()


def test_a_platform_flag_that_is_not_a_boolean_is_refused(tmp_path: Path) -> None:
    organisation = {"onboarding": {"production_deploy": "true"}}
    with pytest.raises(
        InputError,
        match=r"^setting 'onboarding\.production_deploy' in the platform settings must be true",
    ):
        load_settings(_paths(tmp_path, None), {}, organisation)


def test_a_member_may_not_set_a_platform_flag(tmp_path: Path) -> None:
    paths = _paths(tmp_path, "[onboarding]\nproduction_deploy = true\n")
    with pytest.raises(InputError, match=r"is the platform's, not a member's") as raised:
        load_settings(paths, {})
    assert "paved platform serve --settings" in (raised.value.hint or "")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[githost\nremote=1", "is not valid TOML"),
        ("[githost]\nremoet = 'x'\n", "unknown setting 'githost.remoet'"),
        ("[githost]\nremote = 3\n", "must be a string"),
        ("[templates]\nservice-python = 'https://git.example/x.git'\n", "unknown setting"),
    ],
)
def test_bad_configuration_is_one_clear_error(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_settings(_paths(tmp_path, toml), {})


@pytest.mark.parametrize("name", ["dev\n", "dev\r", "../prod", "Dev", "dev\u202e"])
def test_an_environment_name_from_any_layer_follows_the_naming_rule(
    tmp_path: Path, name: str
) -> None:
    paths = Paths.from_env({"PAVED_HOME": str(tmp_path)}, tmp_path)
    organisation = {"environments": {name: {"target": "gitops"}}}
    with pytest.raises(InputError, match="is not an environment name"):
        load_settings(paths, {}, organisation)
    with pytest.raises(InputError) as raised:
        load_settings(paths, {}, organisation)
    assert "\n" not in str(raised.value)
    assert "\r" not in str(raised.value)


def test_a_configuration_file_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    paths = _paths(tmp_path, "")
    paths.config_file.write_bytes(b'[githost]\nremote = "caf\xe9/{name}"\n')
    with pytest.raises(InputError, match="is not UTF-8") as raised:
        load_settings(paths, {})
    assert str(paths.config_file) in str(raised.value)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("githost = 'ssh://git@h/{name}.git'\n", "setting 'githost' in .* must be a table"),
        ("[new]\ntemplate = ['a', 'b']\n", "setting 'new.template' in .* must be a string"),
        ("[new]\ntemplate = 1979-05-27\n", "setting 'new.template' in .* must be a string"),
        ("[environments.dev]\ntarget = { a = 1 }\n", "setting 'environments.dev.target"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_settings(_paths(tmp_path, toml), {})


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("ssh://git@git.example.com/team/payments.git", "has no {name}"),
        ("ssh://git@git.example.com/team/{nam}.git", "{nam}"),
        ("ssh://git@git.example.com/team/{0}.git", "{0}"),
        ("ssh://git@git.example.com/team/{name!r}.git", "{name!r}"),
        ("ssh://git@git.example.com/team/{name:>9}.git", "{name:>9}"),
        ("ssh://git@git.example.com/team/{name.upper}.git", "{name.upper}"),
        ("ssh://git@git.example.com/team/{name}}.git", "unmatched"),
        ("ssh://git@git.example.com/team/{name.git", "unmatched"),
    ],
)
def test_a_githost_remote_pattern_is_checked_when_the_settings_load(
    tmp_path: Path, pattern: str, problem: str
) -> None:
    paths = _paths(tmp_path, f"[githost]\nremote = '{pattern}'\n")
    with pytest.raises(InputError) as raised:
        load_settings(paths, {})
    message = str(raised.value)
    assert message.startswith(f"setting 'githost.remote' in {paths.config_file}: ")
    assert problem in message
    assert "{name}" in (raised.value.hint or "")
    # the same rule for the environment variable and the platform's settings
    with pytest.raises(InputError, match=r"'githost\.remote' in \$PAVED_GITHOST_REMOTE"):
        load_settings(_paths(tmp_path / "env", None), {"PAVED_GITHOST_REMOTE": pattern})
    with pytest.raises(InputError, match=r"'githost\.remote' in the platform settings"):
        load_settings(_paths(tmp_path / "org", None), {}, {"githost": {"remote": pattern}})


@pytest.mark.parametrize(
    "pattern",
    ["", "ssh://git@git.example.com/team/{name}.git", "git@h:{name}/{name}.git", "/srv/{name}"],
)
def test_a_good_githost_remote_pattern_loads(tmp_path: Path, pattern: str) -> None:
    settings = load_settings(_paths(tmp_path, f"[githost]\nremote = '{pattern}'\n"), {})
    assert settings.githost_remote == pattern


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.com/platform/road.git",
        "https://git.example.com/platform/road",
        "ssh://git@git.example.com/platform/road.git",
        "git://git.example.com/road",
        "git@git.example.com:platform/road",
        "build@git.example.com:platform/road.git",
    ],
)
def test_a_scaffold_url_from_any_layer(tmp_path: Path, url: str) -> None:
    organisation = {"scaffolds": {"paved-road": {"url": url}}}
    settings = load_settings(_paths(tmp_path, None), {}, organisation)
    assert settings.scaffold_urls == {"paved-road": url}
    assert settings.sources["scaffold_urls"] == "the platform settings"


@pytest.mark.parametrize("url", ["/srv/scaffolds/road.git", "file:///srv/scaffolds/road.git"])
def test_a_folder_on_this_machine_only_from_the_person_s_own_file(tmp_path: Path, url: str) -> None:
    paths = _paths(tmp_path, f'[scaffolds.paved-road]\nurl = "{url}"\n')
    assert load_settings(paths, {}).scaffold_urls == {"paved-road": url}
    organisation = {"scaffolds": {"paved-road": {"url": url}}}
    with pytest.raises(InputError) as raised:
        load_settings(_paths(tmp_path / "org", None), {}, organisation)
    assert raised.value.message == (
        f"setting 'scaffolds.paved-road.url' in the platform settings: '{url}' is a folder on "
        "this machine, which other members cannot reach"
    )


def test_an_empty_scaffold_url_in_the_own_file_means_the_bundled_scaffold(tmp_path: Path) -> None:
    paths = _paths(tmp_path, '[scaffolds.paved-road]\nurl = ""\n')
    organisation = {"scaffolds": {"paved-road": {"url": "https://git.example.com/road.git"}}}
    assert load_settings(paths, {}, organisation).scaffold_urls == {}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[scaffolds.paved-road]\nurl = 3\n", "setting 'scaffolds.paved-road.url' in .* string"),
        ("[scaffolds.paved-road]\nref = 'main'\n", "unknown setting 'scaffolds.paved-road.ref'"),
        ("[scaffolds]\npaved-road = 'https://h/r.git'\n", "unknown setting 'scaffolds.paved-road'"),
        ("[scaffolds.-road]\nurl = 'https://h/r.git'\n", "'-road' is not a scaffold name"),
        ("[scaffolds.road]\nurl = 'ext::sh -c id'\n", "names a git remote helper"),
        ("[scaffolds.road]\nurl = 'fd::7,8'\n", "names a git remote helper"),
        ("[scaffolds.road]\nurl = '-oProxyCommand=id'\n", "starts with '-'"),
        ("[scaffolds.road]\nurl = 'git+ssh://h/r.git'\n", r"has the scheme git\+ssh://"),
        ("[scaffolds.road]\nurl = 'https://h/r\\u001b.git'\n", "control character U\\+001B"),
        ("[scaffolds.road]\nurl = 'file:///srv/r'\n", "does not end in .git"),
    ],
)
def test_a_bad_scaffold_setting_is_one_clear_error(tmp_path: Path, toml: str, message: str) -> None:
    toml = toml.replace("'", '"')
    with pytest.raises(InputError, match=message) as raised:
        load_settings(_paths(tmp_path, toml), {})
    assert "\n" not in str(raised.value)
    assert "\x1b" not in str(raised.value)


def test_the_githost_api_settings_take_every_layer(tmp_path: Path) -> None:
    paths = _paths(tmp_path, '[githost]\napi_url = "https://ghe.example.com/api/v3"\n')
    organisation = {"githost": {"api": "gitlab", "api_url": "https://gitlab.example.com/api/v4"}}
    settings = load_settings(paths, {"PAVED_GITHOST_API": "github"}, organisation)
    assert (settings.githost_api, settings.githost_api_url) == (
        "github",
        "https://ghe.example.com/api/v3",
    )
    assert settings.sources["githost_api"] == "$PAVED_GITHOST_API"
    assert settings.sources["githost_api_url"] == str(paths.config_file)
    assert load_settings(_paths(tmp_path / "none", None), {}).githost_api == ""


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("api", "bitbucket", 'is not one of github, gitlab (or "" for none)'),
        ("api", "GitHub", 'is not one of github, gitlab (or "" for none)'),
        ("api_url", "http://ghe.example.com/api/v3", "is not an https:// URL"),
        (
            "api_url",
            "https://me:pw@ghe.example.com/api/v3",
            "holds a user name or password (the token comes from the environment)",
        ),
        ("api_url", "https://ghe.example.com/api\u202e", "contains the control character U+202E"),
        ("api_url", "https://ghe.example.com/api?x", "has a query or fragment"),
    ],
)
def test_a_bad_githost_api_setting_names_the_key_and_its_layer(
    tmp_path: Path, key: str, value: str, problem: str
) -> None:
    for layer, env, organisation in (
        (str(tmp_path / "file/config/config.toml"), {}, None),
        (f"${'PAVED_GITHOST_' + key.upper()}", {f"PAVED_GITHOST_{key.upper()}": value}, None),
        ("the platform settings", {}, {"githost": {key: value}}),
    ):
        toml = f"[githost]\n{key} = {json.dumps(value)}\n" if layer.endswith(".toml") else None
        with pytest.raises(InputError) as raised:
            load_settings(_paths(tmp_path / "file", toml), env, organisation)
        shown = escaped(value).replace("me:pw@", "***@")
        assert raised.value.message == f"setting 'githost.{key}' in {layer}: '{shown}' {problem}"
        assert "\u202e" not in str(raised.value)
        assert "pw@" not in str(raised.value)
        if toml is not None:
            (tmp_path / "file/config/config.toml").unlink()


@pytest.mark.parametrize("key", ["token", "api_token"])
def test_a_token_is_never_a_setting(tmp_path: Path, key: str) -> None:
    paths = _paths(tmp_path, f'[githost]\n{key} = "ghp_secret"\n')
    with pytest.raises(InputError) as raised:
        load_settings(paths, {})
    assert raised.value.message == (
        f"setting 'githost.{key}' in {paths.config_file}: a token is never a setting"
    )
    assert "GITHUB_TOKEN" in (raised.value.hint or "")
    assert "ghp_secret" not in str(raised.value)
    with pytest.raises(InputError, match="a token is never a setting"):
        load_settings(_paths(tmp_path / "org", None), {}, {"githost": {key: "ghp_secret"}})
