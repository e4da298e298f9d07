"""Options read from a YAML file (``--config FILE``, ``--preset NAME``), the way RL Zoo keeps hyperparameters.

A config file maps option names to values (``learning_rate: 1.0e-4``); a run record (``run_record.py``)
is one too, through its ``options`` section.  Each value is checked as the command line checks it.
"""

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from simple_dqn.errors import UsageError
from simple_dqn.option import did_you_mean

PRESETS_FOLDER = Path(__file__).resolve().parent / "presets"  # package data, so an installed toolkit has them too


def preset_names() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in PRESETS_FOLDER.glob("*.yaml")))


def preset_path(name: str) -> Path:
    return PRESETS_FOLDER / f"{name}.yaml"


def read_config(path: str | Path, declared: dict[str, dataclasses.Field]) -> dict[str, Any]:
    """The options ``path`` sets, checked and converted; ``declared``: every option's settings field by name."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:  # ValueError: a NUL byte in the path
        raise UsageError(f"cannot read config file {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        contents = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"config file {path} is not valid YAML{where}") from None
    if contents is None:
        return {}
    if isinstance(contents, dict) and isinstance(contents.get("options"), dict):
        contents = contents["options"]  # a run record
    if not isinstance(contents, dict):
        raise UsageError(f"config file {path} must map option names to values, such as 'learning_rate: 1.0e-4'")
    options = {}
    for key, value in contents.items():
        name = str(key).replace("-", "_")
        if name not in declared:
            hint = did_you_mean(name, declared)
            raise UsageError(f"config file {path}: unknown option '{key}'{': ' + hint if hint else ''}")
        if not declared[name].metadata["declaration"].in_config:
            raise UsageError(f"config file {path}: {name} is given on the command line only (it names what a run "
                             "reads, writes or continues)")
        options[name] = _converted(path, name, value, declared[name])
    return options


def _converted(path: Path, name: str, value: Any, field: dataclasses.Field) -> Any:
    declaration = field.metadata["declaration"]
    if value is None:
        if field.default is not None:
            raise UsageError(f"config file {path}: {name} needs a value")
        return None
    if isinstance(value, dict | list):
        raise UsageError(f"config file {path}: {name} takes one value, not a {type(value).__name__}")
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if declaration.choices is not None and text not in declaration.choices:
        raise UsageError(f"config file {path}: {name}: '{text}' is not one of {', '.join(declaration.choices)}")
    if declaration.parse is None:
        return text
    try:
        return declaration.parse(text)
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"config file {path}: {name}: {error}") from None

