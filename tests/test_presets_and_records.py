"""Presets and config files (--preset, --config), and the run record that repeats a run."""

import fnmatch
import math
import shlex
import tomllib

import pytest
import yaml

from conftest import ROOT, TINY_RUN, assert_clear_error, copy_toolkit, rows_without_times, run_command, run_main
from simple_dqn.command_line import parse_options
from simple_dqn.config_file import preset_names, preset_path
from simple_dqn.errors import UsageError
from simple_dqn.runs.results_csv import read_csv_rows

PRESETS = ("cleanrl", "dopamine", "fast", "nature", "smoke")
SMALL_SCREENS = ["--screen_width", "36", "--screen_height", "36"]  # cheap updates, for the runs below


def test_the_toolkit_ships_the_presets_that_help_names():
    assert set(PRESETS) <= set(preset_names())
    for name in preset_names():
        text = preset_path(name).read_text()
        assert text.startswith("#"), f"presets/{name}.yaml must say in a comment where its values come from"


def test_an_installed_toolkit_carries_the_presets():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = preset_path("nature").parents[1]
    for name in preset_names():
        relative = preset_path(name).relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in package_data["simple_dqn"]), relative


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_resolves_to_the_options_it_states(preset):
    stated = yaml.safe_load(preset_path(preset).read_text())
    values = parse_options(["pong", "--preset", preset]).values()
    for name, value in stated.items():
        if isinstance(value, float):
            assert math.isclose(values[name], value), name
        else:
            assert values[name] == (float(value) if isinstance(values[name], float) else value), name


def test_the_nature_preset_states_the_defaults():
    defaults, nature = parse_options(["pong"]).values(), parse_options(["pong", "--preset", "nature"]).values()
    differing = {name for name in defaults if defaults[name] != nature[name]}
    assert differing == {"preset", "repeat_action_probability"}
    assert defaults["repeat_action_probability"] is None and nature["repeat_action_probability"] == 0.0  # ale: 0


def test_the_command_line_wins_over_the_config_file_which_wins_over_the_preset(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("learning_rate: 1.0e-3\nbatch-size: 16\ntrain_frequency: 3\n")
    settings = parse_options(["pong", "--preset", "fast", "--config", str(config), "--train_frequency", "8"])
    assert settings.network.learning_rate == 1e-3  # the file's, over the preset's 1e-4
    assert settings.network.batch_size == 16  # a hyphen spelling in a file too
    assert settings.agent.train_frequency == 8  # the command line's
    assert settings.replay.replay_size == 100_000  # the preset's, which neither of the others sets
    assert settings.agent.exploration_rate_test == 0.05 and settings.loop.test_steps == 12_500


def test_a_snapshot_keeps_its_options_unless_the_command_line_or_a_config_file_says_otherwise(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("learning_rate: 0.001\n")
    trained_with = {"game": "pong", "learning_rate": 0.5, "batch_size": 8, "exploration_rate_test": 0.2}
    settings = parse_options(["--config", str(config), "--exploration_rate_test", "0.01"],
                             snapshot_options=trained_with)
    assert settings.network.learning_rate == 0.001
    assert settings.network.batch_size == 8
    assert settings.agent.exploration_rate_test == 0.01
    preset = parse_options(["--preset", "smoke"], snapshot_options={**trained_with, "target_steps": 77})
    assert preset.agent.target_steps == 500 and preset.network.batch_size == 8


@pytest.mark.parametrize("text, fragments", [
    ("learning_rat: 0.1\n", ["unknown option 'learning_rat'", "did you mean learning_rate"]),
    ("learning_rate: -1\n", ["learning_rate", "greater than 0"]),
    ("learning_rate:\n", ["learning_rate needs a value"]),
    ("optimizer: sgd\n", ["optimizer", "'sgd' is not one of"]),
    ("double_q: maybe\n", ["double_q", "true or false"]),
    ("resume: true\n", ["resume is given on the command line only"]),
    ("csv_file: results/x.csv\n", ["csv_file is given on the command line only"]),
    ("[1, 2]\n", ["must map option names to values"]),
    ("learning_rate: [1, 2]\n", ["learning_rate takes one value"]),
    ("a: b: c\n", ["is not valid YAML (line 1)"]),
])
def test_a_bad_config_file_is_refused_naming_the_file_and_the_option(tmp_path, text, fragments):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(UsageError) as refused:
        parse_options(["pong", "--config", str(config)])
    assert str(refused.value).startswith(f"config file {config}")
    for fragment in fragments:
        assert fragment in str(refused.value)


def test_yaml_spellings_become_the_options_values(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("learning_rate: 1e-4\ndisplay_screen: false\ndouble_q: yes\nrepeat_action_probability: null\n"
                      "replay_size: 100_000\n")
    settings = parse_options(["pong", "--config", str(config), "--repeat_action_probability", "0.25"])
    assert settings.network.learning_rate == 1e-4  # a string to YAML 1.1, a number to the option
    assert settings.display.display_screen == "false" and settings.network.double_q is True
    assert settings.replay.replay_size == 100_000
    assert settings.environment.repeat_action_probability == 0.25
    config.write_text("repeat_action_probability: null\n")
    assert parse_options(["pong", "--config", str(config)]).environment.repeat_action_probability is None


def test_an_evaluation_protocol_wins_over_a_config_file(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("random_starts: 5\nexploration_rate_test: 0.2\n")
    settings = parse_options(["pong", "--config", str(config), "--protocol", "nature"])
    assert (settings.agent.random_starts, settings.agent.exploration_rate_test) == (30, 0.05)


def test_a_bad_config_file_or_an_unknown_preset_is_one_line_and_exit_code_2(tmp_path):
    assert_clear_error(run_main("pong", "--config", str(tmp_path / "none.yaml")), "config file", "does not exist")
    assert_clear_error(run_main("pong", "--preset", "fastest"), "--preset", "choose from 'cleanrl', 'dopamine', "
                       "'fast', 'nature', 'smoke'")


def train_in(toolkit, *arguments: str):
    result = run_command([str(toolkit / "train.sh"), *arguments])
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_a_run_record_is_a_config_that_repeats_the_run_row_for_row(tmp_path):
    toolkit = copy_toolkit(tmp_path)
    train_in(toolkit, "breakout", "first", *TINY_RUN, *SMALL_SCREENS, "--epochs", "2", "--learning_rate", "0.001")
    record_file = toolkit / "results" / "breakout_first.yaml"
    record = yaml.safe_load(record_file.read_text())
    assert shlex.split(record["command"])[:3] == ["python", "-m", "simple_dqn"]
    assert "--learning_rate 0.001" in record["command"]
    assert set(record["versions"]) == {"python", "torch", "ale_py", "gymnasium", "numpy"}
    assert record["machine"]["cores"] >= 1 and record["machine"]["cpu"] and record["machine"]["device"] == "cpu"
    assert record["toolkit"]["version"] and "git_commit" in record["toolkit"]  # None: the copy is no checkout
    assert record["seed"] == record["options"]["random_seed"] and record["started"]
    assert record["options"]["learning_rate"] == 0.001 and record["preset"] is None
    assert "csv_file" not in record["options"] and record["files"]["csv_file"] == "results/{game}_first.csv"
    assert record["resumes"] == []

    train_in(toolkit, "breakout", "second", "--config", str(record_file))
    first, second = (rows_without_times(toolkit / "results" / f"breakout_{label}.csv") for label in ("first", "second"))
    assert len(first) == 5 and first == second


@pytest.mark.slow
def test_a_resumed_run_adds_its_resume_to_the_record(tmp_path):
    toolkit = copy_toolkit(tmp_path)
    train_in(toolkit, "breakout", "--preset", "smoke", *SMALL_SCREENS, "--epochs", "1", "--progress", "false",
             "--backend", "cpu")
    record_file = toolkit / "results" / "breakout.yaml"
    started = yaml.safe_load(record_file.read_text())
    assert started["preset"] == "smoke" and started["options"]["train_steps"] == 1000
    result = run_command([str(toolkit / "resume.sh"), str(toolkit / "snapshots" / "breakout_1.pkl"), "--epochs", "2",
                          "--progress", "false", "--backend", "cpu"])
    assert result.returncode == 0, result.stderr
    record = yaml.safe_load(record_file.read_text())
    assert {key: value for key, value in record.items() if key != "resumes"} == \
        {key: value for key, value in started.items() if key != "resumes"}
    [resume] = record["resumes"]
    assert (resume["from_epoch"], resume["from_phase"]) == (2, "train")
    assert "--resume" in resume["command"] and resume["versions"] == started["versions"]
    assert "--load_weights snapshots/breakout_1.pkl" in resume["command"]  # no folder of this machine
    assert resume["changed_options"] == {"epochs": 2}
    assert len(read_csv_rows(toolkit / "results" / "breakout.csv")) == 5
