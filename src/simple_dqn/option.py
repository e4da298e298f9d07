"""How an option is declared: once, as a field of its group's settings, with its default, check, help and policy.

A settings group is a frozen dataclass whose fields are made by ``option``; the command line
(``command_line.py``) builds argparse from the groups, and each part takes its own group.
"""

import argparse
import dataclasses
import difflib
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Literal, NoReturn

# When a loaded snapshot supplies an option the command line leaves out.
FromSnapshot = Literal["always", "resume", "never"]
# The commands that set an option themselves, and refuse it from the user.
SetBy = Literal["sweep", "sweep evaluation", "profile"]
BY_SWEEP: tuple[SetBy, ...] = ("sweep", "sweep evaluation")  # set for each run of a sweep and for its evaluation


class OptionParser(argparse.ArgumentParser):
    """Forgiving of spelling, strict about meaning: ``--learning-rate`` is ``--learning_rate``, a true/false option
    alone is true (``--double_q``) and ``--no-double_q`` false; an abbreviation is refused, and a bad option is
    reported in one line (no usage dump) with the options closest to a mistyped one, exiting with 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        return super().parse_known_args(self.spelled_out(sys.argv[1:] if args is None else args), namespace)

    def spelled_out(self, args: Sequence[str]) -> list[str]:
        """``args`` in the parser's own spelling: underscores for hyphens, and a value after every true/false option."""
        known, booleans = self._option_string_actions, self.boolean_options()
        self._given_after_boolean: dict[str, str] = {}  # for the error: --double_q maybe
        spelled: list[str] = []
        for position, word in enumerate(args):
            if word == "--":
                return spelled + list(args[position:])
            name, equals, value = word.partition("=")
            if not name.startswith("--") or name in known:
                spelled.append(word)
            elif (underscored := "--" + name[2:].replace("-", "_")) in known:
                spelled.append(underscored + equals + value)
            elif underscored.startswith("--no_") and "--" + underscored[5:] in booleans and not equals:
                spelled += ["--" + underscored[5:], "false"]
                continue
            else:
                spelled.append(word)
            following = args[position + 1] if position + 1 < len(args) else None
            if spelled[-1] in booleans and (following is None or not is_boolean(following)):
                if following is not None and not following.startswith("-"):
                    self._given_after_boolean[following] = spelled[-1]
                spelled.append("true")
        return spelled

    def boolean_options(self) -> set[str]:
        return {flag for action in self._actions if action.type is boolean for flag in action.option_strings}

    def error(self, message: str) -> NoReturn:
        unknown = message.removeprefix("unrecognized arguments: ")
        first = unknown.split()[0] if unknown != message and unknown.split() else ""
        boolean_option = getattr(self, "_given_after_boolean", {}).get(first)
        if boolean_option:  # the word was meant as the option's value, not as one more argument
            message = f"argument {boolean_option}: expected true or false, got {first!r}"
        self.exit(2, f"error: {message}{self._closest_to_unknown(message)} (see --help)\n")

    def _closest_to_unknown(self, message: str) -> str:
        """``; did you mean --learning_rate?`` after ``unrecognized arguments: --learning_rat ...``."""
        unknown = message.removeprefix("unrecognized arguments: ")
        mistyped = next((word.split("=")[0][2:] for word in unknown.split() if word.startswith("--")), None)
        if unknown == message or not mistyped:
            return ""
        hint = did_you_mean(mistyped, [name[2:] for name in self._option_string_actions if name.startswith("--")],
                            prefix="--")
        return f"; {hint}" if hint else ""


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: ...)`` to an option's help where there is one the help does not already name; true/false in
    lower case, as they are typed."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help, default = action.help or "", action.default
        if default is None or default is argparse.SUPPRESS or action.nargs == 0 or "default" in help.lower():
            return help
        shown = ("true" if default else "false") if isinstance(default, bool) else str(default).replace("%", "%%")
        return f"{help} (default: {shown})"


def did_you_mean(name: str, known: Iterable[str], prefix: str = "", most: int = 3) -> str:
    """``did you mean a, b?`` with the known names closest to a mistyped or shortened one, or nothing when none is
    close."""
    known = list(known)
    lengthened = [each for each in known if each.startswith(name)] if name else []
    close = lengthened if 0 < len(lengthened) <= most else difflib.get_close_matches(name, known, n=most, cutoff=0.6)
    return f"did you mean {', '.join(prefix + each for each in close)}?" if close else ""


def number_type(kind: type, low: float | None = None, high: float | None = None,
                what: str = "") -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value
    return parse


positive_int = number_type(int, 1, what="at least 1")
count = number_type(int, 0, what="0 or more")
finite_float = number_type(float, what="finite")
probability = number_type(float, 0.0, 1.0, what="between 0 and 1")
positive_float = number_type(float, 1e-12, what="greater than 0")
nonnegative_float = number_type(float, 0.0, what="0 or more")


TRUE_WORDS, FALSE_WORDS = ("yes", "true", "t", "1"), ("no", "false", "f", "0")


def is_boolean(text: str) -> bool:
    return text.lower() in TRUE_WORDS + FALSE_WORDS


def boolean(text: str) -> bool:
    """The original's str2bool, strict: a typo is an error, not False."""
    lowered = text.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


METAVARS: dict[Callable[[str], Any], str] = {
    positive_int: "N", count: "N", probability: "P", positive_float: "X", nonnegative_float: "X", finite_float: "X",
    boolean: "BOOL"}


@dataclasses.dataclass(frozen=True)
class Declaration:
    """What the command line needs of one option, beside its name and default."""

    help: str
    parse: Callable[[str], Any] | None = None  # checks and converts the text given; None keeps the text
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    aliases: tuple[str, ...] = ()  # more spellings: --episodes for --play_games
    positional: bool = False
    flag: bool = False  # given alone, without a value: --resume
    from_snapshot: FromSnapshot | None = None  # None: the group's own policy
    shapes_network: bool = False  # a snapshot only fits a network built with the value it was trained with
    placeholders: tuple[str, ...] = ()  # what a path may name, filled in when the run starts: {game}
    set_by: tuple[SetBy, ...] = ()
    picks: tuple[str, str] | None = None  # a boolean that, when true, picks ("head", NAME) or ("target_rule", NAME)
    in_config: bool = True  # a config file may set it: not so the files a run reads and writes, given each time
    writes: Literal["file", "folder", "prefix"] | None = None  # a path the run writes: checked before it starts


def option(default: Any, help: str, **declaration: Any) -> Any:
    """A settings field: its default and its ``Declaration``."""
    return dataclasses.field(default=default, metadata={"declaration": Declaration(help, **declaration)})


@dataclasses.dataclass(frozen=True)
class SettingsGroup:
    """A group of options as --help shows it; subclasses are frozen dataclasses of ``option`` fields."""

    TITLE: ClassVar[str]
    FROM_SNAPSHOT: ClassVar[FromSnapshot]

    def __init_subclass__(cls, title: str, from_snapshot: FromSnapshot, **kwargs: Any) -> None:
        """``title``: the group's heading in --help; ``from_snapshot``: its options' policy unless one says its own."""
        super().__init_subclass__(**kwargs)
        cls.TITLE, cls.FROM_SNAPSHOT = title, from_snapshot

    @classmethod
    def declarations(cls) -> Iterator[tuple[dataclasses.Field, Declaration]]:
        for field in dataclasses.fields(cls):
            yield field, field.metadata["declaration"]

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Any:
        """The group's settings from a name: value mapping that holds each of its options."""
        return cls(**{field.name: values[field.name] for field in dataclasses.fields(cls)})


def policy_from_snapshot(group: type[SettingsGroup], declaration: Declaration) -> FromSnapshot:
    return declaration.from_snapshot or group.FROM_SNAPSHOT
