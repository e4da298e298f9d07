"""Every option of a run, as the settings groups declare them: the aggregate, and what the declarations say.

Each group is declared beside the part it configures (``dqn/settings.py``, ``runs/settings.py``,
``watch/settings.py``), each option once, with ``option.py``'s ``option``.
"""

import dataclasses
from collections.abc import Iterator
from typing import Any, cast

from simple_dqn.dqn.settings import AgentSettings, EnvironmentSettings, NetworkSettings, ReplaySettings
from simple_dqn.option import Declaration, SetBy, SettingsGroup
from simple_dqn.runs.settings import CommonSettings, EvaluationSettings, LoopSettings
from simple_dqn.watch.settings import DisplaySettings, VisualizationSettings


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every option of a run, by group, in the order --help shows them."""

    environment: EnvironmentSettings
    replay: ReplaySettings
    network: NetworkSettings
    agent: AgentSettings
    loop: LoopSettings
    evaluation: EvaluationSettings
    display: DisplaySettings
    visualization: VisualizationSettings
    common: CommonSettings

    @classmethod
    def groups(cls) -> list[type[SettingsGroup]]:
        return [cast(type[SettingsGroup], field.type) for field in dataclasses.fields(cls)]

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "Settings":
        return cls(*(group.from_values(values) for group in cls.groups()))

    def values(self) -> dict[str, Any]:
        """Every option by name: what a snapshot keeps of them."""
        return {field.name: getattr(group, field.name)
                for group in (getattr(self, part.name) for part in dataclasses.fields(self))
                for field in dataclasses.fields(group)}


def declarations() -> Iterator[tuple[type[SettingsGroup], dataclasses.Field, Declaration]]:
    for group in Settings.groups():
        for field, declaration in group.declarations():
            yield group, field, declaration


def flags(declaration: Declaration, name: str) -> list[str]:
    return [name] if declaration.positional else [f"--{name}", *declaration.aliases]


def flags_set_by(command: SetBy) -> list[str]:
    """Every spelling of the options ``command`` sets itself."""
    return [flag for _, field, declaration in declarations() if command in declaration.set_by
            for flag in flags(declaration, field.name)]


def file_options() -> set[str]:
    """The options that name the files a run reads and writes, which config files leave to the command line."""
    return {field.name for _, field, declaration in declarations() if not declaration.in_config}
