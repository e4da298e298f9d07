"""The agent and the phase loop on the real game: what it stores is what it acted on, its schedules, its stops."""

import cv2
import numpy as np
import pytest
import torch
from ale_py import Action

from simple_dqn.dqn.agent import Agent
from simple_dqn.dqn.deepqnetwork import DeepQNetwork
from simple_dqn.dqn.environment import ALEEnvironment, Environment
from simple_dqn.dqn.environments import make_environment
from simple_dqn.dqn.gym_environment import GymEnvironment
from simple_dqn.dqn.phase_loop import play_phase
from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.dqn.settings import AgentSettings, EnvironmentSettings, NetworkSettings
from simple_dqn.runs.statistics import Statistics
from simple_dqn.stopping import StopRequest


def make_game_and_agent(memory_size: int = 5000, max_test_frames: int = 18_000, screen_side: int = 84,
                        **settings) -> tuple[ALEEnvironment, Agent]:
    """``screen_side`` 36 where a test counts updates and looks at no screen: an update costs a fifth."""
    agent_settings = AgentSettings(**settings)
    environment = EnvironmentSettings(game="breakout", max_test_frames=max_test_frames, screen_width=screen_side,
                                      screen_height=screen_side)
    game = ALEEnvironment(environment, seed=1, random_starts=agent_settings.random_starts,
                          noop_unit=agent_settings.noop_unit)
    network = DeepQNetwork(game.num_actions(), NetworkSettings(), (4, screen_side, screen_side), True,
                           torch.device("cpu"))
    memory = ReplayMemory(memory_size, (screen_side, screen_side), seed=1)
    return game, Agent(network, memory, agent_settings, game.num_actions(), seed=1)


def play(game: Environment, agent: Agent, phase: str, steps: int, stop: StopRequest | None = None) -> Statistics:
    statistics = Statistics(progress=False, games=game.count)
    statistics.start_phase(1, phase, steps)
    play_phase(game, agent, statistics, stop or StopRequest(), phase, steps=steps)
    return statistics


class RecordingNetwork:
    """The real network, with a record of every state it was asked to value, by training step."""

    def __init__(self, agent: Agent) -> None:
        self.agent, self.network = agent, agent.network
        self.acted_on: dict[int, np.ndarray] = {}

    def predict(self, states: np.ndarray) -> np.ndarray:
        self.acted_on[self.agent.total_train_steps] = states[0].copy()
        return self.network.predict(states)


@pytest.mark.parametrize("memory_size", [5000, 700])
def test_the_state_acted_on_is_the_state_replay_rebuilds(memory_size):
    game, agent = make_game_and_agent(memory_size, exploration_rate_start=0.5, exploration_rate_end=0.5,
                                      train_frequency=10**6)
    recorder = RecordingNetwork(agent)
    agent.network = recorder
    play(game, agent, "train", 1500)
    memory = agent.memory
    assert memory.episode_starts.sum() >= 3, "the run should span several episodes (lives)"
    # Step t went to slot t % size; once overwritten, only states whose screens are all still kept can match.
    kept_from = 1500 - memory.count + memory.history_length - 1
    recent = {step: state for step, state in recorder.acted_on.items() if step >= kept_from}
    assert len(recent) > 200
    for step, state in recent.items():
        np.testing.assert_array_equal(memory.get_state(step % memory.size), state)


def test_exploration_decays_linearly_over_training_steps_then_stays():
    _, agent = make_game_and_agent(exploration_decay_steps=1000)
    for steps, expected in [(0, 1.0), (500, 0.55), (1000, 0.1), (5000, 0.1)]:
        agent.total_train_steps = steps
        assert agent.exploration_rate() == pytest.approx(expected)
    assert agent.exploration_rate("random") == 1.0 and agent.exploration_rate("test") == 0.05


def first_step_frames(game: Environment, agent: Agent, games: int = 80) -> list[int]:
    """The emulator frames of each new game after its no-ops and one agent step."""
    frames = []
    for _ in range(games):
        play(game, agent, "test", 1)  # a test phase starts a new game, then takes one step
        frames.append(game.episode_frames())
    return frames


@pytest.mark.parametrize("backend", ["ale", "gym"])
def test_each_new_game_starts_with_1_to_30_no_op_frames_at_every_phase_of_the_frame_skip(backend):
    game, agent = make_game_and_agent()
    if backend == "gym":
        game = GymEnvironment(EnvironmentSettings(game="BreakoutNoFrameskip-v4", environment="gym"), 1)
    no_ops = [frames - 4 for frames in first_step_frames(game, agent)]
    assert min(no_ops) >= 1 and max(no_ops) <= 30
    assert len(set(no_ops)) > 15
    assert {count % 4 for count in no_ops} == {0, 1, 2, 3}, "games must begin at every phase of the frame skip"


@pytest.mark.parametrize("settings", [EnvironmentSettings(game="pong"),
                                      EnvironmentSettings(game="PongNoFrameskip-v4", environment="gym")])
@pytest.mark.parametrize("frames", [1, 7])
def test_no_op_frames_leave_the_pooled_screen_of_their_last_two_frames(settings, frames):
    environment, twin = (make_environment(settings, seed=1, sound=False) for _ in range(2))
    environment.new_game()
    twin.new_game()
    environment.noop(60)  # into the game, where the screens change from frame to frame
    emulated = []
    for _ in range(60 + frames):
        twin.ale.act(Action.NOOP)
        emulated.append(twin.ale.getScreenGrayscale())
    environment.noop(frames)
    expected = cv2.resize(np.maximum(emulated[-2], emulated[-1]), (84, 84), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(environment.get_screen(), expected)
    assert environment.episode_frames() == twin.episode_frames() == 60 + frames


def test_no_op_starts_counted_in_steps_keep_the_frame_skip_phase_of_earlier_versions():
    game, agent = make_game_and_agent(noop_unit="steps")
    frames = first_step_frames(game, agent, games=40)
    assert all(count % 4 == 0 for count in frames)
    assert min(frames) >= 4 and max(frames) <= 4 * 31


def test_training_updates_every_4_steps_and_copies_the_target_every_target_steps():
    game, agent = make_game_and_agent(screen_side=36, target_steps=100)
    play(game, agent, "random", 200)
    assert agent.weight_updates == 0 and agent.total_train_steps == 0
    statistics = play(game, agent, "train", 200)
    assert agent.total_train_steps == 200 and agent.weight_updates == statistics.updates == 50
    # The last target copy was at step 200, so target and online networks agree again.
    state = torch.from_numpy(agent.memory.get_state(10)[None])
    torch.testing.assert_close(agent.network.online(state), agent.network.target(state), rtol=0, atol=0)


def test_phases_never_share_an_episode_in_replay():
    game, agent = make_game_and_agent()
    play(game, agent, "random", 50)
    play(game, agent, "train", 50)
    assert agent.memory.episode_starts[50], "a train phase begins a new episode"
    assert 49 not in set(agent.memory.sample_indices(3000).tolist()), "the abandoned last step has no successor"


def test_an_observer_sees_each_state_and_the_action_a_steer_put_in_place_of_the_agents():
    game, agent = make_game_and_agent()
    agent.let_steer(lambda action, q_values: 2)
    seen = []
    agent.observe_actions(lambda state, q_values, action: seen.append((state.copy(), q_values, action)))
    play(game, agent, "test", 5)
    assert [action for _, _, action in seen] == [2] * 5
    assert all(state.shape == (4, 84, 84) and q_values.shape == (4,) for state, q_values, _ in seen)
    with pytest.raises(ValueError, match="steered already"):
        agent.let_steer(lambda action, q_values: action)


def test_a_stop_request_ends_the_phase_after_the_step_in_progress():
    game, agent = make_game_and_agent()
    stop, actions = StopRequest(), []

    def stop_after_three(state: np.ndarray, q_values: np.ndarray, action: int) -> None:
        actions.append(action)
        if len(actions) == 3:
            stop.request()

    agent.observe_actions(stop_after_three)
    assert play(game, agent, "test", 100, stop).steps == 3 and len(actions) == 3


def test_a_stop_asked_before_a_phase_still_begins_its_game_for_the_save_to_keep():
    game, agent = make_game_and_agent(random_starts=30)
    stop = StopRequest()
    stop.request()
    statistics = play(game, agent, "test", 100, stop)
    # No step was played, but the phase's game began with its no-op frames (drawn from the environment's generator):
    # the save where it stopped keeps that game, and the resumed run goes on with it rather than drawing again.
    assert statistics.steps == 0 and 1 <= game.episode_frames() <= 30
    np.testing.assert_array_equal(game.states()[0, -1], game.get_screen())


def test_a_game_that_ends_in_its_no_op_frames_begins_again_without_them():
    game, _ = make_game_and_agent(random_starts=30, max_test_frames=12)
    game.set_mode("test")
    for _ in range(20):
        game.new_games()
        assert game.episode_frames() < 12 and not game.game_over()


def test_several_games_are_one_batch_of_states_and_actions():
    """The same loop plays games of ale-py's vector environment: an action per game from one forward pass, and
    a transition per game stored in its own replay stream."""
    from simple_dqn.dqn.environments import make_games

    environment = EnvironmentSettings(game="breakout", num_envs=3, screen_width=36, screen_height=36)
    game = make_games(environment, AgentSettings(), history_length=4, seed=2)
    network = DeepQNetwork(game.num_actions(), NetworkSettings(), (4, 36, 36), True, torch.device("cpu"))
    agent = Agent(network, ReplayMemory(3000, (36, 36), seed=1, streams=3), AgentSettings(exploration_rate_start=0.5),
                  game.num_actions(), seed=1)
    statistics = play(game, agent, "train", 300)
    assert statistics.steps == 300 and agent.total_train_steps == 300
    # A minibatch every 4 agent steps over all games, once replay holds more than one (the first 33 transitions).
    assert agent.weight_updates == statistics.updates == 300 // 4 - 33 // 4
    assert agent.memory.count == 300 and game.states().shape == (3, 4, 36, 36)
