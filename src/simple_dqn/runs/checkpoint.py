"""Snapshots: everything needed to test, play or resume a run, in a file that cannot run code.

This module alone knows a snapshot's format; each part gives and takes its own state.  Version 3,
``torch.save`` of a dict, loaded with ``weights_only=True``:

- ``format``, ``version``, ``checksum`` (SHA-256 over every other value);
- ``game``, ``actions`` (the action set's names), ``options`` (every option but ``load_weights`` and
  ``resume``), ``epoch``;
- the parts' states: ``network`` (online and target weights, optimizer), ``agent`` (step counters,
  random generator), ``replay_memory`` (its random generator: its transitions are in the replay
  file saved beside, ``replay_file.py``), ``environment`` (the emulator and the generator of no-op
  starts; for several games at once, the generator of seeds, the phase's seeds and the actions sent
  since, which rebuild its games), ``statistics`` (time so far), and ``torch_rng``;
- ``validation_states`` (compressed; None before they are drawn), ``save_id`` (the replay file
  saved with it holds the same), ``replay_saved``;
- ``stopped``: None at an epoch's end, else the phase the run stopped in the middle of, how far it
  went, what it had counted, and the games in progress (``Games.episode_state``: the mode, the lives
  just lost, the states acted on).

A trained agent (``agents/pong.pkl``) is a snapshot of weights only: ``network`` holds the online
weights alone, the other parts' states are None, and ``weights_only`` is True.  It tests, plays and
evaluates as any snapshot does, and starts new runs from its weights, but cannot be resumed.  An
exported agent, a folder of ``model.safetensors`` and ``config.json`` (``agent_folder.py``), loads
as one.

Versions 1 (written before the toolkit was one package) and 2 (up to simple_dqn 2.3.0) are read, version 1
laid out as the current one, to test, play, evaluate, export or start new runs from; a run saved in them is
resumed by simple_dqn 2.3.0, which played its games with the random numbers drawn as they were.
"""

import hashlib
import logging
import secrets
import shutil
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import torch

from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.dqn.settings import shape_options
from simple_dqn.errors import UsageError, first_line
from simple_dqn.files import replace_durably, write_atomically
from simple_dqn.runs.agent_folder import HUB_PREFIX, TrainedAgent, read_agent_folder
from simple_dqn.runs.composition import Parts
from simple_dqn.runs.replay_file import load_replay, replay_save_id, save_replay
from simple_dqn.runs.results_csv import PHASE_ORDER
from simple_dqn.runs.run_files import RunFiles
from simple_dqn.wording import shown

log = logging.getLogger(__name__)
FORMAT = "simple_dqn snapshot"
VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
# Snapshots of the toolkit before 2.1 counted no-op starts in agent steps.
OPTIONS_OF_EARLIER_VERSIONS: dict[str, Any] = {"noop_unit": "steps"}


@dataclass
class StoppedPhase:
    """Where a run stopped in the middle of a phase, to finish it on resuming."""

    phase: str
    steps_done: int
    statistics: dict  # Statistics.phase_so_far()
    episode: dict | None = None  # Games.episode_state(): the games in progress, to go on with


@dataclass(frozen=True)
class Snapshot:
    """A snapshot as loaded: read its fields here, never from the file's dict."""

    path: Path
    contents: dict  # laid out as the current version's; ``version`` the one it was saved in

    @property
    def game(self) -> str:
        return self.contents["game"]

    @property
    def actions(self) -> list[str]:
        return self.contents["actions"]

    @property
    def options(self) -> dict[str, Any]:
        """The options it was saved with; one that the toolkit lacked when it was saved has the value it played
        with then."""
        return {**OPTIONS_OF_EARLIER_VERSIONS, **self.contents["options"]}

    @property
    def epoch(self) -> int:
        return self.contents["epoch"]

    @property
    def save_id(self) -> str:
        return self.contents["save_id"]

    @property
    def replay_saved(self) -> bool:
        return self.contents["replay_saved"]

    @property
    def weights_only(self) -> bool:
        return bool(self.contents.get("weights_only", False))

    @property
    def stopped(self) -> StoppedPhase | None:
        """The phase the run stopped in the middle of, or None when it was saved at an epoch's end."""
        stopped = self.contents["stopped"]
        if not stopped:
            return None
        if stopped.get("phase") not in PHASE_ORDER:
            raise UsageError("the snapshot is damaged: the phase it stopped in is not one of random, train, test")
        episode = stopped.get("episode") if self.contents["version"] == VERSION else None  # none resumes them
        if episode is not None and not (isinstance(episode, dict) and isinstance(episode.get("screens"), torch.Tensor)
                                        and episode["screens"].dtype == torch.uint8
                                        and episode["screens"].dim() == 4):
            raise UsageError("the snapshot is damaged: the games it stopped in cannot be read")
        return StoppedPhase(stopped["phase"], stopped["steps_done"], stopped["statistics"],
                            episode | {"screens": episode["screens"].numpy()} if episode else None)

    @property
    def from_earlier_version(self) -> bool:
        """Saved by simple_dqn 2.3.0 or earlier, whose runs this version cannot go on with exactly."""
        return self.contents["version"] != VERSION

    def resume_point(self) -> tuple[int, str]:
        """Where a resumed run begins: the phase it stopped in the middle of, or the next epoch."""
        stopped = self.stopped
        return (self.epoch, stopped.phase) if stopped else (self.epoch + 1, "train")


def snapshot_nbytes(parts: Parts, validation_size: int) -> int:
    """About what a snapshot of ``parts`` takes: the online and target weights, the optimizer's two running averages
    of each weight, and the validation states (an upper bound: they are stored compressed)."""
    weights = sum(parameter.nbytes for parameter in parts.network.online.parameters())
    return 4 * weights + validation_size * parts.games.state_buffer.screens[0].nbytes


def check_room_for_saves(run: RunFiles | None, parts: Parts, validation_size: int, save_replay_memory: bool) -> None:
    """Refuse, before any work, a run whose first snapshot and replay file cannot fit on their disk, as a replay
    memory that does not fit in memory is refused."""
    if run is None:
        return
    folder = Path(run.prefix).parent
    replay = parts.memory is not None and save_replay_memory
    snapshot = snapshot_nbytes(parts, validation_size)
    if replay and parts.memory is not None and parts.memory.compressed:
        return _check_room(folder, snapshot, "the first snapshot")  # how well screens compress is not known yet
    needed = snapshot + (parts.memory.nbytes if replay and parts.memory is not None else 0)
    _check_room(folder, needed, "the first snapshot and replay file" if replay else "the first snapshot")


def _check_room(folder: Path, needed: int, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise UsageError(f"{what} need {_megabytes(needed)} in {folder} but only {_megabytes(free)} are free: free "
                         "space there, save elsewhere (--save_weights_prefix), or lower --replay_size")


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def save_checkpoint(run: RunFiles, epoch: int, parts: Parts, *, options: dict, validation_states: np.ndarray | None,
                    save_replay_memory: bool, stopped: StoppedPhase | None, last_snapshot: Path | None,
                    saved: Callable[[Path], None]) -> None:
    """The replay memory as pending, then the snapshot, then the pending replay memory in place of the old:
    killed at any moment, the newest snapshot still finds its own replay memory.  ``saved`` is told the snapshot's
    path once both are in place."""
    path = run.snapshot(epoch)
    replay_saved = parts.memory is not None and save_replay_memory
    save_id = secrets.token_hex(8)
    try:
        if parts.memory is not None and replay_saved:
            save_replay(run.pending_replay, parts.memory, save_id, epoch)
        contents = {
            "game": parts.games.game,
            "actions": parts.games.action_names(),
            "options": {name: value for name, value in options.items() if name not in ("load_weights", "resume")},
            "epoch": epoch,
            "network": parts.network.state_dict(),
            "agent": parts.agent.state_dict(),
            "replay_memory": parts.memory.state_dict() if parts.memory is not None else None,
            "environment": parts.games.state_dict(),
            "statistics": parts.statistics.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "validation_states": pack_screens(validation_states) if validation_states is not None else None,
            "save_id": save_id,
            "replay_saved": replay_saved,
            "stopped": _stopped_contents(stopped),
        }
        _write_snapshot(path, contents)
        if run.pending_replay.exists():
            replace_durably(run.pending_replay, run.replay)
    except OSError as error:
        replay = parts.memory.nbytes if parts.memory is not None and replay_saved else 0
        snapshot = snapshot_nbytes(parts, len(validation_states) if validation_states is not None else 0)
        kept = f"; {last_snapshot} is intact: ./resume.sh {last_snapshot}" if last_snapshot else ""
        raise UsageError(f"could not save {path}: {error.strerror or error}; free space in {path.parent} "
                         f"(the replay memory takes about {_megabytes(replay)} more while it is saved beside the "
                         f"old one, the snapshot about {_megabytes(snapshot)}){kept}") from None
    finally:
        run.pending_replay.unlink(missing_ok=True)
    saved(path)  # before the line below: what a second Ctrl-C says was saved is never behind what the log says
    where = f" in the middle of epoch {epoch} {stopped.phase} ({stopped.steps_done} steps)" if stopped else ""
    saved_replay = f" and {run.replay} ({run.replay.stat().st_size / 1e9:.2f} GB)" if run.replay.exists() else ""
    log.info("saved %s%s%s", path, saved_replay, where)


def agent_of(snapshot: Snapshot, file_options: set[str]) -> TrainedAgent:
    """``snapshot``'s online weights, game, action set and options, and nothing it would need to be resumed;
    ``file_options``, the options naming the files of the run it came from, are left out (they name folders of
    the machine it was trained on)."""
    if snapshot.stopped is not None:
        raise UsageError(f"snapshot {snapshot.path} was saved in the middle of a phase: take one saved at an "
                         "epoch's end, whose test phase measured it")
    options = {name: value for name, value in snapshot.options.items() if name not in file_options}
    return TrainedAgent(snapshot.game, snapshot.actions, options, snapshot.epoch,
                        snapshot.contents["network"]["online"])


def save_weights_only(snapshot: Snapshot, path: Path, file_options: set[str]) -> None:
    """The trained agent of ``snapshot`` as a snapshot file."""
    _write_snapshot(path, _weights_only_contents(agent_of(snapshot, file_options)))


def _weights_only_contents(agent: TrainedAgent) -> dict[str, Any]:
    contents: dict[str, Any] = {key: None for key in ("agent", "replay_memory", "environment", "statistics",
                                                      "torch_rng", "validation_states", "stopped")}
    return contents | {"format": FORMAT, "version": VERSION, "game": agent.game, "actions": agent.actions,
                       "options": agent.options, "epoch": agent.epoch, "network": {"online": agent.weights},
                       "save_id": "", "replay_saved": False, "weights_only": True}


def _stopped_contents(stopped: StoppedPhase | None) -> dict | None:
    if stopped is None:
        return None
    episode = stopped.episode
    return {"phase": stopped.phase, "steps_done": stopped.steps_done, "statistics": stopped.statistics,
            "episode": episode | {"screens": torch.from_numpy(episode["screens"])} if episode else None}


def restore(snapshot: Snapshot, parts: Parts, *, resume: bool, allow_empty_replay: bool) -> np.ndarray | None:
    """The weights to test or play; to resume, every part's state and the replay memory saved beside the
    snapshot.  The validation states the run measured meanq on, when it had drawn them."""
    contents = snapshot.contents
    try:
        parts.network.load_state_dict(contents["network"], with_training_state=resume)
    except (RuntimeError, KeyError, ValueError) as error:
        raise UsageError(f"snapshot does not fit this network: {str(error).splitlines()[0]}") from None
    if not resume:
        return None
    parts.agent.load_state_dict(contents["agent"])
    torch.set_rng_state(contents["torch_rng"])
    parts.games.load_state_dict(contents["environment"])
    parts.statistics.load_state_dict(contents["statistics"])
    if parts.memory is not None:
        parts.memory.load_state_dict(contents["replay_memory"])
        _restore_replay(snapshot, parts.memory, allow_empty_replay)
    return unpack_screens(contents["validation_states"]) if contents["validation_states"] is not None else None


def _restore_replay(snapshot: Snapshot, memory: ReplayMemory, allow_empty_replay: bool) -> None:
    """The replay memory saved with the snapshot; an empty one only when the user allows it."""
    run = RunFiles.of_snapshot(snapshot.path)
    if replay_save_id(run.pending_replay) == snapshot.save_id:  # stopped between saving the snapshot and renaming this
        replace_durably(run.pending_replay, run.replay)
    try:
        if not snapshot.replay_saved:
            raise UsageError(f"snapshot {snapshot.path} was saved without its replay memory "
                             "(--save_replay_memory false)")
        load_replay(run.replay, memory, snapshot.save_id, snapshot.epoch)
    except UsageError as error:
        if not allow_empty_replay:
            raise UsageError(f"{error}; resume with --allow_empty_replay true to go on with an empty replay "
                             "memory (the run then differs from one never interrupted)") from None
        log.warning("%s; going on with an empty replay memory, as --allow_empty_replay asks", error)
        memory.clear()
        return
    log.info("loaded %s: %d transitions", run.replay, memory.count)


def _write_snapshot(path: Path, contents: dict) -> None:
    stamped = {"format": FORMAT, "version": VERSION, **contents}
    stamped["checksum"] = checksum(stamped)
    write_atomically(Path(path), lambda file: _save_tensors(stamped, file))


class _WriteFailures:
    """``file``'s writes, keeping what made one fail: torch.save's zip writer turns the OSError into a RuntimeError
    of its own ("[enforce fail at inline_container.cc...] file write failed"), which hides the cause.  The error's
    number and words are kept, not the error: its traceback would hold this object in a cycle, alive at exit."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.failure: tuple[int, str] | None = None  # errno and strerror

    def write(self, data: bytes) -> int:
        try:
            return self.file.write(data)
        except OSError as error:
            self.failure = (error.errno or 0, error.strerror or str(error))
            raise

    def flush(self) -> None:
        self.file.flush()


def _save_tensors(contents: dict, file: BinaryIO) -> None:
    """``torch.save``, raising the OSError of a write that failed (a full disk, a file over its size limit)."""
    writes = _WriteFailures(file)
    try:
        torch.save(contents, cast(BinaryIO, writes))  # a file to torch.save, which only writes and flushes
        return
    except RuntimeError as error:
        failed = first_line(error)
    raise OSError(*writes.failure) if writes.failure else OSError(failed)  # outside the except: no chain to keep


def pack_screens(array: np.ndarray) -> dict:
    """uint8 screens as a compressed tensor: Atari screens shrink tenfold or more."""
    packed = np.frombuffer(zlib.compress(array.tobytes(), 6), dtype=np.uint8).copy()
    return {"zlib": torch.from_numpy(packed), "shape": tuple(array.shape)}


def unpack_screens(packed: dict) -> np.ndarray:
    # A bytearray, so the states are writable, as PyTorch wants of the arrays it wraps.
    screens = bytearray(zlib.decompress(packed["zlib"].numpy().tobytes()))
    return np.frombuffer(screens, dtype=np.uint8).reshape(packed["shape"])


def checksum(contents: dict) -> str:
    """SHA-256 over every value, tensors by their bytes: catches damage that still unpickles."""
    digest = hashlib.sha256()
    _update(digest, contents)
    return digest.hexdigest()


def _update(digest: "hashlib._Hash", value: object) -> None:
    if isinstance(value, torch.Tensor):
        digest.update(f"{value.dtype}{tuple(value.shape)}".encode())
        digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode())
            _update(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"[{len(value)}".encode())
        for item in value:
            _update(digest, item)
    else:
        digest.update(repr(value).encode())


def load_snapshot(path: str | Path) -> Snapshot:
    """The snapshot's contents, or a UsageError saying why the file is not a usable snapshot; an exported agent's
    folder is read as a weights-only snapshot, an agent on the Hub (hf://USER/NAME) fetched first."""
    if str(path).startswith(HUB_PREFIX):
        from simple_dqn.runs.hub_agents import download  # huggingface_hub adds 0.15 s to a start: only for its agents
        path = download(str(path))
    path = Path(path)
    if not path.exists():
        raise UsageError(f"snapshot {path} does not exist")
    if path.is_dir():
        return Snapshot(path, _weights_only_contents(read_agent_folder(path)))
    if not path.is_file():
        raise UsageError(f"snapshot {path} is not a file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file fails in many ways inside torch.load; each means the same here
        if "Unsupported global" in str(error):
            raise UsageError(f"{path} is not a simple_dqn snapshot: it holds Python objects, not just weights "
                             "and plain data, and is not loaded because it could run code") from None
        raise UsageError(f"snapshot {path} is corrupt, truncated or not a snapshot file") from None
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise UsageError(f"{path} is not a simple_dqn snapshot")
    if contents.get("version") not in READABLE_VERSIONS:
        raise UsageError(f"snapshot {path} has format version {contents.get('version')}; this version reads "
                         f"{' and '.join(map(str, READABLE_VERSIONS))}")
    stored = contents.pop("checksum", None)
    if stored != checksum(contents):
        raise UsageError(f"snapshot {path} is corrupt: its contents do not match the checksum saved with them")
    try:
        return Snapshot(path, contents if contents["version"] != 1 else _upgraded_from_version_1(contents))
    except (KeyError, TypeError):
        raise UsageError(f"snapshot {path} is damaged: it lacks what its format version holds") from None


def _upgraded_from_version_1(old: dict) -> dict:
    """Version 1 kept the counters, random generators and emulator apart from the parts they belong to."""
    counters, rng = old["counters"], old["rng"]
    return {
        "format": FORMAT, "version": 1, "game": old["game"], "actions": old["actions"],
        "options": old["options"], "epoch": old["epoch"], "network": old["network"],
        "agent": {"total_train_steps": counters["total_train_steps"], "weight_updates": counters["weight_updates"],
                  "rng": rng["agent"]},
        "replay_memory": {"rng": rng["memory"]},
        "environment": {"emulator": old["emulator"]} if "emulator" in old else None,
        "statistics": {"total_time": counters["total_time"]},
        "torch_rng": rng["torch"],
        "validation_states": old["validation_states"],
        "save_id": old.get("save_id", ""),
        "replay_saved": old.get("replay_saved", True),
        "stopped": old.get("interrupted"),
    }




def check_compatible(snapshot: Snapshot, game: str, action_names: list[str], options: dict, resume: bool) -> None:
    """A snapshot only drives the game, the action set and the network shape it was trained with; a run resumes
    only with the games at once it was playing, whose replay streams and games in progress it keeps."""
    path = snapshot.path
    games = snapshot.options.get("num_envs", 1)
    if resume and options["num_envs"] != games:
        raise UsageError(f"snapshot {path} was saved by a run of --num_envs {games}: resume it with that")
    if snapshot.game != game:
        raise UsageError(f"snapshot {path} was trained on {snapshot.game}, not {game}")
    if snapshot.actions != action_names:
        raise UsageError(
            f"snapshot {path} was trained with {len(snapshot.actions)} actions ({', '.join(snapshot.actions)}), "
            f"but this environment has {len(action_names)} ({', '.join(action_names)})"
        )
    for name in shape_options():
        trained_with = snapshot.options.get(name, False)  # a head option that earlier versions lacked was off
        if options[name] != trained_with:
            raise UsageError(f"snapshot {path} was trained with --{name} {shown(trained_with)}, "
                             f"not {shown(options[name])}: the network's shape depends on it")
