"""Credentials: ${VAR} filled from the environment or an env file; redacted wherever shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment_lib import SourceError
from alignment_lib.secrets import contains_secret, expand, read_env_file, redact, references


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALIGN_TEST_PASSWORD", "ALIGN_TEST_HOST", "ALIGN_TEST_OTHER"):
        monkeypatch.delenv(name, raising=False)


def test_expand_fills_references_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGN_TEST_PASSWORD", "pw-from-env")
    monkeypatch.setenv("ALIGN_TEST_HOST", "db.internal")
    uri = "postgresql://report:${ALIGN_TEST_PASSWORD}@${ALIGN_TEST_HOST}:5432/crm"
    assert references(uri) == ["ALIGN_TEST_PASSWORD", "ALIGN_TEST_HOST"]
    assert expand(uri) == "postgresql://report:pw-from-env@db.internal:5432/crm"
    assert expand("no references here") == "no references here"
    # $VAR without braces is not a reference (a password may contain a dollar sign)
    assert expand("a$ALIGN_TEST_HOST") == "a$ALIGN_TEST_HOST"


def test_expand_reads_an_env_file_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# database\n\nexport ALIGN_TEST_PASSWORD='from file'\nALIGN_TEST_HOST = \"filehost\"\n"
        "ALIGN_TEST_OTHER=a=b#c\n",
        encoding="utf-8",
    )
    assert read_env_file(env) == {
        "ALIGN_TEST_PASSWORD": "from file",
        "ALIGN_TEST_HOST": "filehost",
        "ALIGN_TEST_OTHER": "a=b#c",
    }
    text = "${ALIGN_TEST_PASSWORD}@${ALIGN_TEST_HOST}"
    assert expand(text, env_file=env) == "from file@filehost"
    monkeypatch.setenv("ALIGN_TEST_HOST", "envhost")
    assert expand(text, env_file=env) == "from file@envhost"


def test_a_missing_variable_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        expand("postgresql://u:${ALIGN_TEST_PASSWORD}@h/db")
    message = str(info.value)
    assert "${ALIGN_TEST_PASSWORD}" in message
    assert "ALIGN_TEST_PASSWORD is not set in the environment" in message
    assert "fix: export ALIGN_TEST_PASSWORD=... before running the kit" in message
    env = tmp_path / "db.env"
    env.write_text("ALIGN_TEST_HOST=h\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        expand("${ALIGN_TEST_PASSWORD}${ALIGN_TEST_OTHER}", env_file=env)
    assert (
        "ALIGN_TEST_PASSWORD, ALIGN_TEST_OTHER are not set in the environment or the env file "
        f"'{env}'" in str(info.value)
    )


def test_env_file_errors_name_the_line_never_the_value(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1\nthis line holds hunter22 and no equals sign\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read_env_file(env)
    message = str(info.value)
    assert f"the env file '{env}', line 2: is not NAME=value" in message
    assert "hunter22" not in message
    with pytest.raises(SourceError, match="cannot read the env file"):
        read_env_file(tmp_path / "missing.env")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://report:s3cret@db:5432/crm", "postgresql://report:***@db:5432/crm"),
        ("postgresql://report:${PGPASSWORD}@db/crm", "postgresql://report:***@db/crm"),
        # a password holding @ and / (not percent-encoded): up to the last @ of the URI
        ("at 'postgres://u:p@ss/w@db/x' failed", "at 'postgres://u:***@db/x' failed"),
        ("postgresql://report@db/crm", "postgresql://report@db/crm"),
        ("host=db user=r password=s3cret dbname=crm", "host=db user=r password=*** dbname=crm"),
        (
            "postgresql://db/crm?user=r&password=s3cret&ssl=1",
            "postgresql://db/crm?user=r&password=***&ssl=1",
        ),
        ("no secret in data/sample/leads.csv", "no secret in data/sample/leads.csv"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_removes_every_secret_value_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    # expanded into a URI's password: redacted wherever a driver quotes it back
    monkeypatch.setenv("ALIGN_TEST_OTHER", "pw-in-uri-9")
    expand("postgresql://u:${ALIGN_TEST_OTHER}@h/db")
    assert redact("FATAL: bad password pw-in-uri-9 for u") == "FATAL: bad password *** for u"
    # an environment variable named like a secret: its value is redacted too
    monkeypatch.setenv("ALIGN_TEST_PASSWORD", "env-secret-42")
    assert redact("said env-secret-42.") == "said ***."
    # ... but not a short value of a variable that merely looks like one (USE_TOKEN=true)
    monkeypatch.setenv("ALIGN_TEST_TOKEN", "true")
    assert redact("true") == "true"
    # a host filled from the environment is not a secret
    monkeypatch.setenv("ALIGN_TEST_HOST", "db.internal")
    expand("postgresql://u@${ALIGN_TEST_HOST}/db")
    assert redact("db.internal") == "db.internal"


def test_contains_secret_tells_a_written_password_from_a_reference() -> None:
    assert not contains_secret("postgresql://u:${PGPASSWORD}@h/db")
    assert not contains_secret("postgresql://u@h/db")
    assert not contains_secret("data/sample")
    assert contains_secret("postgresql://u:written@h/db")
    assert contains_secret("host=h password=written")


def test_the_working_directory_is_not_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # PWD matches the secret-name pattern, but it is the shell's folder: a data path under
    # it must not read as holding a password (every render from the repository failed)
    monkeypatch.setenv("PWD", "/home/analyst/reports")
    monkeypatch.setenv("OLDPWD", "/home/analyst/exports")
    monkeypatch.setenv("DB_PWD", "hunter22")
    text = "/home/analyst/reports/data and /home/analyst/exports and hunter22"
    assert redact(text) == "/home/analyst/reports/data and /home/analyst/exports and ***"
