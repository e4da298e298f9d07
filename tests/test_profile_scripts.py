"""The profile scripts: cProfile's table, then the profiled phase's speed."""

import re

import pytest

from conftest import run_script


@pytest.mark.parametrize("phase, options", [
    ("random", ["--random_steps", "300"]),
    ("test", ["--test_steps", "200"]),
    ("train", ["--random_steps", "40", "--train_steps", "60"]),
])
@pytest.mark.slow
def test_a_profile_script_ends_with_the_profiled_phase_speed(phase, options):
    result = run_script(f"profile_{phase}.sh", *options)
    assert result.returncode == 0, result.stderr
    assert "Ordered by: cumulative time" in result.stdout
    assert "simple_dqn/main.py" in result.stdout
    steps = options[options.index(f"--{phase}_steps") + 1]
    last_line = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(rf"{phase}: {steps} steps in [\d.]+ s = [\d.]+ steps per second .*", last_line), last_line


@pytest.mark.slow
def test_a_profile_script_whose_phase_does_not_run_says_so():
    result = run_script("profile_train.sh", "--train_steps", "0", "--random_steps", "10")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: no train phase ran (--train_steps 0?)"
    assert "Traceback" not in result.stderr
