"""Many games times several seeds as Ray tasks: ``./sweep.sh --games breakout,pong --seeds 3 [train options]``.

Each (game, seed) trains in its own folder, ``<storage>/<sweep>/<game>_s<seed>/``, then is evaluated; a task
that dies is retried by Ray and resumes from that folder. The sweep is a plain folder too: ``--status`` reads
it, and running the same command again with ``--name`` continues it.
"""

import argparse
import json
import logging
import os
import signal
import socket
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import psutil

from simple_dqn.command_line import build_parser as build_run_parser
from simple_dqn.command_line import check_settings, parse_options, refuse_configured
from simple_dqn.dqn.environment import resolve_rom
from simple_dqn.dqn.replay_memory import bytes_per_transition
from simple_dqn.errors import UsageError, exit_code_of, first_line
from simple_dqn.files import TOOLKIT_ROOT, write_atomically
from simple_dqn.first_use import installed
from simple_dqn.option import OptionParser, number_type, positive_float
from simple_dqn.settings import flags_set_by
from simple_dqn.sweeps.run import (
    STOP_FILE,
    SWEEP_FILE,
    RunCrashed,
    RunSpec,
    execute_run,
    plan_runs,
    read_status,
    read_sweep_record,
    write_status,
)
from simple_dqn.sweeps.status import describe_sweep, newest_sweep, sweep_progress
from simple_dqn.sweeps.summary import write_summary
from simple_dqn.wording import counted

log = logging.getLogger(__name__)
# What a task needs of the project: the code, the score tables and any ROMs of the user's own.
SHIPPED_EXCLUDES = [".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache",
                    "benchmarks", "tests", "snapshots", "results", "videos", "*.pkl", "*.replay*"]
POLL_SECONDS = 5.0
# Where a run's network runs is the sweep's to say, as it asks Ray for each run's resources.
PLACEMENT_FLAGS = ("--backend", "--device")
PLACED = "the sweep places each run: --gpus_per_run gives each a share of a GPU, and a run without one uses the CPU"
SAVE_SECONDS = 600  # the most a stopped sweep waits for its runs to save (7 GB of replay each, at the paper's size)


def build_parser() -> OptionParser:
    parser = OptionParser(prog="sweep.sh", usage="%(prog)s --games GAME,GAME... [--seeds N] [options] [train options]",
                          allow_abbrev=False,
                          description="Train every game with every seed as a Ray task, evaluate each run, and "
                                      "summarise them against the Nature paper. Options this list does not name "
                                      "are main.py's training options, given to every run.")
    add = parser.add_argument
    add("--games", type=_names, help="comma-separated games (breakout,pong or ROM files)")
    add("--seeds", type=_seeds, default=[1, 2, 3], help="a number of seeds (3: seeds 1, 2 and 3) or a comma-separated "
        "list of them (default 3)")
    add("--name", help="the sweep's folder under --storage (default: sweep-DATE-TIME); the same name continues it")
    add("--storage", type=Path, default=TOOLKIT_ROOT / "results",
        help="where the sweep's folder goes (default results/); on a cluster of several machines, a path all of "
             "them share, such as an NFS mount")
    add("--address", help="an existing Ray cluster: auto, or ray://HEAD:10001 (default: start Ray on this machine)")
    add("--cpus_per_run", type=number_type(float, 0.01, None, what="0.01 or more"), default=1.0,
        help="CPUs each run asks Ray for (default 1)")
    add("--gpus_per_run", type=_gpu_share, default=0.0,
        help="share of a GPU each run asks Ray for, such as 0.25 for four runs per GPU (default 0)")
    add("--memory_per_run", type=positive_float, default=None, metavar="GB",
        help="memory each run asks Ray for, in GB (default: its replay memory when full, plus 1.5)")
    add("--max_retries", type=number_type(int, 0, None, what="0 or more"), default=3,
        help="times a run whose task died is started again; it resumes from its newest snapshot (default 3)")
    add("--protocol", choices=("nature", "machado"), default="nature",
        help="how each run's final snapshot is evaluated (default nature: 30 games, epsilon 0.05, 1 to 30 no-op "
             "frames)")
    add("--evaluation_options", default="", metavar="'OPTIONS'",
        help="more main.py options for each evaluation, as one quoted string, such as '--episodes 10'")
    add("--status", action="store_true", help="show the runs of a sweep (--name, or the newest) and exit")
    return parser


def _gpu_share(text: str) -> float:
    share = number_type(float, 0, None, what="0 or more")(text)
    if 0 < share < 0.01:
        raise argparse.ArgumentTypeError(f"{text} is below 0.01 of a GPU")
    return share


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one game")
    return names


def _seeds(text: str) -> list[int]:
    try:
        seeds = list(range(1, int(text) + 1)) if "," not in text else [int(seed) for seed in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"'{text}' is neither a number of seeds above 0 nor a comma-separated list "
                                         "of different seeds")
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    return exit_code_of(lambda: run(argv), "stopped before the sweep began")


def run(argv: Sequence[str] | None) -> int:
    options, train_options = build_parser().parse_known_args(argv)
    run_parser = build_run_parser()  # the runs' own spelling, so the checks below see --random-seed as --random_seed
    train_options = run_parser.spelled_out(train_options)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
    if options.status:
        folder = options.storage / options.name if options.name else newest_sweep(options.storage)
        print(describe_sweep(folder))
        return 0
    if not options.games:
        raise UsageError("name the games: --games breakout,pong (ale-py's names or ROM files)")
    evaluation_options = run_parser.spelled_out(options.evaluation_options.split())
    games = checked_games(options.games, train_options, evaluation_options, options.protocol)
    if options.memory_per_run is None:
        options.memory_per_run = needed_memory(games[0], train_options)
    if not options.address:
        check_local_resources(options)
    name = options.name or time.strftime("sweep-%Y%m%d-%H%M%S")
    folder = options.storage.resolve() / name
    settings = {"games": games, "seeds": options.seeds, "train_options": train_options, "protocol": options.protocol,
                "evaluation_options": evaluation_options}
    claim_folder(folder, settings)
    return run_sweep(options, folder, plan_runs(folder, settings))


def checked_games(games: list[str], train_options: list[str], evaluation_options: list[str],
                  protocol: str) -> list[str]:
    """The games' names as runs will write them, once every game and option has passed main.py's own checks:
    a mistake is reported now, not by each task on the cluster."""
    for given in [*train_options, *evaluation_options]:
        if given.split("=")[0] in PLACEMENT_FLAGS:
            raise UsageError(f"{given.split('=')[0]}: {PLACED}; leave it out")
    for given in train_options:
        if given.split("=")[0] in flags_set_by("sweep"):
            raise UsageError(f"{given.split('=')[0]} is set by the sweep for each run; leave it out")
    for given in evaluation_options:
        if given.split("=")[0] in flags_set_by("sweep evaluation"):
            raise UsageError(f"--evaluation_options {given}: the sweep sets it (choose the protocol with --protocol)")
    for given in [*train_options, *evaluation_options]:
        if given.split("=")[0] == "--config":
            raise UsageError("--config: a sweep's runs cannot read a file of this machine; give the options "
                             "themselves, or a --preset")
    refuse_configured([games[0], *train_options], "sweep", "the sweep sets it for each run")
    refuse_configured([games[0], *evaluation_options], "sweep evaluation", "the sweep sets it for the evaluation")
    names = []
    for game in games:
        options = parse_options([game, *train_options])
        check_settings(options)
        evaluation = parse_options([game, "--load_weights", "snapshot", "--results_folder", "evaluation",
                                    "--protocol", protocol, *evaluation_options])
        check_settings(evaluation)
        environment = options.environment
        names.append(game if environment.environment == "gym" else resolve_rom(game)[1])
    if len(set(names)) != len(names):
        raise UsageError(f"--games names a game twice: {', '.join(games)}")
    return names


def needed_memory(game: str, train_options: list[str]) -> float:
    """GB a run needs: its replay memory when full, as main.py plans it (compressed, a bound most games stay far
    below), and 1.5 GB for PyTorch, the emulator and the network's copies."""
    options = parse_options([game, *train_options])
    replay = options.replay.replay_size * bytes_per_transition(options.environment.screen_shape,
                                                               options.replay.replay_compress)
    return round(replay / 1e9 + 1.5, 2)


def check_local_resources(options: argparse.Namespace) -> None:
    """Ray on this machine offers its CPUs, GPUs and memory: a run that asks for more would wait forever."""
    import torch

    cpus, gpus, memory = os.cpu_count() or 1, torch.cuda.device_count(), psutil.virtual_memory().total / 1e9
    if options.cpus_per_run > cpus or options.gpus_per_run > gpus:
        raise UsageError(f"each run asks for {options.cpus_per_run:g} CPUs and {options.gpus_per_run:g} GPUs, but "
                         f"this machine has {cpus} and {gpus}: lower --cpus_per_run or --gpus_per_run, or give "
                         "--address of a cluster")
    if options.memory_per_run > memory * 0.7:  # Ray offers tasks 70% of a machine's memory
        raise UsageError(f"each run needs {options.memory_per_run:g} GB (its replay memory and PyTorch), but Ray "
                         f"offers {memory * 0.7:.1f} GB of this machine's {memory:.1f}: lower --replay_size, add "
                         "--replay_compress true, or give --address of a cluster")


def claim_folder(folder: Path, settings: dict) -> None:
    """Make the sweep's folder, or continue the sweep already there if it has the same settings."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot make the sweep's folder {folder}: {error.strerror}") from None
    (folder / STOP_FILE).unlink(missing_ok=True)  # the request that stopped this sweep before
    sweep_file = folder / SWEEP_FILE
    started = time.time()
    if sweep_file.exists():
        earlier = read_sweep_record(folder)
        earlier_settings, started = earlier["settings"], earlier.get("started", started)
        if earlier_settings != settings:
            raise UsageError(f"{folder} holds a sweep with other settings ({_describe(earlier_settings)}): "
                             "continue it with those, or choose another --name")
        log.info("continuing the sweep in %s", folder)
    driver = {"host": socket.gethostname(), "pid": os.getpid(), "created": psutil.Process().create_time()}
    record = {"settings": settings, "started": started, "driver": driver}
    try:
        write_atomically(sweep_file, lambda file: file.write(json.dumps(record, indent=2).encode()))
    except OSError as error:
        raise UsageError(f"cannot write in the sweep's folder {folder}: {error.strerror}") from None


def _describe(settings: dict) -> str:
    seeds = ",".join(str(seed) for seed in settings["seeds"])
    train_options = " ".join(settings["train_options"]) or "none"
    return f"games {','.join(settings['games'])}, seeds {seeds}, train options {train_options}"


def run_sweep(options: argparse.Namespace, folder: Path, specs: list[RunSpec]) -> int:
    """Start Ray, hand it the runs not yet done, follow them, then summarise."""
    waiting = [spec for spec in specs if read_status(Path(spec.folder)).get("state") != "done"]
    log.info("%d runs (%d done before); each asks for CPU %g, GPU %g, memory %g GB; %s", len(specs),
             len(specs) - len(waiting), options.cpus_per_run, options.gpus_per_run, options.memory_per_run, folder)
    failed = 0
    if waiting:
        ray = connect(options.address)
        # Both set here, not left to Python: a sweep started as a background job (nohup, or `&` in a script) inherits
        # Ctrl-C ignored, and Python then installs no KeyboardInterrupt of its own.
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        pending: dict = {}
        try:
            check_cluster(ray, options, folder)
            task = ray.remote(num_cpus=options.cpus_per_run, num_gpus=options.gpus_per_run,
                              memory=int(options.memory_per_run * 1e9), max_retries=options.max_retries,
                              retry_exceptions=[RunCrashed])(_task)
            for spec in waiting:
                write_status(Path(spec.folder), state="waiting", error=None)
            pending.update({task.options(name=Path(spec.folder).name).remote(spec): spec for spec in waiting})
            failed = follow(ray, pending, specs)
        except KeyboardInterrupt:
            stop_runs(ray, folder, pending)
            print(f"stopped: each run saved where it was; ./sweep.sh with the same options and --name "
                  f"{folder.name} continues the sweep", file=sys.stderr)
            return 130
        finally:
            ray.shutdown()
    write_summary(folder, specs)
    log.info("wrote %s, %s and %s", folder / "summary.md", folder / "summary.csv", folder / "summary.png")
    if failed:
        print(f"{failed} of {len(specs)} runs failed: ./sweep.sh --status --name {folder.name} says why; the same "
              "command continues them", file=sys.stderr)
        return 1
    return 0


def stop_runs(ray: ModuleType, folder: Path, pending: dict) -> None:
    """Ask every run still going to stop: each task tells its main.py, which saves where it is (Ray's shutdown
    alone would kill them mid-epoch); runs not yet begun are cancelled."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the saves short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("stopping: each run saves where it is...", file=sys.stderr)
    (folder / STOP_FILE).touch()
    for reference in pending:
        ray.cancel(reference)
    ray.wait(list(pending), num_returns=len(pending), timeout=SAVE_SECONDS)


def _stop(*_: object) -> None:
    raise KeyboardInterrupt


def connect(address: str | None) -> ModuleType:
    """Join the cluster at ``address``, or start one on this machine; either way ship the project's code."""
    # Ray reads these when imported. Its default excludes are in SHIPPED_EXCLUDES, without its notice about them.
    # A new local instance gets Ray's default, token authentication, without its notice either; so does a
    # cluster joined by its address when this machine holds a token (Ray itself does so only for 'auto').
    os.environ["RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES"] = ""
    os.environ["RAY_RUNTIME_ENV_IGNORE_GITIGNORE"] = "1"  # .gitignore leaves out roms/*.bin, which runs may need
    holds_token = any(os.environ.get(name) for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")) or \
        (Path.home() / ".ray" / "auth_token").is_file()
    if not address or holds_token:
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    ray = installed("ray", TOOLKIT_ROOT / "requirements-sweep.txt")

    runtime_env = {"working_dir": str(TOOLKIT_ROOT), "excludes": SHIPPED_EXCLUDES, "env_vars": {"PYTHONPATH": "src"}}
    try:
        with warnings.catch_warnings():  # Ray warns before it raises; the error below says it in one line
            warnings.simplefilter("ignore")
            if address:
                ray.init(address=address, runtime_env=runtime_env, log_to_driver=False, configure_logging=False)
            else:
                ray.init(address="local", runtime_env=runtime_env, log_to_driver=False, configure_logging=False,
                         include_dashboard=False)
    except (ConnectionError, ValueError, RuntimeError, ray.exceptions.RayError) as error:
        reason = first_line(error)
        raise UsageError(f"cannot start Ray or reach the cluster at {address or 'this machine'}: {reason}") from None
    return ray


def check_cluster(ray: ModuleType, options: argparse.Namespace, folder: Path) -> None:
    """Refuse runs that fit no node of this machine's Ray, warn of those that fit no node of a cluster (it may
    grow), and refuse nodes that cannot see the sweep's folder."""
    nodes = [node for node in ray.nodes() if node["Alive"]]
    asked = {"CPU": options.cpus_per_run, "GPU": options.gpus_per_run, "memory": options.memory_per_run * 1e9}
    largest = {kind: max(node["Resources"].get(kind, 0) for node in nodes) for kind in asked}
    if any(asked[kind] > largest[kind] for kind in asked):
        message = (f"each run asks for {options.cpus_per_run:g} CPUs, {options.gpus_per_run:g} GPUs and "
                   f"{options.memory_per_run:g} GB, but the largest node offers {largest['CPU']:g}, {largest['GPU']:g} "
                   f"and {largest['memory'] / 1e9:.1f} GB")
        if not options.address:
            raise UsageError(f"{message}: lower --cpus_per_run, --gpus_per_run or --memory_per_run")
        log.warning("%s: the runs wait until the cluster grows", message)
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    sees = ray.remote(num_cpus=0)(_sees_folder)
    try:
        answers = ray.get([sees.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))
                           .remote(str(folder)) for node in nodes], timeout=120)
    except ray.exceptions.RayError as error:
        raise UsageError(f"the cluster's nodes did not all answer whether they see {folder}: "
                         f"{first_line(error)}") from None
    blind = [node["NodeManagerAddress"] for node, seen in zip(nodes, answers, strict=True) if not seen]
    if blind:
        raise UsageError(f"the nodes at {', '.join(blind)} cannot see {folder}: give --storage a path that every "
                         "node shares (such as an NFS mount)")


def _sees_folder(folder: str) -> bool:
    return (Path(folder) / SWEEP_FILE).is_file() and os.access(folder, os.W_OK)


def _task(spec: RunSpec) -> dict:
    import ray

    context = ray.get_runtime_context()
    return execute_run(spec, node=context.get_node_id(), gpus=context.get_accelerator_ids().get("GPU", []))


def follow(ray: ModuleType, pending: dict, specs: list[RunSpec]) -> int:
    """Show progress as epochs done over all runs until every task ends; how many runs failed."""
    from tqdm import tqdm

    failed = 0
    done, total = sweep_progress(specs)
    with tqdm(total=total, initial=done, unit="epoch", desc="sweep", dynamic_ncols=True) as bar:
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
            for reference in finished:
                spec = pending.pop(reference)
                name = Path(spec.folder).name
                try:
                    summary = ray.get(reference)
                    played = counted(summary["episodes"], "game")
                    bar.write(f"{name}: evaluation mean {summary['mean']:.1f} over {played}")
                except ray.exceptions.RayError as error:
                    failed += 1
                    cause = getattr(error, "cause", None) or error  # a task's own exception, or Ray's reason
                    reason = first_line(cause)
                    write_status(Path(spec.folder), state="failed", error=reason)
                    bar.write(f"{name} failed: {reason}")
            done, _ = sweep_progress(specs)
            bar.update(done - bar.n)
            bar.set_postfix_str(f"runs left {len(pending)}, failed {failed}")
    return failed


if __name__ == "__main__":
    sys.exit(main())
