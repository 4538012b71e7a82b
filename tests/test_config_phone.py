"""config.toml validation and phone number normalisation."""
import pytest

from runtime import config
from runtime.phone import BadPhone, normalize


def test_no_file_means_defaults(tmp_path):
    cfg = config.load(str(tmp_path))
    assert cfg.health.heartbeat_s == 5.0 and cfg.limits.campaign_per_day == 45


def test_values_are_read(tmp_path):
    (tmp_path / "config.toml").write_text("[health]\nheartbeat_s = 0.5\n[metrics]\nport = 9464\n")
    cfg = config.load(str(tmp_path))
    assert cfg.health.heartbeat_s == 0.5 and cfg.metrics.port == 9464


@pytest.mark.parametrize("text, named", [
    ("[health]\nheartbeat = 1\n", "health.heartbeat"),
    ("[healht]\nheartbeat_s = 1\n", "[healht]"),
    ("[health]\nheartbeat_s = 'fast'\n", "health.heartbeat_s"),
    ("[metrics]\nport = true\n", "metrics.port"),
    ("[health\n", "not valid TOML"),
])
def test_bad_config_names_the_key(tmp_path, text, named):
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(config.ConfigError) as e:
        config.load(str(tmp_path))
    assert named in str(e.value)


@pytest.mark.parametrize("raw, want", [
    ("+971 50 576 0056", "+971505760056"),
    ("00971-50-576-0056", "+971505760056"),
    ("+44 (20) 7946 0958", "+442079460958"),
    ("+1 415 555 2671", "+14155552671"),
])
def test_phone_forms_are_normalised(raw, want):
    assert normalize(raw) == want


@pytest.mark.parametrize("raw", ["971505760056", "+0971505760056", "+97150abc", "+123", "", "+1234567890123456"])
def test_bad_phones_are_refused_with_the_expected_form(raw):
    with pytest.raises(BadPhone) as e:
        normalize(raw)
    assert "E.164" in str(e.value)
