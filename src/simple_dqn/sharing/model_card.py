"""README.md of an exported agent: a model card whose front matter the Hugging Face Hub reads.

The front matter names the library and the tags the Hub filters by, and, after an evaluation, a
``model-index`` of the task (reinforcement-learning), the dataset (the Gymnasium id of the game as
it was played) and two metrics: ``mean_reward`` as "mean +/- std", the convention of the Hub's
reinforcement-learning cards, and the human-normalised score in percent, each with the protocol
that measured it.  The body says how to play the agent with this toolkit, the evaluation's
figures, and the options it plays with.
"""

from typing import Any

from huggingface_hub import EvalResult, ModelCardData

from simple_dqn import __version__
from simple_dqn.dqn.gym_environment import atari_ids
from simple_dqn.runs.agent_folder import CONFIG_FILE, MODEL_FILE, TrainedAgent
from simple_dqn.runs.hub_agents import LIBRARY
from simple_dqn.wording import counted, shown

# Where the card names its own repository before it has one: ./upload.sh puts the id it uploads to in its place.
REPOSITORY_PLACEHOLDER = "USER/NAME"
SUMMARY_FILE, EPISODES_FILE, VIDEO_FILE = "summary.json", "episodes.csv", "replay.mp4"
FRAMES_PER_SECOND = 60


def environment_id(game: str, environment: str) -> str:
    """The Gymnasium id of what was played: the id itself on Gymnasium; for ale-py's own interface, the id of the
    game unpreprocessed (``BreakoutNoFrameskip-v4``), as the Hub's Atari agents name it, or ale-py's ``v5``."""
    backend, _, name = environment.partition(" ")
    if backend == "gym" and name:
        return name
    title = "".join(part.capitalize() for part in game.split("_"))
    known = atari_ids()
    return next((env_id for env_id in (f"{title}NoFrameskip-v4", f"ALE/{title}-v5") if env_id in known), game)


def model_card(agent: TrainedAgent, summary: dict[str, Any] | None, repo_id: str | None,
               video_frames: int | None) -> str:
    """The card's text; ``summary`` is the evaluation's summary.json, ``video_frames`` the replay's length."""
    environment = summary["environment"] if summary else f"{agent.options['environment']} {agent.options['game']}"
    env_id = environment_id(agent.game, environment)
    data = ModelCardData(library_name=LIBRARY, model_name="DQN",
                         tags=list(dict.fromkeys(["reinforcement-learning", "deep-q-learning",
                                                  "deep-reinforcement-learning", "atari", agent.game, env_id,
                                                  LIBRARY])),
                         eval_results=_eval_results(summary, env_id) if summary else None)
    repository = repo_id or REPOSITORY_PLACEHOLDER
    sections = [_introduction(agent, env_id), _how_to_play(repository, agent),
                _evaluation(summary) if summary else _not_evaluated(),
                _files(agent, summary is not None, video_frames), _options(agent)]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n"


def name_repository(card: str, repo_id: str) -> str:
    """The card with its placeholder repository replaced by ``repo_id``."""
    return card.replace(f"hf://{REPOSITORY_PLACEHOLDER}", f"hf://{repo_id}")


def names_placeholder(card: str) -> bool:
    return f"hf://{REPOSITORY_PLACEHOLDER}" in card


def _eval_results(summary: dict[str, Any], env_id: str) -> list[EvalResult]:
    protocol = {"protocol": summary["protocol"], "episodes": summary["episodes"]}
    common: dict[str, Any] = {"task_type": "reinforcement-learning", "task_name": "reinforcement-learning",
                              "dataset_type": env_id, "dataset_name": env_id, "verified": False}
    results = [EvalResult(metric_type="mean_reward", metric_name="mean_reward",
                          metric_value=f"{summary['mean']:.2f} +/- {summary['std']:.2f}", metric_args=protocol,
                          **common)]
    if "human_normalised_percent" in summary:
        results.append(EvalResult(metric_type="human_normalised_score", metric_name="human-normalised score (%)",
                                  metric_value=round(summary["human_normalised_percent"], 1),
                                  metric_args={**protocol, "table": summary["normalised_with"]["table"]}, **common))
    return results


def _introduction(agent: TrainedAgent, env_id: str) -> str:
    dueling = " with a dueling head" if agent.options.get("dueling") else ""
    return (f"# DQN playing {agent.game}\n\n"
            f"A Nature DQN (Mnih et al. 2015){dueling} that plays **{agent.game}** (`{env_id}`) from screens, "
            f"with {counted(len(agent.actions), 'action')} ({', '.join(agent.actions)}): the online network of the "
            f"snapshot of epoch {agent.epoch}, trained and exported by {LIBRARY} {__version__}.")


def _how_to_play(repository: str, agent: TrainedAgent) -> str:
    protocol = "gym" if agent.options["environment"] == "gym" else "nature"
    script = "./test_gym.sh" if protocol == "gym" else "./evaluate.sh"
    return ("## Play it\n\n"
            f"In a checkout of {LIBRARY}, whose scripts fetch it from the Hub once and keep it in the Hugging Face "
            "cache:\n\n"
            "```\n"
            f"./play.sh hf://{repository}        # watch it play, in a window or in the terminal\n"
            f"{script} hf://{repository}    # evaluate it: the {protocol} protocol\n"
            f"./record.sh hf://{repository}      # a video of a game\n"
            "```")


def _evaluation(summary: dict[str, Any]) -> str:
    normalised = (f"{summary['human_normalised_percent']:.0f}%" if "human_normalised_percent" in summary
                  else "unknown")
    paper = f"{summary['paper_dqn']:g}" if summary.get("paper_dqn") is not None else "-"
    rows = ["| protocol | games | mean ± std | min | max | human-normalised | the paper's DQN |",
            "|---|---:|---:|---:|---:|---:|---:|",
            f"| {summary['protocol']} | {summary['episodes']} | {summary['mean']:.1f} ± {summary['std']:.1f} | "
            f"{summary['min']:g} | {summary['max']:g} | {normalised} | {paper} |"]
    settings = summary.get("settings") or {}
    played = ", ".join(f"`{name}: {'-' if value is None else shown(value)}`" for name, value in settings.items())
    lines = ["## Evaluation", "\n".join(rows)]
    if played:
        lines.append(f"Played with: {played}; random seed {summary.get('random_seed')}.")
    if summary.get("overrides"):
        changed = ", ".join(f"`--{name} {shown(value)}`" for name, value in summary["overrides"].items())
        lines.append(f"Not the protocol's own settings: {changed}.")
    if "normalised_with" in summary:
        table = summary["normalised_with"]
        lines.append(f"Human-normalised: 100 * (score - random) / (human - random), with human {table['human']:g} "
                     f"and random {table['random']:g} from {table['table']}.")
    versions = summary.get("versions") or {}
    if versions:
        lines.append("Versions: " + ", ".join(f"{package} {version}" for package, version in versions.items()) + ".")
    lines.append(f"Each game's return and length are in `{EPISODES_FILE}`, the figures in `{SUMMARY_FILE}`.")
    return "\n\n".join(lines)


def _not_evaluated() -> str:
    return ("## Evaluation\n\n"
            "Not evaluated with this export: `./export.sh SNAPSHOT --evaluate` plays the evaluation and adds it.")


def _files(agent: TrainedAgent, evaluated: bool, video_frames: int | None) -> str:
    rows = [f"| `{MODEL_FILE}` | the online network's weights (safetensors: loading it cannot run code) |",
            f"| `{CONFIG_FILE}` | the game, the action set, every option and the toolkit's version |",
            "| `README.md` | this card |"]
    if evaluated:
        rows += [f"| `{SUMMARY_FILE}` | the evaluation's figures, protocol, settings and versions |",
                 f"| `{EPISODES_FILE}` | each evaluation game's return and length in emulator frames |"]
    if video_frames:
        rows.append(f"| [`{VIDEO_FILE}`]({VIDEO_FILE}) | a game played with epsilon "
                    f"{shown(agent.options.get('exploration_rate_test'))}, at most "
                    f"{video_frames / FRAMES_PER_SECOND:g} seconds of it |")
    return "## Files\n\n| file | holds |\n|---|---|\n" + "\n".join(rows)


def _options(agent: TrainedAgent) -> str:
    rows = "\n".join(f"| `{name}` | {'-' if value is None else f'`{shown(value)}`'} |"
                     for name, value in agent.options.items())
    return (f"## Options\n\nWhat it was trained and plays with (`{CONFIG_FILE}`'s `options`):\n\n"
            f"| option | value |\n|---|---|\n{rows}")
