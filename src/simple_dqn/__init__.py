"""simple_dqn: DeepMind's Nature DQN on Atari games, simple to read and fast to run.

``dqn/`` holds the four parts of the paper, ``runs/`` a run on disk and in time, ``watch/`` what shows
games and what the network sees, ``sweeps/`` many runs on Ray; ``main.py`` wires them together.
"""

__version__ = "3.0.0"
