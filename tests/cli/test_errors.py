"""One error taxonomy: every user error exits 2 with its message alone; anything else is not one."""

from __future__ import annotations

import pytest

import cells.cli.main as cli
from cells.core import errors
from cells.core.errors import ConfigError
from cells.ops.directory import Refused

KINDS = [errors.ConfigError, errors.UsageError, errors.Refusal, errors.OutputFileError]


def test_the_user_errors_are_distinct_kinds_of_one_base() -> None:
    assert ConfigError is errors.ConfigError  # the config layer raises the taxonomy's class
    assert issubclass(Refused, errors.Refusal) and not issubclass(Refused, errors.ConfigError)
    for kind in KINDS:
        assert issubclass(kind, errors.UserError)
        assert [k for k in KINDS if issubclass(kind, k)] == [kind]


@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_maps_every_user_error_to_exit_2_with_its_message(
    kind: type[Exception], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(_args: object) -> int:
        raise kind("what is wrong; what would be valid")

    monkeypatch.setattr(cli.waves, "run", fail)
    assert cli.main(["waves"]) == 2
    assert capsys.readouterr().err == "what is wrong; what would be valid\n"


def test_anything_else_is_not_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli.waves, "run", fail)
    with pytest.raises(RuntimeError):  # the interpreter exits 1 with the traceback a bug deserves
        cli.main(["waves"])


def test_an_unwritable_output_file_is_an_output_file_error(tmp_path) -> None:
    target = tmp_path / "no-such-dir" / "plan.json"
    with pytest.raises(errors.OutputFileError, match=f"--diagram {target}: cannot write the file"):
        errors.write_output(str(target), "x", "--diagram")
    assert not target.exists()


def test_a_missing_github_output_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    assert cli.main(["waves", "--github-output"]) == 2
    assert "GITHUB_OUTPUT is not set" in capsys.readouterr().err
