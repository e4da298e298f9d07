"""The settings of a run: its phases and files, its evaluation, and what every run shares."""

from dataclasses import dataclass

from simple_dqn.config_file import preset_names
from simple_dqn.option import BY_SWEEP, SettingsGroup, boolean, count, option, positive_int
from simple_dqn.runs.evaluation import PROTOCOLS


@dataclass(frozen=True)
class LoopSettings(SettingsGroup, title="main loop", from_snapshot="resume"):
    random_steps: int = option(50_000, "Random steps filling replay memory before learning.", parse=count)
    train_steps: int = option(250_000, "Training steps per epoch.", parse=count)
    test_steps: int = option(125_000, "Test steps after each epoch.", parse=count)
    epochs: int = option(200, "Epochs to run (a resumed run counts the epochs it already has).", parse=positive_int)
    play_games: int = option(0, "Play this many games with the test exploration rate, instead of training.",
                             parse=count, aliases=("--episodes",), set_by=("sweep", "profile"))
    validation_size: int = option(500, "States drawn once from replay memory on which meanq (the average max "
                                  "Q-value) is measured.", parse=positive_int)
    load_weights: str | None = option(None, "Load this snapshot; it supplies the game and the environment, replay "
                                      "memory, network and agent options, unless given here.",
                                      from_snapshot="never", set_by=BY_SWEEP, in_config=False)
    resume: bool = option(False, "With --load_weights: continue that training run where it stopped.", flag=True,
                          from_snapshot="never", set_by=BY_SWEEP, in_config=False)
    save_weights_prefix: str | None = option(None, "Save a snapshot after each epoch to PREFIX_EPOCH.pkl; {game} is "
                                             "replaced by the game's name.", placeholders=("{game}",),
                                             set_by=("sweep",), in_config=False, writes="prefix")
    csv_file: str | None = option(None, "Write one row per phase to this CSV file; {game} is replaced by the game's "
                                  "name.", placeholders=("{game}",), set_by=("sweep", "profile"),
                                  in_config=False, writes="file")
    # Where this process's curves go, not what the agent learns: a snapshot (perhaps another's) never sets them.
    tensorboard: bool = option(True, "Write a training run's TensorBoard events beside its CSV (RESULTS/tensorboard/"
                               "NAME/ for RESULTS/NAME.csv): each phase's figures, each game's score and length, "
                               "the loss, the options.", parse=boolean, from_snapshot="never")
    track: bool = option(False, "Mirror the TensorBoard events to Weights & Biases (wandb, added to .venv on first "
                         "use from requirements-track.txt); WANDB_MODE=offline keeps the run on disk.", parse=boolean,
                         from_snapshot="never")
    wandb_project: str = option("simple_dqn", "The Weights & Biases project --track logs to.", metavar="NAME",
                                from_snapshot="never")
    wandb_entity: str | None = option(None, "The Weights & Biases user or team --track logs to; by default, the "
                                      "login's own.", metavar="NAME", from_snapshot="never")

    @property
    def trains(self) -> bool:
        """Whether the run trains (and writes a CSV, snapshots and a run record), rather than tests or plays."""
        return not self.play_games and (self.random_steps > 0 or self.train_steps > 0)


@dataclass(frozen=True)
class EvaluationSettings(SettingsGroup, title="evaluation", from_snapshot="never"):
    protocol: str | None = option(
        None, "Evaluate as a paper did: nature (30 games, 1 to 30 no-op frames, epsilon 0.05, 18,000 frames, no sticky "
        "actions), machado (sticky actions 0.25, no no-ops, 108,000 frames) or gym (100 games as the Gymnasium id "
        "defines them); sets --play_games and the options it names, unless given.", choices=tuple(PROTOCOLS),
        set_by=BY_SWEEP)
    results_folder: str | None = option(
        None, "Write each played game (episodes.csv) and their summary (summary.json) here; {game} is replaced by "
        "the game's name and {protocol} by the protocol's.", placeholders=("{game}", "{protocol}"), set_by=BY_SWEEP,
        in_config=False, writes="folder")


@dataclass(frozen=True)
class CommonSettings(SettingsGroup, title="common", from_snapshot="resume"):
    preset: str | None = option(
        None, "Read options from the preset NAME (src/simple_dqn/presets/NAME.yaml): nature (the paper), fast "
        "(learns in the fewest steps on a CPU), cleanrl, dopamine, smoke (every phase in about 20 seconds). The "
        "command line wins over it; a snapshot resumed or tested keeps its own options unless this or the command "
        "line says otherwise.",
        choices=preset_names(), from_snapshot="never", in_config=False)
    config: str | None = option(None, "Read options from this YAML file of option: value lines (or a run record, "
                                "results/RUN.yaml), after --preset's and before the command line's.",
                                from_snapshot="never", in_config=False)
    random_seed: int | None = option(None, "Seed for repeatable runs (on the CPU); a random one is drawn and logged "
                                     "when absent.", parse=count, set_by=BY_SWEEP)
    log_level: str = option("INFO", "Log level.", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
                            from_snapshot="never")
    progress: bool = option(True, "Show a progress bar with steps per second during each phase.", parse=boolean,
                            from_snapshot="never")
