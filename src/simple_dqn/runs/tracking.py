"""Weights & Biases for ``--track true``: the TensorBoard events of a run mirrored to a W&B run, and wandb
installed the first time it is asked for (requirements-track.txt, through ``first_use``).
"""

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from simple_dqn.errors import UsageError, first_line
from simple_dqn.files import TOOLKIT_ROOT
from simple_dqn.first_use import installed
from simple_dqn.runs.run_files import live_curves_folder, tracking_folder

TRACK_REQUIREMENTS = TOOLKIT_ROOT / "requirements-track.txt"


class Tracking:
    """A Weights & Biases run per process, fed from the TensorBoard events (wandb's TensorBoard sync): one source
    of truth.  A resumed run is a W&B run of its own, from the step it resumed at; W&B cannot drop points, so what
    a killed run logged past its snapshot stays in that run."""

    def __init__(self, wandb: ModuleType, project: str, entity: str | None) -> None:
        self.wandb, self.project, self.entity = wandb, project, entity
        self.run: Any = None

    def start(self, csv_path: Path, options: dict[str, Any]) -> None:
        """A W&B run named by the CSV's path without its suffix (from the working folder when inside it:
        ``results/breakout``), the options as its config."""
        name = csv_path.with_suffix("").resolve()
        if name.is_relative_to(Path.cwd()):
            name = name.relative_to(Path.cwd())
        # The run's own folder as the root: its tags keep their names in W&B (no folder prefixed), and wandb is
        # spared its wait for a root of its own guessing.
        self.wandb.tensorboard.patch(root_logdir=str(live_curves_folder(csv_path)))
        try:
            self.run = self.wandb.init(project=self.project, entity=self.entity, dir=tracking_folder(csv_path),
                                       name=str(name), config=options)
        except self.wandb.errors.Error as error:
            self.wandb.tensorboard.unpatch()
            raise UsageError(f"Weights & Biases could not start the run: {first_line(error)} (log in with "
                             f"{Path(sys.executable).parent / 'wandb'} login, or set WANDB_MODE=offline)") from None

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None
            self.wandb.tensorboard.unpatch()


def installed_wandb() -> ModuleType:
    """wandb, added to this Python's environment the first time ``--track`` asks for it; nothing else imports it."""
    return installed("wandb", TRACK_REQUIREMENTS)
