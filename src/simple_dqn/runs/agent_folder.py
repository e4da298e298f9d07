"""A trained agent as a folder in the layout of a Hugging Face model repository: its format, written and read here.

``model.safetensors`` holds the online network's weights and nothing else: safetensors is tensors
and a JSON header, so loading it can never run code.  ``config.json`` holds what the weights need
to play, version 1:

- ``format`` ("simple_dqn agent"), ``version``, ``toolkit_version`` (the toolkit that wrote it);
- ``game`` (ale-py's name), ``actions`` (the action set's names, in the network's output order),
  ``epoch`` (the snapshot's);
- ``options``: every option the snapshot kept but those naming the files of the machine it was
  trained on, as a snapshot's ``options`` (the environment and network options among them).

Reading refuses, in one line, a folder whose files are not these: a model file that is not
safetensors, a config without its keys or with an option the command line would refuse, tensors
missing, extra or of shapes that do not fit the network that config describes.  The folder then
plays as a weights-only snapshot does (``checkpoint.load_snapshot``).
"""

import argparse
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from simple_dqn import __version__
from simple_dqn.dqn.deepqnetwork import NatureNetwork
from simple_dqn.dqn.settings import DQN_GROUPS, NetworkSettings, shape_options
from simple_dqn.errors import UsageError
from simple_dqn.files import write_atomically

HUB_PREFIX = "hf://"  # an exported agent on the Hugging Face Hub: hf://USER/NAME

FORMAT = "simple_dqn agent"
VERSION = 1
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
# The options a network's shape and the environment it plays in cannot do without.
REQUIRED_OPTIONS = ("game", "environment", *shape_options())


@dataclass(frozen=True)
class TrainedAgent:
    """What a trained agent is: the online weights, and the game, action set and options they play with."""

    game: str
    actions: list[str]
    options: dict[str, Any]
    epoch: int
    weights: dict[str, torch.Tensor]


def write_agent_folder(folder: Path, agent: TrainedAgent) -> None:
    """``model.safetensors`` and ``config.json`` in ``folder``, each written atomically."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in agent.weights.items()}
    config = {"format": FORMAT, "version": VERSION, "toolkit_version": __version__, "game": agent.game,
              "actions": agent.actions, "epoch": agent.epoch, "options": agent.options}
    folder = Path(folder)
    write_atomically(folder / MODEL_FILE, lambda file: file.write(save(tensors, metadata={"format": "pt"})))
    write_atomically(folder / CONFIG_FILE, lambda file: file.write(json.dumps(config, indent=2).encode() + b"\n"))


def is_agent_folder(folder: Path) -> bool:
    """Whether ``folder`` looks like an exported agent (its config names the format); not whether it is sound."""
    try:
        return json.loads((Path(folder) / CONFIG_FILE).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_agent_folder(folder: Path) -> TrainedAgent:
    """The agent in ``folder``, or a UsageError saying what makes it unusable."""
    folder = Path(folder)
    config = _read_config(folder)
    agent = TrainedAgent(config["game"], config["actions"], config["options"], config["epoch"],
                         _read_weights(folder / MODEL_FILE))
    _check_shapes(folder, agent)
    return agent


def _read_config(folder: Path) -> dict:
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise UsageError(f"snapshot {folder} is not a file, nor an exported agent's folder: it has no {CONFIG_FILE} "
                         "(./export.sh writes one)")
    try:
        config = json.loads(path.read_bytes())
    except (OSError, ValueError):
        raise UsageError(f"{path} cannot be read as JSON") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise UsageError(f"{path} is not the config of an agent that simple_dqn exported")
    if config.get("version") != VERSION:
        raise UsageError(f"{path} has format version {config.get('version')}; this version reads {VERSION}")
    kinds = {"game": str, "actions": list, "epoch": int, "options": dict}
    for key, kind in kinds.items():
        if key not in config:
            raise UsageError(f"{path} lacks '{key}'")
        if not isinstance(config[key], kind) or isinstance(config[key], bool):
            raise UsageError(f"{path}: '{key}' is not {'an integer' if kind is int else 'a ' + kind.__name__}")
    if not config["actions"] or not all(isinstance(action, str) for action in config["actions"]):
        raise UsageError(f"{path}: 'actions' is not a list of action names")
    missing = [name for name in REQUIRED_OPTIONS if name not in config["options"]]
    if missing:
        raise UsageError(f"{path} lacks the option {missing[0]} in 'options'")
    if not isinstance(config["options"]["game"], str):
        raise UsageError(f"{path}: option game is not the name of a game or a Gymnasium id")
    _check_options(path, config["options"])
    return config


def _check_options(path: Path, options: dict[str, Any]) -> None:
    """Each option of the DQN's parts, which a snapshot hands to the run, must be one the command line would take."""
    for group in DQN_GROUPS:
        for field, declaration in group.declarations():
            if field.name not in options or (options[field.name] is None and field.default is None):
                continue  # an option left out plays with its default
            value, why = options[field.name], ""
            try:
                taken = declaration.parse(str(value)) if declaration.parse else value
            except (ValueError, argparse.ArgumentTypeError) as error:
                taken, why = None, f": {error}"
            same_kind = type(taken) is type(value) or (type(taken) is float and type(value) is int)
            fits = taken == value and same_kind and isinstance(value, (str, int, float))
            if not fits or (declaration.choices is not None and value not in declaration.choices):
                raise UsageError(f"{path}: option {field.name} is {json.dumps(value)}, which --{field.name} does "
                                 f"not take{why}")


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise UsageError(f"{path} does not exist: an exported agent keeps its weights there")
    try:
        return load(path.read_bytes())
    except (OSError, SafetensorError):
        raise UsageError(f"{path} is not a safetensors file, or is damaged") from None


def network_shapes(num_actions: int, options: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shape of each tensor of the network ``options`` describe, built without memory or random numbers."""
    network_options = {field.name: options[field.name] for field in fields(NetworkSettings) if field.name in options}
    with torch.device("meta"):
        network = NatureNetwork(num_actions, options["history_length"],
                                (options["screen_height"], options["screen_width"]),
                                head=NetworkSettings(**network_options).head)
    return {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()}


def _check_shapes(folder: Path, agent: TrainedAgent) -> None:
    options = agent.options
    expected = network_shapes(len(agent.actions), options)
    described = (f"the network {CONFIG_FILE} describes ({len(agent.actions)} actions, states of "
                 f"{options['history_length']}x{options['screen_height']}x{options['screen_width']}"
                 f"{', dueling' if options.get('dueling') else ''})")
    path = folder / MODEL_FILE
    for name, shape in expected.items():
        if name not in agent.weights:
            raise UsageError(f"{path} lacks the tensor {name} of {described}")
        tensor = agent.weights[name]
        if tuple(tensor.shape) != shape:
            raise UsageError(f"{path}: tensor {name} has shape {_dimensions(tensor.shape)}, but {described} needs "
                             f"{_dimensions(shape)}")
        if not tensor.is_floating_point():
            raise UsageError(f"{path}: tensor {name} holds {tensor.dtype}, not floating-point weights")
    extra = sorted(set(agent.weights) - set(expected))
    if extra:
        raise UsageError(f"{path} holds the tensor {extra[0]}, which {described} lacks")


def _dimensions(shape: tuple[int, ...] | torch.Size) -> str:
    return "x".join(map(str, shape))
