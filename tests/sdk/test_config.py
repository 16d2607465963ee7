import pytest

import daytwo
from daytwo.sdk import errors, tracer
from daytwo.sdk.config import SdkConfig, from_env
from daytwo.sdk.errors import ConfigError


def test_defaults_point_at_a_local_server() -> None:
    settings = from_env({})

    assert settings.url == "http://127.0.0.1:7700"
    assert settings.enabled
    assert settings.sample_rate == 1.0
    assert settings.project is None


def test_environment_variables_set_the_settings() -> None:
    settings = from_env(
        {
            "DAYTWO_URL": "https://daytwo.example.com",
            "DAYTWO_API_KEY": "dt-secret",
            "DAYTWO_PROJECT": "support-bot",
            "DAYTWO_SAMPLE_RATE": "0.1",
            "DAYTWO_ENABLED": "false",
            "DAYTWO_SPOOL_DIR": "/var/spool/daytwo",
        }
    )

    assert settings.url == "https://daytwo.example.com"
    assert settings.api_key == "dt-secret"
    assert settings.project == "support-bot"
    assert settings.sample_rate == 0.1
    assert settings.enabled is False
    assert str(settings.resolved_spool_dir) == "/var/spool/daytwo"


def test_the_api_key_never_shows_in_a_repr() -> None:
    assert "dt-secret" not in repr(SdkConfig(api_key="dt-secret"))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DAYTWO_SAMPLE_RATE": "lots"}, "DAYTWO_SAMPLE_RATE='lots' is not a valid float"),
        ({"DAYTWO_SAMPLE_RATE": "2"}, "sample_rate 2.0 must be between 0 and 1"),
        ({"DAYTWO_ENABLED": "maybe"}, "DAYTWO_ENABLED='maybe' is not a boolean"),
        ({"DAYTWO_URL": "localhost:7700"}, "must start with http:// or https://"),
    ],
)
def test_bad_environment_values_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_env(environ)


def test_configure_refuses_unknown_settings() -> None:
    with pytest.raises(ConfigError, match="unknown setting colour; expected one of: api_key"):
        daytwo.configure(colour="blue")


def test_a_bad_environment_variable_turns_tracing_off_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DAYTWO_SAMPLE_RATE", "lots")
    monkeypatch.setattr(tracer, "_tracer", None)  # as in a fresh process
    monkeypatch.setattr(errors, "_logged", set())

    @daytwo.track
    def work(n: int) -> int:
        return n

    assert [work(n) for n in range(3)] == [0, 1, 2]
    assert daytwo.flush() == (0, 0, 0, 0)
    assert daytwo.stats().sent == 0
    assert daytwo.get_current_span() is None

    [warning] = [r for r in caplog.records if r.name == "daytwo"]
    assert warning.levelname == "WARNING"
    assert "tracing is off because DAYTWO_SAMPLE_RATE='lots' is not a valid float" in (
        warning.getMessage()
    )
    with pytest.raises(ConfigError, match="DAYTWO_SAMPLE_RATE='lots'"):
        daytwo.configure(project="p")  # configure is called on purpose, so it still raises
