"""The game drawn in a text terminal: two pixels per character cell with the upper half block, in 24-bit colour.

Only the cells that changed since the last frame are written, so a mostly still Atari
screen costs little to draw even over ssh.  The terminal is put in cbreak mode (keys
arrive one by one, Ctrl-C still interrupts) on the alternate screen, and given back as
it was by ``close``.
"""

import logging
import logging.handlers
import os
import re
import select
import shutil
import signal
import sys
import termios
import time
import tty

import cv2
import numpy as np

from simple_dqn.watch.display import KEYS_HELP, Display, Status

UPPER_HALF_BLOCK = "\u2580"
ENTER = "\x1b[?1049h\x1b[?25l\x1b[2J"  # alternate screen, cursor hidden, cleared
LEAVE = "\x1b[0m\x1b[?25h\x1b[?1049l"
ARROWS = {"\x1b[A": "up", "\x1b[B": "down", "\x1b[C": "right", "\x1b[D": "left",
          "\x1bOA": "up", "\x1bOB": "down", "\x1bOC": "right", "\x1bOD": "left"}
OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}
# ESC then a CSI sequence (parameters, a final letter or ~), an SS3 key, or a key pressed with Alt.
ESCAPE_SEQUENCE = re.compile(r"\x1b(\[[0-9;?]*[@-~]|O.|[^\[O])", re.DOTALL)
COMMAND_KEYS = "asmq[]"
# A terminal sends key presses, never releases: a direction counts as held this long after its
# last press, about a keyboard's delay before auto-repeat, which then renews it while the key stays down.
HOLD_SECONDS = 0.5
ATARI_ASPECT = 4 / 3  # the console's picture on a television


def picture_size(columns: int, lines: int) -> tuple[int, int]:
    """(width in cells, height in pixels, even) of the largest 4:3 picture that fits; a pixel is half a cell."""
    height = min(210, 2 * lines)
    width = round(height * ATARI_ASPECT)
    if width > columns:
        width = columns
        height = round(width / ATARI_ASPECT)
    return max(width, 1), max(height - height % 2, 2)


class TerminalDisplay(Display):
    frames_per_second = 30
    uses_terminal = True

    def __init__(self) -> None:
        self.input = sys.stdin.fileno()
        self.output = sys.stdout.fileno()
        self.saved_mode = termios.tcgetattr(self.input)
        self.log_records = _HeldLogRecords()
        self.closed = False
        self._take_terminal()
        self.suspend_handler = signal.signal(signal.SIGTSTP, self._suspend)
        self.size: tuple[int, int] | None = None
        self.drawn: np.ndarray | None = None  # each cell's two colours as last written
        self.last_press: dict[str, float] = {}
        self.unread = ""  # the start of an escape sequence whose end has not arrived yet

    def show(self, rgb: np.ndarray, status: Status) -> None:
        columns, lines = shutil.get_terminal_size()
        status_lines = self._status_lines(status, columns)
        width, height = picture_size(columns, max(1, lines - len(status_lines)))
        output = []
        if (columns, lines) != self.size:
            self.size, self.drawn = (columns, lines), None
            output.append("\x1b[0m\x1b[2J")
        picture = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        cells = np.concatenate([picture[0::2], picture[1::2]], axis=2)  # (rows, width, top RGB + bottom RGB)
        if self.drawn is not None and self.drawn.shape != cells.shape:
            self.drawn = None
            output.append("\x1b[0m\x1b[2J")
        changed = np.ones(cells.shape[:2], bool) if self.drawn is None else (cells != self.drawn).any(axis=2)
        left = (columns - width) // 2
        for row in np.flatnonzero(changed.any(axis=1)):
            changed_columns = np.flatnonzero(changed[row])
            first, last = changed_columns[0], changed_columns[-1]
            output.append(f"\x1b[{row + 1};{left + first + 1}H")
            output.append(_half_blocks(cells[row, first:last + 1].tolist()))
        self.drawn = cells
        output.append("\x1b[0m")
        for number, text in enumerate(status_lines, start=height // 2 + 1):
            output.append(f"\x1b[{number};1H\x1b[2K{text}")
        self._write("".join(output))

    def _status_lines(self, status: Status, columns: int) -> list[str]:
        lines = [status.headline()[:columns]]
        line, length = "", 0
        for text, chosen in status.q_value_cells():
            if length and length + 2 + len(text) > columns:
                lines.append(line)
                line, length = "", 0
            separator = "  " if length else ""
            line += separator + (f"\x1b[7m{text}\x1b[27m" if chosen else text)
            length += len(separator) + len(text)
        if line:
            lines.append(line)
        lines.append("  ".join(status.messages)[:columns])  # kept when empty, so the picture keeps its size
        lines += [KEYS_HELP[:columns], status.manual_keys[:columns]]
        return lines

    def pressed_commands(self) -> list[str]:
        typed = b""
        while select.select([self.input], [], [], 0)[0]:
            chunk = os.read(self.input, 1024)
            if not chunk:
                break
            typed += chunk
        text, self.unread = self.unread + typed.decode(errors="ignore"), ""
        now, commands, position = time.monotonic(), [], 0
        while position < len(text):
            if text[position] == "\x1b":
                sequence = ESCAPE_SEQUENCE.match(text, position)
                if sequence is None:  # cut short between two reads: the rest comes next time
                    self.unread = text[position:]
                    break
                direction = ARROWS.get(sequence.group())
                if direction is not None:
                    self.last_press[direction] = now
                    self.last_press.pop(OPPOSITE[direction], None)
                position = sequence.end()  # other keys' sequences (Home, F1, Shift+arrows) mean nothing here
                continue
            key = text[position]
            position += 1
            if key == " ":
                self.last_press["fire"] = now
            elif key in COMMAND_KEYS:
                commands.append(key)
        return commands

    def held_directions(self) -> set[str]:
        now = time.monotonic()
        return {direction for direction, pressed in self.last_press.items() if now - pressed < HOLD_SECONDS}

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        signal.signal(signal.SIGTSTP, self.suspend_handler)
        self._give_terminal_back()
        self.log_records.release()

    def _take_terminal(self) -> None:
        tty.setcbreak(self.input)
        self._write(ENTER)

    def _give_terminal_back(self) -> None:
        self._write(LEAVE)
        termios.tcsetattr(self.input, termios.TCSAFLUSH, self.saved_mode)  # keys left unread are dropped

    def _suspend(self, *_: object) -> None:
        """Ctrl-Z: the shell gets its terminal as it was; ``fg`` brings the game back, redrawn whole."""
        self._give_terminal_back()
        os.kill(os.getpid(), signal.SIGSTOP)
        self._take_terminal()
        self.size = self.drawn = None

    def _write(self, text: str) -> None:
        data = text.encode()
        while data:
            data = data[os.write(self.output, data):]


def _half_blocks(cells: list[list[int]]) -> str:
    """Cells of (top R, G, B, bottom R, G, B) as half blocks, a colour written only where it changes."""
    parts, foreground, background = [], None, None
    for cell in cells:
        top, bottom = cell[:3], cell[3:]
        if top != foreground:
            parts.append(f"\x1b[38;2;{top[0]};{top[1]};{top[2]}m")
            foreground = top
        if bottom != background:
            parts.append(f"\x1b[48;2;{bottom[0]};{bottom[1]};{bottom[2]}m")
            background = bottom
        parts.append(UPPER_HALF_BLOCK)
    return "".join(parts)


class _HeldLogRecords:
    """Log lines written over the picture would tear it: they are kept, and written when the display closes."""

    def __init__(self) -> None:
        self.root = logging.getLogger()
        self.target = next((handler for handler in self.root.handlers
                            if isinstance(handler, logging.StreamHandler)), None)
        self.held = logging.handlers.MemoryHandler(capacity=10_000, flushLevel=logging.CRITICAL + 1, target=self.target)
        if self.target is not None:
            self.root.removeHandler(self.target)
        self.root.addHandler(self.held)

    def release(self) -> None:
        self.root.removeHandler(self.held)
        if self.target is not None:
            self.root.addHandler(self.target)
        self.held.close()  # writes what it kept to the handler it stood in for
