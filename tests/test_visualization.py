"""nvis.sh: guided backpropagation and saliency, checked by hand and on the real network and game."""

import base64
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from conftest import assert_clear_error, run_main, run_script
from simple_dqn.dqn.deepqnetwork import DeepQNetwork
from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.dqn.settings import EnvironmentSettings, NetworkSettings
from simple_dqn.watch.guided_backprop import convolutions_of, guided_backprop, saliency, strongest_activations
from simple_dqn.watch.visualization import (
    COLOUR_CODE,
    guided_backprop_sections,
    map_picture,
    saliency_sections,
    state_picture,
)

# One 3x3 screen of 0 and 255 (0 and 1 once scaled), two 2x2 filters, then one 2x2 filter over both.
SCREEN = np.array([[[255, 0, 255], [0, 255, 0], [255, 255, 0]]], dtype=np.uint8)
FIRST_FILTERS = [[[1, -1], [0, 1]], [[-1, 1], [1, -1]]]
SECOND_FILTER = [[[1, 1], [-1, 1]], [[1, -1], [1, 1]]]


def hand_built_network(first_biases=(0.0, 0.0)) -> nn.Sequential:
    network = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Conv2d(2, 1, 2))
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor(FIRST_FILTERS, dtype=torch.float32)[:, None])
        network[0].bias.copy_(torch.tensor(first_biases))
        network[2].weight.copy_(torch.tensor([SECOND_FILTER], dtype=torch.float32))
        network[2].bias.zero_()
    return network


def test_guided_backprop_of_a_hand_built_network_equals_the_hand_computation():
    # Forward: the first filters give [[2, -1], [0, 1]] and [[-2, 2], [1, 0]]; the second layer gives 2.
    # Backward from it: the second filter's weights reach the first layer, and pass where its ReLU was open
    # and they are positive: [[1, 0], [0, 1]] and [[0, 0], [1, 0]] (the -1 at (0, 1) is stopped, as plain
    # backpropagation would not). Those placed as first-layer filters and summed give the map.
    influence, signals = guided_backprop(convolutions_of(hand_built_network()), SCREEN, 1, 0, (0, 0))
    assert influence.tolist() == [[[1, -1, 0], [-1, 3, -1], [1, -1, 1]]]
    assert signals[1][0].tolist() == [[[1, 0], [0, 1]], [[0, 0], [1, 0]]]


def test_the_strongest_activation_of_each_filter_is_found_over_states_and_positions():
    states = np.stack([np.zeros_like(SCREEN), SCREEN])
    strongest = strongest_activations(convolutions_of(hand_built_network()), states, filters=4)
    found = [(each.layer, each.filter, each.value, each.state_index, each.position) for each in strongest]
    assert found == [(0, 0, 2.0, 1, (0, 0)), (0, 1, 2.0, 1, (0, 1)), (1, 0, 2.0, 1, (0, 0))]


def test_the_search_finds_the_same_strongest_activations_in_batches_of_any_size(breakout_states):
    torch.manual_seed(0)
    convolutions = convolutions_of(DeepQNetwork(4, NetworkSettings(), (4, 84, 84), True, torch.device("cpu")).online)
    at_once = strongest_activations(convolutions, breakout_states, filters=6)
    one_by_one = strongest_activations(convolutions, breakout_states, filters=6, batch_size=1)
    where = [(each.layer, each.filter, each.state_index, each.position) for each in at_once]
    assert where == [(each.layer, each.filter, each.state_index, each.position) for each in one_by_one]
    assert [each.value for each in at_once] == pytest.approx([each.value for each in one_by_one], rel=1e-5)
    assert len({each.state_index for each in at_once}) > 1  # the states differ: the search looked at all of them


def test_a_state_is_drawn_with_its_last_three_frames_as_red_green_and_blue():
    state = np.zeros((4, 84, 84), dtype=np.uint8)
    state[0, 0, 0], state[1, 0, 1], state[2, 0, 2], state[3, 0, 3] = 40, 80, 120, 160
    picture = state_picture(state)
    assert picture[0, :4].tolist() == [[0, 0, 0], [80, 0, 0], [0, 120, 0], [0, 0, 160]]
    influence = np.zeros((4, 84, 84))
    influence[3, 5, 5], influence[1, 6, 6] = -2.0, 1.0  # magnitude counts, whatever the sign
    assert map_picture(influence)[5, 5].tolist() == [0, 0, 255] and map_picture(influence)[6, 6].tolist() == [127, 0, 0]


def test_a_filter_that_never_activates_says_so_instead_of_showing_a_blank_map():
    sections = guided_backprop_sections(hand_built_network(first_biases=(0.0, -100.0)), SCREEN[None], filters=2)
    first_layer = sections[0][1]
    assert "never activates" in first_layer[1] and "<img" not in first_layer[1]
    assert first_layer[0].count("<img") == 2


class GuidedReLU(torch.autograd.Function):
    """The guided rule written as autograd, to check the transposed convolutions against."""

    @staticmethod
    def forward(context, inputs):
        context.save_for_backward(inputs)
        return inputs.clamp(min=0)

    @staticmethod
    def backward(context, gradient):
        (inputs,) = context.saved_tensors
        return gradient.clamp(min=0) * (inputs > 0)


@pytest.fixture(scope="module")
def breakout_states() -> np.ndarray:
    """States of a real game of Breakout, played at random, frames stacked as the agent stacks them."""
    environment = ALEEnvironment(EnvironmentSettings(game="breakout"), seed=3)
    environment.new_game()
    rng = np.random.default_rng(3)
    screens = [environment.get_screen()]
    for _ in range(120):
        environment.act(int(rng.integers(environment.num_actions())))
        screens.append(environment.get_screen())
    return np.stack([np.stack(screens[end - 3:end + 1]) for end in range(3, len(screens), 10)])


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_on_the_real_network_the_signal_is_zero_exactly_where_the_forward_relus_are_closed(breakout_states, layer):
    torch.manual_seed(0)
    convolutions = convolutions_of(DeepQNetwork(4, NetworkSettings(), (4, 84, 84), True, torch.device("cpu")).online)
    strongest = [each for each in strongest_activations(convolutions, breakout_states, 4) if each.layer == layer][0]
    state = breakout_states[strongest.state_index]
    influence, signals = guided_backprop(convolutions, state, layer, strongest.filter, strongest.position)

    inputs = (torch.from_numpy(state[None]).float() / 255).requires_grad_()
    activations, pre_activations = inputs, []
    for convolution in convolutions[:layer + 1]:
        pre_activations.append(convolution(activations))
        activations = GuidedReLU.apply(pre_activations[-1])
    activations[0, strongest.filter, strongest.position[0], strongest.position[1]].backward()

    for signal, pre_activation in zip(signals, reversed(pre_activations), strict=True):
        closed = pre_activation <= 0
        assert torch.all(signal[closed] == 0) and torch.any(signal[~closed] > 0)
    assert np.abs(influence).max() > 0
    np.testing.assert_allclose(influence, inputs.grad[0].numpy(), rtol=1e-4, atol=1e-6)


def test_saliency_is_the_gradient_of_the_q_value_of_the_action(breakout_states):
    torch.manual_seed(0)
    network = DeepQNetwork(4, NetworkSettings(), (4, 84, 84), True, torch.device("cpu")).online
    state = breakout_states[-1]
    gradient = saliency(network, state, 2)
    frame, row, column = np.unravel_index(np.abs(gradient).argmax(), gradient.shape)
    nudged = torch.from_numpy(state[None]).float()
    nudged[0, frame, row, column] += 2.0  # two grey levels brighter
    with torch.no_grad():
        change = (network(nudged) - network(torch.from_numpy(state[None])))[0, 2].item()
    assert change == pytest.approx(2.0 * gradient[frame, row, column], rel=0.02)  # Q moves as the gradient says


class Page(HTMLParser):
    """The figures of a visualization page: each one's image sources and caption."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.figures: list[dict] = []
        self.headings: list[str] = []
        self.text = []
        self.where = None
        self.feed(text)

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        if tag == "figure":
            self.figures.append({"images": [], "caption": ""})
        elif tag == "img":
            self.figures[-1]["images"].append(attributes["src"])
        self.where = tag

    def handle_data(self, data):
        if self.where == "figcaption":
            self.figures[-1]["caption"] += data
        elif self.where == "h2":
            self.headings.append(data)
        self.text.append(data)


def decoded(source: str) -> np.ndarray:
    assert source.startswith("data:image/png;base64,")
    return cv2.imdecode(np.frombuffer(base64.b64decode(source.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)


@pytest.mark.slow
def test_nvis_sh_writes_one_page_with_a_state_and_its_map_for_each_layer_and_filter(trained_run, tmp_path):
    page_path = tmp_path / "{game}.html"
    result = run_script("nvis.sh", str(trained_run / "breakout_2.pkl"), "--visualization_file", str(page_path),
                        "--max_test_frames", "1200", "--progress", "false")
    assert result.returncode == 0, result.stderr
    written = tmp_path / "breakout.html"
    assert f"wrote {written}" in result.stdout
    assert written.stat().st_size < 5_000_000
    page = Page(written.read_text())
    assert [heading.split(":")[0] for heading in page.headings] == ["Layer 1", "Layer 2", "Layer 3"]
    assert len(page.figures) == 12  # four filters of each of the three layers
    shown = [figure for figure in page.figures if figure["images"]]
    assert all(len(figure["images"]) == 2 for figure in shown)
    assert all("never activates" in figure["caption"] for figure in page.figures if not figure["images"])
    assert len(shown) >= 6
    state, influence = (decoded(source) for source in shown[0]["images"])
    assert state.shape == influence.shape == (84, 84, 3)  # drawn at 252x252 by the page, stored small
    assert state.max() > 0 and influence.max() == 255  # a map is drawn brightest at its strongest pixel
    assert COLOUR_CODE.format(what="the filter") in "".join(page.text)
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, renamed into place


@pytest.mark.slow
def test_nvis_sh_saliency_shows_the_states_leading_to_the_most_valued_step(trained_run, tmp_path):
    result = run_script("nvis.sh", str(trained_run / "breakout_2.pkl"), "--visualization", "saliency",
                        "--visualization_states", "5", "--visualization_file", str(tmp_path / "saliency.html"),
                        "--max_test_frames", "1200", "--progress", "false")
    assert result.returncode == 0, result.stderr
    page = Page((tmp_path / "saliency.html").read_text())
    assert len(page.figures) == 5 and all(len(figure["images"]) == 2 for figure in page.figures)
    steps = [int(figure["caption"].split("game step ")[1].split(" ")[0]) for figure in page.figures]
    assert steps == list(range(steps[0], steps[0] + 5))
    peak = int(page.headings[0].split("(step ")[1].rstrip(")"))
    assert peak == steps[-1] or (steps[0] == 0 and peak in steps)  # ends at the step valued most, if it can


def test_a_peak_among_the_first_steps_is_shown_with_the_steps_after_it(breakout_states):
    torch.manual_seed(0)
    network = DeepQNetwork(4, NetworkSettings(), (4, 84, 84), True, torch.device("cpu")).online
    count = len(breakout_states)
    q_values = np.zeros((count, 4), dtype=np.float32)
    q_values[1, 2] = 5.0
    actions = [step % 4 for step in range(count)]
    [(heading, figures)] = saliency_sections(network, breakout_states, actions, ["NOOP", "FIRE", "RIGHT", "LEFT"],
                                             q_values, count=3)
    assert heading.endswith("(step 1)")
    assert [figure.split("game step ")[1].split(" ")[0] for figure in figures] == ["0", "1", "2"]
    q_values[1, 2], q_values[-1, 0] = 0.0, 5.0
    [(heading, figures)] = saliency_sections(network, breakout_states, actions, ["NOOP", "FIRE", "RIGHT", "LEFT"],
                                             q_values, count=3)
    assert [figure.split("game step ")[1].split(" ")[0] for figure in figures] == [str(count - 3), str(count - 2),
                                                                                    str(count - 1)]


@pytest.mark.slow
def test_a_visualization_that_could_not_be_written_is_refused_before_the_game(trained_run, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    result = run_script("nvis.sh", str(trained_run / "breakout_2.pkl"), "--visualization_file",
                        str(blocked / "breakout.html"))
    assert_clear_error(result, "visualization")
    assert_clear_error(run_script("nvis.sh", str(trained_run / "breakout_2.pkl"), "--visualization_file",
                                  str(tmp_path)),
                       "is a folder")
    assert_clear_error(run_main("--load_weights", str(trained_run / "breakout_2.pkl"), "--play_games", "1",
                                "--visualization", "saliency"), "--visualization_file")
    assert_clear_error(run_main("--load_weights", str(trained_run / "breakout_2.pkl"), "--visualization_file",
                                str(tmp_path / "page.html"), "--test_steps", "10"), "--play_games")
