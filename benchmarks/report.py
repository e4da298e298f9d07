"""Turns the measurements into the table (printed) and RESULTS.md (written), keeping its hand-written part."""

import datetime
import os
import platform
import re
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TRIED_HEADING = "## What we tried"
TRIED_PLACEHOLDER = "(filled in by hand)"
PACKAGES = ("torch", "ale-py", "numpy", "stable-baselines3", "gymnasium", "lz4", "opencv-python-headless", "psutil")
GAMES_AT_ONCE = (1, 2, 4, 8)  # --num_envs of the toolkit's train runs
PROJECTED_GAMES = (4, 8)  # N = 1 steps its one game on the main thread: nothing to hide under the update
SB3_ENVS = 4
SPLIT_PARTS = ("emulator", "acting", "update", "other")
Splits = dict[int, list[dict[str, float]]]  # games at once -> each repetition's train split, in seconds


@dataclass
class Settings:
    repeats: int
    steps_scale: float
    memory_size: int
    output: Path
    auto_precision: str  # what --update_precision auto chooses on this CPU
    busy_cpus: float = 0.0
    minutes: float = 0.0
    versions: dict[str, dict] = field(default_factory=dict)

    def environment(self) -> str:
        """The settings as the environment variables that give them."""
        given = [f"REPEATS={self.repeats}"]
        if self.steps_scale != 1:
            given.append(f"BENCH_STEPS_SCALE={self.steps_scale:g}")
        if self.memory_size != 1_000_000:
            given.append(f"BENCH_MEMORY_SIZE={self.memory_size}")
        return " ".join(given)

    @property
    def auto_measured(self) -> bool:
        """Whether auto gets a run of its own: where it chooses float32 it runs what the plain run ran."""
        return self.auto_precision != "float32"

    def steps(self, count: int) -> int:
        """A step count of the reference run, scaled by BENCH_STEPS_SCALE."""
        return max(1, round(count * self.steps_scale))


@dataclass
class Row:
    figure: str
    ours: str
    peer: str
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None


def steps_per_second(value: float | None) -> str:
    if value is None:
        return "missing"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def ratio_row(figure: str, ours: float | None, peer: float | None, show: Callable[[float | None], str],
              target: str = "—", at_least: float | None = None, at_most: float | None = None) -> Row:
    """A row comparing ``ours`` with ``peer`` by their ratio, met when the ratio is within the target."""
    if ours is None or peer is None:
        return Row(figure, show(ours), show(peer), "—", target)
    ratio = ours / peer
    met = None
    if at_least is not None:
        met = ratio >= at_least
    elif at_most is not None:
        met = ratio <= at_most
    return Row(figure, show(ours), show(peer), f"{ratio:.2f}", target, met)


def games_run(games: int) -> str:
    """The toolkit's run with ``games`` games at once: the plain "ours" run for one, so it is not run twice."""
    return "ours" if games == 1 else f"ours {games} games"


def median_split(runs: list[dict[str, float]]) -> dict[str, float]:
    """Seconds of each part and of the phase, and each part's share of the phase, medians over the repetitions."""
    split = {key: statistics.median(run[key] for run in runs) for key in (*SPLIT_PARTS, "total")}
    return split | {f"{part} share": statistics.median(run[part] / run["total"] for run in runs)
                    for part in SPLIT_PARTS}


def count_label(count: int) -> str:
    return f"{count // 1_000_000}M" if count % 1_000_000 == 0 else f"{count:,}"


def build_rows(settings: Settings, throughput: dict[str, list[float]], memory: dict[str, dict]) -> list[Row]:
    def median(name: str) -> float | None:
        return statistics.median(throughput[name]) if throughput.get(name) else None

    def get(run: str, key: str) -> float | None:
        return memory.get(run, {}).get(key)

    def against_one(games: int, target: str = "—", at_least: float | None = None) -> Row:
        return ratio_row(f"N = {games} vs N = 1, train steps/s", median(f"{games_run(games)} train"),
                         median("ours train"), steps_per_second, target, at_least=at_least)

    def gigabytes(value: float | None) -> str:
        return "missing" if value is None else f"{value / 1e9:.2f}"

    def microseconds(value: float | None) -> str:
        return "missing" if value is None else f"{value * 1e6:.0f}"

    def byte_count(value: float | None) -> str:
        return "missing" if value is None else f"{value:,.0f}"

    def projected(run: str) -> float | None:
        return get(run, "projected_added")

    def peer_full_size(key: str, show: Callable[[float], str]) -> str:
        full = memory.get("sb3", {}).get("full_size")
        if full is None:
            return "missing"
        return "MemoryError" if "error" in full else show(full[key])

    size = count_label(settings.memory_size)
    per_game = get("ours per game", "bytes_per_transition")
    compressed_mean = statistics.mean(per_game.values()) if per_game else None
    ours_added = {run: (get(run, "peak_rss") - get(run, "base_rss")) if run in memory else None
                  for run in ("ours", "ours compressed")}
    create = get("ours", "create_seconds")
    create_rss = get("ours", "create_rss_added")
    create_rss_compressed = get("ours compressed", "create_rss_added")
    auto_train = "ours auto train" if settings.auto_measured else "ours train"
    rows = [
        ratio_row("Random phase vs bare ale-py loop, steps/s", median("ours random only"), median("bare noop"),
                  steps_per_second, "≥ 0.9", at_least=0.9),
        ratio_row("  same, bare loop without no-op starts", median("ours random only"), median("bare"),
                  steps_per_second),
        ratio_row("Train phase vs SB3 DQN, steps/s", median("ours train"), median("sb3 train"), steps_per_second,
                  "≥ 1.5", at_least=1.5),
        ratio_row(f"Train phase, --update_precision auto ({settings.auto_precision} here) vs SB3 DQN, steps/s",
                  median(auto_train), median("sb3 train"), steps_per_second,
                  "≥ 2.0 with native bfloat16", at_least=2.0 if settings.auto_measured else None),
        *([ratio_row("  auto vs float32, train steps/s", median(auto_train), median("ours train"), steps_per_second)]
          if settings.auto_measured else []),
        against_one(2),
        against_one(4, "≥ 1.25", at_least=1.25),
        against_one(8),
        ratio_row(f"N = 4 vs SB3 DQN with n_envs = {SB3_ENVS}, train steps/s", median(f"{games_run(4)} train"),
                  median(f"sb3 {SB3_ENVS} envs train"), steps_per_second),
        ratio_row("Train phase, compressed vs plain replay, steps/s", median("ours compressed train"),
                  median("ours train"), steps_per_second, "≥ 0.9", at_least=0.9),
        ratio_row("Train phase, fast preset, bfloat16 vs float32 update, steps/s",
                  median("ours fast bfloat16 train"), median("ours fast float32 train"), steps_per_second),
        ratio_row("  fast preset (4 times the transitions per step) vs Nature settings, steps/s",
                  median("ours fast bfloat16 train"), median("ours train"), steps_per_second),
        ratio_row("Random phase (train run) vs SB3 before learning_starts, steps/s", median("ours random"),
                  median("sb3 random"), steps_per_second),
        Row("Test phase, steps/s", steps_per_second(median("ours test")), "—"),
        ratio_row("Bytes per transition vs SB3 ReplayBuffer", get("ours", "bytes_per_transition"),
                  get("sb3", "bytes_per_transition"), byte_count),
        ratio_row("  vs SB3 with optimize_memory_usage", get("ours", "bytes_per_transition"),
                  get("sb3 optimized", "bytes_per_transition"), byte_count),
        Row("Bytes per transition, compressed (mean of 4 games)", byte_count(compressed_mean), "—", "—", "≤ 1,500",
            None if compressed_mean is None else compressed_mean <= 1500),
        ratio_row(f"Resident memory of a full {size} memory vs SB3 (projected), GB", ours_added["ours"],
                  projected("sb3"), gigabytes),
        ratio_row("  compressed vs SB3 optimize_memory_usage (projected), GB", ours_added["ours compressed"],
                  projected("sb3 optimized"), gigabytes),
        Row(f"Create an empty {size} memory, s", "missing" if create is None else f"{create:.4f}",
            peer_full_size("create_seconds", lambda value: f"{value:.4f}"), "—", "< 1",
            None if create is None else create < 1),
        Row("  resident memory it adds, MB", "missing" if create_rss is None else f"{create_rss / 1e6:.1f}",
            peer_full_size("create_rss_added", lambda value: f"{value / 1e6:.1f}"), "—", "≤ 10",
            None if create_rss is None else create_rss <= 10e6),
        Row("  the same, compressed, MB",
            "missing" if create_rss_compressed is None else f"{create_rss_compressed / 1e6:.1f}", "—", "—", "≤ 10",
            None if create_rss_compressed is None else create_rss_compressed <= 10e6),
        ratio_row("Minibatch from the full memory vs the copy floor, µs", get("ours", "minibatch_seconds"),
                  get("ours", "copy_seconds"), microseconds, "≤ 3", at_most=3),
        ratio_row("  compressed vs the copy floor, µs", get("ours compressed", "minibatch_seconds"),
                  get("ours compressed", "copy_seconds"), microseconds, "≤ 3", at_most=3),
    ]
    return rows


LABELS = {
    "ours random": "ours, random phase of the train run",
    "ours train": "ours, train phase",
    "ours test": "ours, test phase",
    "ours auto train": "ours, train phase with --update_precision auto",
    "ours compressed train": "ours, train phase with compressed replay",
    "ours fast float32 train": "ours, train phase of the fast preset (Adam, 64 every 2 steps, 3-step returns), "
                               "float32 update",
    "ours fast bfloat16 train": "ours, train phase of the fast preset (Adam, 64 every 2 steps, 3-step returns), "
                                "bfloat16 update",
    "sb3 random": "SB3, steps before learning_starts",
    "sb3 train": "SB3, steps after learning_starts",
    f"sb3 {SB3_ENVS} envs train": f"SB3 with {SB3_ENVS} environments, steps after learning_starts",
    **{f"{games_run(games)} train": f"ours, train phase, {games} games at once" for games in GAMES_AT_ONCE[1:]},
    "ours random only": "ours, random phase run alone",
    "bare noop": "bare ale-py loop with no-op starts",
    "bare": "bare ale-py loop without no-op starts",
    "sb3": "SB3 ReplayBuffer",
    "sb3 optimized": "SB3 ReplayBuffer with optimize_memory_usage",
    "ours": "ours, replay memory",
    "ours compressed": "ours, compressed replay memory",
}
HEADER = ("figure", "ours", "peer / floor", "ratio", "target", "met")


def cells(row: Row) -> tuple[str, ...]:
    met = "—" if row.met is None else ("yes" if row.met else "no")
    return row.figure, row.ours, row.peer, row.ratio, row.target, met


def text_table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> str:
    table = [header, *lines]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]

    def aligned(line: tuple[str, ...]) -> str:
        first, *rest = zip(line, widths, strict=True)
        return "  ".join([first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)])
    return "\n".join(map(aligned, table))


def markdown_table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> str:
    table = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    table += ["| " + " | ".join(cell.replace("  ", "↳ ", 1) if cell.startswith("  ") else cell for cell in line)
              + " |" for line in lines]
    return "\n".join(table)


SPLIT_HEADER = ("N", *SPLIT_PARTS, "train phase")


def split_lines(splits: Splits) -> list[tuple[str, ...]]:
    """The train phase's time split for each N: median seconds, and in brackets the median share of the phase."""
    lines = []
    for games in GAMES_AT_ONCE:
        if games in splits:
            split = median_split(splits[games])
            lines.append((str(games), *(f"{split[part]:.2f} s ({split[f'{part} share']:.0%})" for part in SPLIT_PARTS),
                          f"{split['total']:.2f} s"))
    return lines


def projection(settings: Settings, throughput: dict[str, list[float]], splits: Splits) -> list[str]:
    """Projected train steps per second on 16 cores, from the median split, beside the measured figure."""
    lines = []
    if 1 not in splits:
        return lines
    alone = median_split(splits[1])["update"]  # the update with no emulator threads competing for the cores
    for games in PROJECTED_GAMES:
        if games in splits:
            split = median_split(splits[games])
            busy = split["acting"] + alone + split["other"]
            measured = throughput.get(f"{games_run(games)} train")
            lines.append(f"N = {games}: {steps_per_second(settings.steps(3000) / busy)} train steps/s projected "
                         f"on 16 cores; measured here "
                         f"{steps_per_second(statistics.median(measured) if measured else None)}")
    return lines


def machine() -> list[str]:
    """The date and the machine: CPUs of one name differ, and bfloat16 is native on some, emulated on others."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        lscpu = ""
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    model = fields.get("Model name", platform.processor() or "unknown").strip()
    bfloat16 = [flag for flag in fields.get("Flags", "").split() if flag in ("avx512_bf16", "amx_bf16")]
    memory_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
    return [f"Date: {datetime.date.today().isoformat()}", f"CPU: {model}, {os.cpu_count()} cores",
            f"bfloat16 flags (`lscpu`): {', '.join(bfloat16) or 'neither avx512_bf16 nor amx_bf16'}",
            f"Memory: {memory_kib / 2**20:.1f} GiB", f"OS: {platform.system()} {platform.release()}"]


def versions_table(versions: dict[str, dict]) -> str:
    venvs = list(versions)
    lines = ["| | " + " | ".join(venvs) + " |", "|---|" + "---|" * len(venvs)]
    for name in ("python", *PACKAGES, "torch threads"):
        lines.append(f"| {name} | " + " | ".join(str(versions[venv].get(name) or "—") for venv in venvs) + " |")
    return "\n".join(lines)


def details(settings: Settings, throughput: dict[str, list[float]], splits: Splits,
            memory: dict[str, dict]) -> list[str]:
    """The figures behind the tables: each repetition, and the memory runs' own numbers."""
    lines = [f"- {LABELS[name]}: " + ", ".join(steps_per_second(value) for value in values) + " steps/s"
             for name, values in throughput.items()]
    lines += [f"- time split of the train phase, N = {games}: "
              + "; ".join(f"{key} " + ", ".join(f"{run[key]:.2f}" for run in splits[games]) + " s"
                          for key in (*SPLIT_PARTS, "total"))
              for games in GAMES_AT_ONCE if games in splits]
    for run in ("ours", "ours compressed"):
        if run in memory:
            result = memory[run]
            lines.append(f"- {LABELS[run]}: RSS before creating the memory {result['base_rss'] / 1e9:.2f} GB, peak "
                         f"{result['peak_rss'] / 1e9:.2f} GB; {result['count']:,} transitions holding "
                         f"{result['nbytes'] / 1e9:.2f} GB; minibatch {result['minibatch_bytes']:,} bytes of states; "
                         "floor copied from " + ("the memory's own screen array" if result["copy_from_own_screens"]
                                                 else "a separate array of the same screens"))
    if "ours per game" in memory:
        games = memory["ours per game"]["bytes_per_transition"]
        lines.append("- ours compressed, bytes per transition: "
                     + ", ".join(f"{game} {value:,.0f}" for game, value in games.items()))
    for run in ("sb3", "sb3 optimized"):
        if run in memory:
            result = memory[run]
            full = result["full_size"]
            attempt = full.get("error") or (f"created in {full['create_seconds']:.4f} s, "
                                            f"{full['create_rss_added'] / 1e6:.1f} MB resident")
            warned = "; warned: " + " / ".join(full["warnings"]) if full["warnings"] else ""
            lines.append(f"- {LABELS[run]}: {count_label(settings.memory_size)} buffer: {attempt}{warned}. Filled "
                         f"{result['fill']:,} transitions: RSS before {result['base_rss'] / 1e9:.2f} GB, peak "
                         f"{result['peak_rss'] / 1e9:.2f} GB, {result['growth_per_transition']:,.0f} bytes per "
                         f"transition, projected {result['projected_added'] / 1e9:.1f} GB at "
                         f"{count_label(settings.memory_size)}")
    return lines


def kept_tried_section(path: Path) -> str:
    """The hand-written "What we tried" section of the existing file, or the placeholder."""
    if path.is_file():
        match = re.search(rf"^{re.escape(TRIED_HEADING)}[ \t]*\n(.*?)(?=^## |\Z)", path.read_text(),
                          flags=re.MULTILINE | re.DOTALL)
        if match and match[1].strip():
            return f"{TRIED_HEADING}\n\n{match[1].strip()}\n"
    return f"{TRIED_HEADING}\n\n{TRIED_PLACEHOLDER}\n"


def games_at_once_sections(settings: Settings, throughput: dict[str, list[float]], splits: Splits) -> list[str]:
    """The train phase's time split for each N, and the projection made from it, set apart from the measurements."""
    return [
        "## Time split of the train phase",
        f"Seconds of the {settings.steps(3000):,} train steps of each N's run and, in brackets, their share of the "
        "phase, each a median over the repetitions, from the `time split:` line the run logs before the phase's "
        "summary: emulator is the time the main thread waited for or ran the emulator (starting new games too), "
        "acting choosing the actions (the forward pass included), update the network's updates, other the rest "
        "(replay writes, statistics).",
        markdown_table(SPLIT_HEADER, split_lines(splits)),
        "## Projection for a 16-core machine",
        "**A projection from the split above, not a measurement.** Model: with a core to spare for each of the N "
        "emulator threads, they run entirely under the update (one per vector step at N = 4, two at N = 8), so an "
        "agent step costs the acting and other time of its split and no emulator time, and the update runs as "
        "fast as it does with one game, where no emulator thread competes with it for these 2 cores; more cores "
        "for PyTorch might make the update faster still, which is not projected. Projected train steps/s = "
        f"{settings.steps(3000):,} / (acting + other of N + update of N = 1).",
        "\n".join(f"- {line}" for line in projection(settings, throughput, splits)),
    ]


def markdown(settings: Settings, rows: list[Row], throughput: dict[str, list[float]], splits: Splits,
             memory: dict[str, dict], commands: dict[str, str], failures: list[str]) -> str:
    size = count_label(settings.memory_size)
    random_steps, train_steps, test_steps, bare_steps = (
        f"{settings.steps(count):,}" for count in (5000, 3000, 3000, 10_000))
    notes = []
    if settings.steps_scale != 1 or settings.memory_size != 1_000_000:
        notes.append(f"**Scaled-down run** ({settings.environment()}): not the reference figures.")
    if settings.busy_cpus > 0.2:
        notes.append(f"Other processes kept up to {settings.busy_cpus:.1f} CPUs busy during the run: "
                     "the throughput figures are low.")
    if "ours fast float32 train" in throughput and "ours fast bfloat16 train" not in throughput:
        notes.append("The fast preset's bfloat16 run is left out: this CPU has no bfloat16 instructions "
                     "(AVX512-BF16 or AMX), so PyTorch emulates them and the run would take a quarter of an hour.")
    notes += ["Failed: " + " ".join(line.strip() for line in failure.splitlines()) for failure in failures]
    parts = [
        "# Benchmarks",
        "How fast simple_dqn plays and learns Breakout and how much memory its replay takes, against "
        "Stable-Baselines3's DQN (the peer, in its own venv) and against floors that do the least work possible. "
        f"Written by `benchmarks/run.sh` in {settings.minutes:.1f} minutes; steps are agent steps (4 frames).",
        "\n".join(f"- {note}" for note in notes),
        "## Machine and versions",
        "\n".join(f"- {line}" for line in machine()),
        versions_table(settings.versions),
        "## Results",
        markdown_table(HEADER, [cells(row) for row in rows]),
        "How each figure is measured:",
        "\n".join(f"- {line}" for line in (
            f"Steps per second are medians over {settings.repeats} repetitions (seeds 0, 1, ...); within each "
            "repetition the toolkit's runs and the peers' run in turn, one at a time.",
            f"Train and test: one `python -m simple_dqn` run of {random_steps} random, {train_steps} train and "
            f"{test_steps} test steps, epsilon fixed at 0.1 in training (its value over 95% of a Nature run) and "
            "0.05 in test, as its CSV reports them, updates in float32. The auto figure is the same run with "
            "`--update_precision auto`: on a CPU that computes bfloat16 natively (AVX512-BF16, AMX or Arm's BF16) "
            "it updates in bfloat16; elsewhere auto chooses float32, so the figure is the plain run's own, not "
            f"measured again (here: {settings.auto_precision}). The compressed figure is the same run with "
            "`--replay_compress true`, the fast figures the same run with `--preset fast` (Adam's fused step on a "
            "minibatch of 64 every 2 steps, 3-step returns, compressed replay, a target copy every 1,000 steps) and "
            "`--update_precision float32` or `bfloat16`.",
            "N = 2, 4 and 8: the same train-and-test run with `--num_envs N` (N = 1 is that run itself): N games of "
            "Breakout stepped together by ale-py's `AtariVectorEnv` in C++ threads, one forward pass choosing the N "
            "actions, the emulator stepping them while the update runs; the steps are agent steps over all the "
            "games, one minibatch of 32 every 4 of them, as at N = 1. Their time split and a projection made from "
            "it follow the table.",
            "SB3 DQN: `make_atari_env` (no-op starts, frame skip 4 with max-pooling, 84x84 grayscale, a lost life "
            "ends the episode) and `VecFrameStack(n_stack=4)`, `CnnPolicy` (NatureCNN), batch 32, an update every "
            f"4 steps, epsilon 0.1, `learning_starts={settings.steps(5000)}`, on the CPU with torch's default "
            f"threads as ours; only the {train_steps} steps after `learning_starts` are timed. With n_envs = "
            f"{SB3_ENVS} (`sb3_dqn.py ... {SB3_ENVS}`): `make_atari_env(n_envs={SB3_ENVS})`, SB3's default "
            "`DummyVecEnv`, which steps the games one after another in the main process, and `train_freq=1`, "
            f"which SB3 counts in vector steps of {SB3_ENVS} agent steps: one minibatch of 32 every 4 agent steps "
            "still; `learning_starts` and the timed steps are agent steps (SB3's `num_timesteps`), as above.",
            f"Random phase vs bare loop: a `python -m simple_dqn` run of {bare_steps} random steps against as many "
            "steps of ale-py's `ALEInterface` driven directly: frame skip 4, grayscale of the last two frames, their "
            "maximum, `cv2.resize` INTER_AREA to 84x84, a new game at game over, and the same random 1 to 30 "
            "no-op frames at each new game as the toolkit; the loop without no-op starts is shown too.",
            f"Replay memory: each figure from a fresh process, filled with real screens (5,000 per game of random "
            f"play of Breakout, Pong, Seaquest and Space Invaders, cycled). Resident memory is the peak RSS (VmHWM) "
            f"less the RSS before the memory was created. Ours is filled to {size}. SB3's buffer of {size} is "
            "created to time it (a machine with less memory than its largest array refuses it at once: "
            "MemoryError), then one of a tenth of that is filled and projected to the full size: RSS added on "
            "creation plus the measured growth per transition times the full size; its bytes per transition are "
            "its arrays' nbytes over buffer_size. "
            "Compressed bytes per transition: `nbytes / count` after filling a memory with each game alone.",
            "Minibatch: median of 2,000 `get_minibatch()` calls on the full memory; the floor is `np.copyto` of as "
            "many bytes as the minibatch gathers (history + 1 screens per transition: its prestates and poststates "
            "are views of them) as one contiguous block from a random position of the screens.",
        )),
        *games_at_once_sections(settings, throughput, splits),
        "## Commands",
        "From the repository root; `<rep>` is the repetition (0, 1, ...), `<csv>` a temporary file.",
        "```\n" + "\n".join([f"{settings.environment()} ./benchmarks/run.sh", *commands.values()]) + "\n```",
        "## Details",
        "\n".join(details(settings, throughput, splits, memory)),
        kept_tried_section(settings.output),
    ]
    return "\n\n".join(part for part in parts if part)


def write_report(settings: Settings, throughput: dict[str, list[float]], splits: Splits, memory: dict[str, dict],
                 commands: dict[str, str], failures: list[str]) -> None:
    """Print the tables and write the results file (atomically, keeping its "What we tried")."""
    rows = build_rows(settings, throughput, memory)
    print("\n" + text_table(HEADER, [cells(row) for row in rows]))
    print("\ntime split of the train phase (median seconds, share of the phase)")
    print(text_table(SPLIT_HEADER, split_lines(splits)))
    print("\nprojection, not a measurement:\n" + "\n".join(projection(settings, throughput, splits)))
    text = markdown(settings, rows, throughput, splits, memory, commands, failures)
    temporary = settings.output.with_name(settings.output.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(settings.output)
    print(f"\nwrote {settings.output}")
