"""config/estate.yaml: which other deployments are listed; errors name file, line and key."""

from __future__ import annotations

from pathlib import Path

from engine.config.estate import EstateFilter, load_estate


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "estate.yaml").write_text(text)
    return tmp_path


def test_without_the_file_everything_is_listed(tmp_path: Path) -> None:
    estate = load_estate(tmp_path)
    assert estate == EstateFilter()
    assert estate.shows("any-flow/any-name", [])
    assert not estate.protects("any-flow/any-name")


def test_globs_and_tags_limit_and_protected_marks(tmp_path: Path) -> None:
    estate = load_estate(
        write(
            tmp_path,
            'deployments: ["team-a/*", "*/nightly-*"]\ntags: [ml]\nprotected: ["*/prod-*"]\n',
        )
    )
    assert estate.shows("team-a/daily", ["ml", "x"])
    assert estate.shows("other/nightly-etl", ["ml"])
    assert not estate.shows("team-a/daily", ["x"])  # no listed tag
    assert not estate.shows("team-b/daily", ["ml"])  # no glob matches
    assert estate.protects("team-a/prod-scoring") and not estate.protects("team-a/daily")


def test_an_empty_file_lists_everything(tmp_path: Path) -> None:
    assert load_estate(write(tmp_path, "# nothing yet\n")).shows("f/d", [])


def test_errors_name_file_line_and_key_and_hide_the_rest(tmp_path: Path) -> None:
    config = write(tmp_path, 'deployments: ["a/*"]\ntags: ml\nprotect: ["*"]\n')
    estate = load_estate(config)
    shown = [str(error) for error in estate.errors]
    path = config / "estate.yaml"
    assert shown == [
        f"{path}:2: tags: must be a list of strings (globs or tags)",
        f"{path}:3: protect: unknown key; did you mean 'protected'? "
        "(known keys: deployments, tags, protected)",
    ]
    assert not estate.shows("a/b", [])  # a broken filter never fails open


def test_not_yaml_is_an_error(tmp_path: Path) -> None:
    estate = load_estate(write(tmp_path, "deployments: [unclosed\n"))
    assert estate.errors and str(tmp_path / "estate.yaml") in str(estate.errors[0])
    assert not estate.shows("a/b", [])
