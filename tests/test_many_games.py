"""Training and testing with several games at once (--num_envs), and one game exactly as before it existed."""

import math

import pytest

from conftest import ROOT, TINY_RUN, assert_clear_error, resume_run, run_main
from simple_dqn.runs.results_csv import read_csv_rows

# Every action random, so the rows depend on no floating-point arithmetic but meanq's and meancost's.
RANDOM_RUN = ["breakout", "--random_steps", "300", "--train_steps", "600", "--test_steps", "300", "--epochs", "2",
              "--replay_size", "3000", "--validation_size", "64", "--target_steps", "200", "--max_test_frames", "800",
              "--exploration_rate_start", "1", "--exploration_rate_end", "1", "--exploration_rate_test", "1",
              "--progress", "false", "--backend", "cpu", "--random_seed", "11"]
FLOAT_COLUMNS = ("meanq", "meancost")


@pytest.mark.slow
def test_one_game_gives_the_rows_pinned_for_its_seed(tmp_path):
    """tests/fixtures/rows_of_3.0.0.csv is this run's CSV as version 3.0.0 wrote it: a change to what a seed gives
    one game shows here.  (Versions 2.x drew a game's no-op start from the agent's generator and learned after the
    step rather than while it was emulated, so their rows differ.)  Games, scores, step and update counts match
    exactly; meanq and meancost, which hang on the CPU's arithmetic, to a millionth."""
    result = run_main(*RANDOM_RUN, "--num_envs", "1", "--csv_file", str(tmp_path / "rows.csv"))
    assert result.returncode == 0, result.stderr
    before = read_csv_rows(ROOT / "tests" / "fixtures" / "rows_of_3.0.0.csv")
    now = read_csv_rows(tmp_path / "rows.csv")
    assert len(now) == len(before) == 5
    for row, old in zip(now, before, strict=True):
        assert {key: row[key] for key in old if key not in FLOAT_COLUMNS} == \
            {key: value for key, value in old.items() if key not in FLOAT_COLUMNS}
        for column in FLOAT_COLUMNS:
            assert math.isclose(float(row[column]), float(old[column]), rel_tol=1e-6) or \
                (math.isnan(float(row[column])) and math.isnan(float(old[column]))), (column, row, old)


@pytest.mark.slow
def test_four_games_keep_the_nature_ratio_and_schedules_in_agent_steps(tmp_path):
    """A minibatch every 4 agent steps counted over all games, exploration decayed over agent steps, replay
    filled with every game's transitions."""
    csv = tmp_path / "rows.csv"
    result = run_main("breakout", *TINY_RUN, "--epochs", "1", "--num_envs", "4", "--random_seed", "2",
                      "--csv_file", str(csv))
    assert result.returncode == 0, result.stderr
    random_phase, train, test = read_csv_rows(csv)
    assert [int(row["steps"]) for row in (random_phase, train, test)] == [200, 400, 300]
    assert int(train["total_train_steps"]) == 400 and int(train["weight_updates"]) == 100
    assert int(train["replay_memory_count"]) == 600
    assert float(train["last_exploration_rate"]) == pytest.approx(1 - 396 / 1000 * 0.9)  # its last step's, 4 games'
    assert "time split: emulator" in result.stderr


@pytest.mark.parametrize("command, refused", [
    (["breakout", "--num_envs", "2", "--play_games", "1"], "play one game at a time"),
    (["breakout", "--num_envs", "2", "--environment", "gym"], "--environment ale"),
    (["breakout", "--num_envs", "0"], "--num_envs"),
])
def test_what_several_games_cannot_do_is_refused_in_one_line(command, refused):
    assert_clear_error(run_main(*command), refused)


@pytest.mark.slow
def test_a_run_resumes_only_with_its_own_number_of_games(tmp_path):
    first = run_main("breakout", *TINY_RUN, "--epochs", "1", "--num_envs", "2", "--random_seed", "3",
                     "--save_weights_prefix", str(tmp_path / "breakout"), "--csv_file", str(tmp_path / "rows.csv"))
    assert first.returncode == 0, first.stderr
    assert_clear_error(resume_run(str(tmp_path / "breakout_1.pkl"), "--epochs", "2", "--num_envs", "4"),
                       "--num_envs")
    kept = resume_run(str(tmp_path / "breakout_1.pkl"), "--epochs", "2")
    assert kept.returncode == 0, kept.stderr
    assert [row["epoch"] for row in read_csv_rows(tmp_path / "rows.csv")] == ["0", "1", "1", "2", "2"]
