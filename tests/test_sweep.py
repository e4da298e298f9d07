"""sweep.sh: many games and seeds on a real local Ray instance, a killed task resumed, the summary checked by hand."""

import csv
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import psutil
import pytest

from conftest import ROOT, TINY_RUN, assert_clear_error, made_once, run_command, run_script
from simple_dqn.first_use import installed
from simple_dqn.runs.evaluation import write_evaluation
from simple_dqn.runs.results_csv import read_csv_rows
from simple_dqn.sweeps import driver as sweep
from simple_dqn.sweeps.run import RunCrashed, execute_run, plan_runs, write_status
from simple_dqn.sweeps.summary import game_results, median_normalised, write_summary

SWEEP_TRAINING = [option for option in TINY_RUN if option not in ("--progress", "false", "--backend", "cpu")]
EVALUATION = ["--evaluation_options", "--episodes 2 --max_test_frames 800"]
FAST = ("--train_steps", "200")


def sweep_command(storage: Path, name: str, games: str, seeds: str, epochs: int, *more: str) -> list[str]:
    return [str(ROOT / "sweep.sh"), "--games", games, "--seeds", seeds, "--storage", str(storage), "--name", name,
            *EVALUATION, *SWEEP_TRAINING, "--epochs", str(epochs), *more]


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def epochs_and_phases(csv_path: Path) -> list[tuple[int, str]]:
    return [(int(row["epoch"]), row["phase"]) for row in read_csv_rows(csv_path)]


def run_killed_sweep(storage: Path) -> dict:
    """Two games, one seed, two tiny epochs each; breakout_s1's worker is killed once it has a snapshot.  (Seeds
    are runs like any other to a sweep: the summary over several is tested on hand-written evaluations below.)"""
    process = subprocess.Popen(sweep_command(storage, "tiny", "breakout,pong", "1", 2, *FAST), cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run = storage / "tiny" / "breakout_s1"
    wait_for(run / "breakout_1.pkl", process)
    worker = json.loads((run / "status.json").read_text())["pid"]
    os.kill(worker, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=400)
    return {"args": process.args, "returncode": process.returncode, "stdout": stdout, "stderr": stderr,
            "worker": worker}


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory: pytest.TempPathFactory,
                   worker_id: str) -> tuple[Path, subprocess.CompletedProcess, int]:
    """The killed sweep's folder, what sweep.sh printed and the killed worker's pid: made once per test session."""
    result = made_once(tmp_path_factory, worker_id, "killed_sweep", lambda storage: {
        **run_killed_sweep(storage), "storage": str(storage)})
    storage = Path(result["storage"])
    completed = subprocess.CompletedProcess(result["args"], result["returncode"], result["stdout"], result["stderr"])
    return storage / "tiny", completed, result["worker"]


@pytest.mark.slow
def test_a_sweep_trains_and_evaluates_every_game_with_every_seed(finished_sweep):
    folder, result, _ = finished_sweep
    assert result.returncode == 0, result.stderr
    for run in ("breakout_s1", "pong_s1"):
        game = run.split("_s")[0]
        assert epochs_and_phases(folder / run / f"{game}.csv") == [
            (0, "random"), (1, "train"), (1, "test"), (2, "train"), (2, "test")]
        evaluation = json.loads((folder / run / "evaluation" / "summary.json").read_text())
        assert evaluation["episodes"] == 2 and evaluation["protocol"] == "nature"
        assert evaluation["snapshot"].endswith(f"{run}/{game}_2.pkl")
        assert evaluation["random_seed"] == int(run[-1])
        assert json.loads((folder / run / "status.json").read_text())["state"] == "done"


@pytest.mark.slow
def test_a_killed_task_is_retried_and_resumes_from_its_snapshot(finished_sweep):
    folder, result, killed_pid = finished_sweep
    status = json.loads((folder / "breakout_s1" / "status.json").read_text())
    assert status["attempt"] == 2 and status["pid"] != killed_pid
    log = (folder / "breakout_s1" / "train.log").read_text()
    assert "attempt 1: training" in log and "attempt 2: resuming" in log
    assert "attempt 2: training" not in log  # it did not start over
    # The killed worker's main.py was told to stop and saved where it was; the next attempt went on from there.
    assert "stopped during epoch" in log and "and saved where it stopped" in log, log
    assert json.loads((folder / "pong_s1" / "status.json").read_text())["attempt"] == 1


@pytest.mark.slow
def test_the_summary_gives_each_game_beside_the_paper(finished_sweep):
    folder, _, _ = finished_sweep
    with open(folder / "summary.csv", newline="") as file:
        rows = {row["game"]: row for row in csv.DictReader(file)}
    assert list(rows) == ["breakout", "pong", "median", "iqm", "iqm_95_low", "iqm_95_high", "mean", "mean_95_low",
                          "mean_95_high"]
    for game, human, random, paper in (("breakout", 31.8, 1.7, 401.2), ("pong", 9.3, -20.7, 18.9)):
        score = json.loads((folder / f"{game}_s1" / "evaluation" / "summary.json").read_text())["mean"]
        row = rows[game]
        assert row["runs"] == "1" and row["seeds"] == "1"
        assert float(row["mean"]) == pytest.approx(score, rel=1e-5, abs=1e-4)
        assert row["std"] == ""  # no deviation over one seed
        normalised = 100 * (score - random) / (human - random)
        assert float(row["human_normalised_percent"]) == pytest.approx(normalised, rel=1e-5, abs=1e-4)
        assert float(row["paper_dqn"]) == paper
        assert float(row["paper_human_normalised_percent"]) == pytest.approx(100 * (paper - random) / (human - random),
                                                                              rel=1e-5)
    both = sorted(float(rows[game]["human_normalised_percent"]) for game in ("breakout", "pong"))
    assert float(rows["median"]["human_normalised_percent"]) == pytest.approx(statistics.fmean(both),
                                                                              rel=1e-5, abs=1e-4)
    markdown = (folder / "summary.md").read_text()
    assert "| breakout | 1 |" in markdown and "| 401.2 |" in markdown and "| 18.9 |" in markdown
    assert "Median human-normalised score over 2 games" in markdown
    picture = cv2.imread(str(folder / "summary.png"))
    assert picture.shape[1] > picture.shape[0] > 200 and picture.std() > 10  # the profile and two games in a row


@pytest.mark.slow
def test_status_shows_every_run_and_the_same_command_continues_a_finished_sweep(finished_sweep):
    folder, _, _ = finished_sweep
    status = run_script("sweep.sh", "--status", "--storage", str(folder.parent))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].startswith(str(folder)) and "not running" in lines[0]
    breakout_s1 = next(line for line in lines if line.startswith("breakout_s1")).split()
    assert breakout_s1[1:4] == ["done", "2", "2/2"]
    assert lines[-1] == "2 done"
    again = run_command(sweep_command(folder.parent, "tiny", "breakout,pong", "1", 2, *FAST))
    assert again.returncode == 0, again.stderr
    assert "2 runs (2 done before)" in again.stderr and "Ray" not in again.stderr  # nothing to run: no Ray started
    other = run_command(sweep_command(folder.parent, "tiny", "breakout", "1", 2, *FAST))
    assert_clear_error(other, "holds a sweep with other settings", "games breakout,pong")


@pytest.fixture
def cluster() -> str:
    """A Ray cluster started as a user starts one, `ray start --head` on a free port; its address."""
    installed("ray", ROOT / "requirements-sweep.txt")  # as sweep.sh adds it on first use
    ray = str(Path(sys.executable).parent / "ray")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = run_command([ray, "start", "--head", "--port", str(port), "--num-cpus", "2", "--include-dashboard",
                           "false", "--disable-usage-stats"])
    assert started.returncode == 0, started.stderr
    yield f"127.0.0.1:{port}"
    run_command([ray, "stop", "--force"])


@pytest.mark.slow
def test_a_sweep_on_a_cluster_stopped_with_ctrl_c_is_continued_by_the_same_command(tmp_path, cluster):
    """Started as a background job of a script is (nohup, `&`), with SIGINT ignored: SIGINT must stop it all the
    same."""
    command = sweep_command(tmp_path, "stopped", "pong", "1", 3, "--address", cluster)  # long enough to stop in
    process = subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    run = tmp_path / "stopped" / "pong_s1"
    wait_for(run / "pong_1.pkl", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "--name stopped continues the sweep" in stderr and "Traceback" not in stderr
    assert "saved where it stopped" in (run / "train.log").read_text()  # stopped by the sweep, not killed mid-epoch
    status = run_script("sweep.sh", "--status", "--storage", str(tmp_path), "--name", "stopped")
    assert "pong_s1" in status.stdout and "stopped" in status.stdout.splitlines()[2]
    assert "continues the runs not done" in status.stdout
    again = run_command(command)
    assert again.returncode == 0, again.stderr
    assert epochs_and_phases(run / "pong.csv") == [(0, "random"), (1, "train"), (1, "test"), (2, "train"), (2, "test"),
                                                   (3, "train"), (3, "test")]
    log = (run / "train.log").read_text()
    assert "attempt 2: resuming" in log and "attempt 2: training" not in log


@pytest.mark.slow
def test_a_run_stopped_without_its_replay_memory_is_retried_and_resumes(tmp_path):
    """One run as a task executes it, without Ray: main.py stopped by SIGTERM saves and exits 0, which is not a
    finished run; the next attempt resumes from a snapshot that has no replay memory beside it."""
    settings = {"games": ["pong"], "seeds": [4], "protocol": "nature", "evaluation_options": ["--episodes", "1"],
                "train_options": [*SWEEP_TRAINING, *FAST, "--epochs", "2", "--save_replay_memory", "false"]}
    (tmp_path / "sweep.json").write_text(json.dumps({"settings": settings}))
    [spec] = plan_runs(tmp_path, settings)
    attempt = threading.Thread(target=lambda: outcome.append(capture(execute_run, spec)))
    outcome: list = []
    attempt.start()
    wait_for_file(tmp_path / "pong_s4" / "pong_1.pkl")
    [main_py] = [child for child in psutil.Process().children() if "-m simple_dqn" in " ".join(child.cmdline())]
    main_py.send_signal(signal.SIGTERM)
    attempt.join(timeout=120)
    assert isinstance(outcome[0], RunCrashed) and "stopped before its last epoch" in str(outcome[0])
    summary = execute_run(spec)
    assert summary["episodes"] == 1 and summary["random_seed"] == 4
    log = (tmp_path / "pong_s4" / "train.log").read_text()
    assert "attempt 2: resuming" in log and "going on with an empty replay memory" in log, log
    assert epochs_and_phases(tmp_path / "pong_s4" / "pong.csv") == [
        (0, "random"), (1, "train"), (1, "test"), (2, "train"), (2, "test")]
    assert json.loads((tmp_path / "pong_s4" / "status.json").read_text())["state"] == "done"


def capture(function, *arguments):
    try:
        return function(*arguments)
    except Exception as error:  # the test looks at what the attempt raised
        return error


def wait_for_file(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_the_summary_of_hand_written_evaluations_is_the_hand_computed_one(tmp_path):
    settings = {"games": ["breakout", "surround", "pong"], "seeds": [1, 2, 3], "train_options": [],
                "protocol": "nature", "evaluation_options": []}
    specs = plan_runs(tmp_path, settings)
    scores = {("breakout", 1): 10.0, ("breakout", 2): 20.0, ("breakout", 3): 30.0, ("surround", 1): -10.0}
    for spec in specs:
        if (spec.game, spec.seed) in scores:
            (Path(spec.folder) / "evaluation").mkdir(parents=True)
            summary = {"mean": scores[spec.game, spec.seed]}
            (Path(spec.folder) / "evaluation" / "summary.json").write_text(json.dumps(summary))
        write_status(Path(spec.folder), state="done")
    rows = {row["game"]: row for row in game_results(specs)}
    assert rows["breakout"]["mean"] == 20.0 and rows["breakout"]["std"] == 10.0  # the sample deviation of 10, 20, 30
    assert rows["breakout"]["human_normalised_percent"] == pytest.approx(100 * (20 - 1.7) / (31.8 - 1.7))
    # Surround is not in the Nature paper: the Atari-57 human and random scores, and no paper DQN score.
    assert rows["surround"]["runs"] == 1 and rows["surround"]["std"] is None
    assert rows["surround"]["human_normalised_percent"] == pytest.approx(0.0)
    assert rows["surround"]["paper_dqn"] is None
    assert rows["pong"]["runs"] == 0 and rows["pong"]["mean"] is None and rows["pong"]["paper_dqn"] == 18.9
    median, paper_median, counted = median_normalised(list(rows.values()))
    assert counted == 2 and median == pytest.approx((100 * 18.3 / 30.1 + 0.0) / 2)
    assert paper_median is None  # the paper has no Surround score to take a median with
    write_summary(tmp_path, specs)
    with open(tmp_path / "summary.csv", newline="") as file:
        written = {row["game"]: row for row in csv.DictReader(file)}
    assert written["breakout"]["runs"] == "3" and written["breakout"]["seeds"] == "1 2 3"
    assert float(written["breakout"]["std"]) == 10.0 and written["surround"]["std"] == ""
    markdown = (tmp_path / "summary.md").read_text()
    assert "| breakout | 3 | 20.0 | 10.0 | 61% |" in markdown
    assert "| pong | 0 | – | – | – | 18.9 | 132% |" in markdown
    assert "Not evaluated (failed or unfinished): breakout_s1" not in markdown
    assert "surround_s2, surround_s3, pong_s1, pong_s2, pong_s3" in markdown


@pytest.mark.slow
def test_a_run_whose_evaluation_was_stopped_early_is_evaluated_again_whole(tmp_path):
    """A task stopped while it evaluated leaves the games played, marked incomplete: the next attempt plays the
    evaluation again rather than take those games for it."""
    settings = {"games": ["breakout"], "seeds": [4], "protocol": "nature", "train_options": ["--epochs", "1"],
                "evaluation_options": ["--episodes", "2", "--max_test_frames", "400", "--backend", "cpu"]}
    (tmp_path / "sweep.json").write_text(json.dumps({"settings": settings}))
    [spec] = plan_runs(tmp_path, settings)
    evaluation = Path(spec.folder) / "evaluation"
    evaluation.mkdir(parents=True)
    shutil.copyfile(ROOT / "agents" / "breakout.pkl", f"{spec.prefix}_1.pkl")  # trained: its last epoch's snapshot
    write_evaluation(evaluation, [3.0], [400], game="breakout", environment="ale breakout", protocol="nature",
                     overrides={"play_games": 2}, settings={}, snapshot=None, seed=4, games_planned=2)
    summary = execute_run(spec)
    assert summary["complete"] is True and summary["episodes"] == 2
    assert json.loads((evaluation / "summary.json").read_text()) == summary
    assert "attempt 1: evaluating" in (Path(spec.folder) / "train.log").read_text()


@pytest.mark.slow
def test_bad_input_gets_one_line_from_the_script(tmp_path):
    assert_clear_error(run_script("sweep.sh", "--games", "breakot", "--storage", str(tmp_path)),
                       "unknown game", "breakout")
    assert_clear_error(run_script("sweep.sh", "--games", "pong", "--cpus_per_run", "64", "--storage", str(tmp_path)),
                       "asks for 64 CPUs", "this machine has")
    assert not list(tmp_path.iterdir())  # refused before the sweep's folder is made


@pytest.mark.parametrize("arguments, fragments", [
    (["--games", "pong", "--random_seed", "3"], ["--random_seed is set by the sweep"]),
    (["--games", "pong", "--random-seed", "3"], ["--random_seed is set by the sweep"]),
    (["--games", "pong", "--evaluation_options", "--load-weights x"], ["--evaluation_options --load_weights"]),
    (["--games", "pong", "--evaluation_options", "--load_weights x"], ["--evaluation_options --load_weights"]),
    (["--games", "pong", "--evaluation_options", "--bogus 2"], ["unrecognized arguments: --bogus"]),
    (["--games", "pong", "--evaluation_options", "--episodes 0"], ["give --episodes 1 or more"]),
    (["--games", "pong", "--evaluation_options", "--video_file v.mp4"], ["--evaluation_options --video_file"]),
    (["--games", "pong", "--seed", "5"], ["unrecognized arguments: --seed"]),  # not taken for --seeds
    (["--games", "pong", "--replay_size", "5000000"], ["each run needs 36.81 GB", "--replay_compress true"]),
    (["--games", "pong", "--gpus_per_run", "0.001"], ["below 0.01 of a GPU"]),
    (["--games", "pong", "--device", "cuda:1"], ["--device: the sweep places each run", "--gpus_per_run"]),
    (["--games", "pong", "--backend", "gpu"], ["--backend: the sweep places each run"]),
    (["--games", "pong", "--evaluation_options", "--device cpu"], ["--device: the sweep places each run"]),
    (["--games", "pong", "--seeds", "0"], ["--seeds", "'0'"]),
    (["--games", "pong", "--seeds", "1,1"], ["--seeds", "'1,1'"]),
    (["--games", "pong,pong"], ["names a game twice"]),
    (["--games", "pong", "--replay_size", "10"], ["--replay_size 10 must exceed"]),
    (["--games", "pong", "--storage", "/proc/no_such_folder"], ["cannot make the sweep's folder"]),
    (["--status", "--storage", "/proc/no_such_folder"], ["no sweep in /proc/no_such_folder"]),
    (["--status"], ["is not a sweep's folder"]),
])
def test_bad_input_gets_one_line_before_any_run_starts(tmp_path, capsys, arguments, fragments):
    (tmp_path / "not_a_sweep").mkdir()
    if "--storage" not in arguments:
        name = ["--name", "not_a_sweep"] if "--status" in arguments else []
        arguments = [*arguments, "--storage", str(tmp_path)] + name
    try:
        code = sweep.main(arguments)
    except SystemExit as exit:  # argparse's own refusals
        code = exit.code
    stderr = capsys.readouterr().err
    assert_clear_error(subprocess.CompletedProcess(arguments, code, "", stderr), *fragments)
    assert not list(tmp_path.glob("*/*_s*"))


@pytest.mark.slow
def test_the_rest_of_the_toolkit_needs_no_ray(tmp_path):
    """main.py trains, and --status reads a sweep, with ray made impossible to import."""
    no_ray = "import sys; sys.modules['ray'] = None; sys.argv = sys.argv[1:]; "
    trained = run_command([sys.executable, "-c",
                           no_ray + "import runpy; runpy.run_module('simple_dqn', run_name='__main__')",
                           "main.py", "pong", *TINY_RUN, "--epochs", "1", "--train_steps", "100", "--test_steps", "0",
                           "--csv_file", str(tmp_path / "pong.csv")])
    assert trained.returncode == 0, trained.stderr
    assert epochs_and_phases(tmp_path / "pong.csv") == [(0, "random"), (1, "train")]
    settings = {"games": ["pong"], "seeds": [1], "train_options": [], "protocol": "nature", "evaluation_options": []}
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "sweep.json").write_text(json.dumps({"settings": settings, "started": 0, "driver": {}}))
    status = run_command([sys.executable, "-c",
                          no_ray + "import runpy; runpy.run_module('simple_dqn.sweeps.driver', run_name='__main__')",
                          "sweep.py", "--status", "--storage", str(tmp_path)])
    assert status.returncode == 0, status.stderr
    assert "pong_s1" in status.stdout and "0/200" in status.stdout


def test_a_run_without_a_gpu_share_sees_no_gpu(tmp_path, monkeypatch):
    """Ray leaves CUDA_VISIBLE_DEVICES as it is in a task that asks for no GPU: without this, every such run would
    take cuda:0, unseen by Ray."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    settings = {"games": ["pong"], "seeds": [1], "protocol": "nature", "evaluation_options": ["--episodes", "1"],
                "train_options": [*SWEEP_TRAINING, *FAST, "--epochs", "1"]}
    (tmp_path / "sweep.json").write_text(json.dumps({"settings": settings}))
    [spec] = plan_runs(tmp_path, settings)
    outcome: list = []
    attempt = threading.Thread(target=lambda: outcome.append(capture(execute_run, spec)))
    attempt.start()
    main_py = started_main_py()
    environment = main_py.environ()
    main_py.send_signal(signal.SIGTERM)
    attempt.join(timeout=120)
    assert environment["CUDA_VISIBLE_DEVICES"] == ""


def started_main_py(timeout: float = 60) -> psutil.Process:
    """This process's child main.py, once it runs (before, the child is a copy of this process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process().children():
            try:
                if "-m simple_dqn" in " ".join(child.cmdline()):
                    return child
            except psutil.Error:  # a child that ended meanwhile
                continue
        time.sleep(0.05)
    raise AssertionError("main.py never started")
