"""A run's files: where they go, the checks made before anything is changed, and the changes made once every
check has passed, so a refused run leaves an earlier run's files as they were."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from simple_dqn.runs.checkpoint import Snapshot
from simple_dqn.runs.run_files import (
    RunFiles,
    check_results_file,
    output_file,
    output_folder,
    output_paths,
    refuse_to_overwrite,
    refuse_to_overwrite_later_snapshots,
    remove_unfinished_writes_of_run,
    trim_results,
)
from simple_dqn.runs.run_record import add_resume, check_record_path, record_path, write_run_record
from simple_dqn.runs.settings import CommonSettings, EvaluationSettings, LoopSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutputs:
    """Where a run writes, each path with ``{game}`` filled in; None for what it does not write."""

    csv_path: Path | None
    run_files: RunFiles | None  # its snapshots and replay memory
    results_folder: Path | None  # an evaluation's
    visualization_path: Path | None
    resume_point: tuple[int, str] | None  # where a resumed run goes on: (epoch, phase)


def plan_outputs(loop: LoopSettings, evaluation: EvaluationSettings, visualization_file: str | None,
                 common: CommonSettings, name: str, snapshot: Snapshot | None) -> RunOutputs:
    """The run's paths, their folders checked for writing, and the refusals that keep it from overwriting another
    run's files; nothing is changed yet."""
    csv_path, run_files = output_paths(loop.csv_file, loop.save_weights_prefix, name)
    results_folder = output_folder(evaluation.results_folder, "evaluation results", game=name,
                                   protocol=evaluation.protocol or "custom")
    visualization_path = output_file(visualization_file, name, "visualization")
    resume_point = snapshot.resume_point() if snapshot is not None and loop.resume else None
    if snapshot is not None and resume_point is not None:
        refuse_to_overwrite_later_snapshots(run_files, snapshot.epoch, str(loop.load_weights))
    elif loop.trains:
        refuse_to_overwrite(run_files, csv_path)
    if loop.trains:
        check_results_file(csv_path)
    if loop.trains and csv_path:
        check_record_path(record_path(csv_path), common.config)
    return RunOutputs(csv_path, run_files, results_folder, visualization_path, resume_point)


def prepare_outputs(outputs: RunOutputs, loop: LoopSettings, command: list[str], device: torch.device,
                    options: dict[str, Any], file_options: set[str]) -> None:
    """Every check has passed: only now change the files an earlier run left, and record how this one began."""
    csv_path, resume_point = outputs.csv_path, outputs.resume_point
    if loop.trains:
        remove_unfinished_writes_of_run(csv_path, outputs.run_files)
    if resume_point is not None:
        trim_results(csv_path, *resume_point)
    elif loop.trains and csv_path and csv_path.exists():
        log.warning("replacing %s: no snapshot of its run exists to continue it", csv_path)
        csv_path.unlink()
    if loop.trains and csv_path and resume_point is not None:
        add_resume(record_path(csv_path), command, device, *resume_point, options)
    elif loop.trains and csv_path:
        write_run_record(record_path(csv_path), command, options, file_options, device)
