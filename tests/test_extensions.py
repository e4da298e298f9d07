"""Double DQN and the dueling network: the two worked examples of extending the agent."""

import pytest
import torch
from torch import nn

from conftest import TINY_RUN, assert_clear_error, run_main, run_script
from simple_dqn.command_line import parse_options
from simple_dqn.dqn.deepqnetwork import DeepQNetwork
from simple_dqn.dqn.heads import DuelingHead, NatureHead
from simple_dqn.dqn.settings import NetworkSettings
from simple_dqn.dqn.target_rules import double_target, max_target


class Fixed(nn.Module):
    """A network whose Q-values for a batch of next states are given: the two networks of a hand-made case."""

    def __init__(self, q_values: list[list[float]]) -> None:
        super().__init__()
        self.q_values = torch.tensor(q_values)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.q_values


ONLINE = Fixed([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0]])  # prefers action 1, then action 2
TARGET = Fixed([[10.0, 20.0, 30.0], [7.0, 8.0, 9.0]])  # prefers action 2 in both


def test_double_dqn_values_the_online_networks_choice_with_the_target_network():
    poststates = torch.zeros(2, 4, 84, 84, dtype=torch.uint8)
    assert double_target(ONLINE, TARGET, poststates).tolist() == [20.0, 9.0]
    assert max_target(ONLINE, TARGET, poststates).tolist() == [30.0, 9.0]  # differs only where the two disagree


def test_the_double_dqn_target_is_the_reward_plus_the_discounted_value_unless_terminal():
    network = DeepQNetwork(3, NetworkSettings(double_q=True, discount_rate=0.5), (4, 84, 84), True,
                           torch.device("cpu"))
    network.online, network.target = ONLINE, TARGET
    rewards, terminals = torch.tensor([[2.0], [-3.0]]), torch.tensor([False, True])
    targets = network.targets(rewards, torch.tensor([1, 1]), terminals, torch.zeros(2, 4, 84, 84, dtype=torch.uint8))
    assert targets.tolist() == [1.0 + 0.5 * 20.0, -1.0]  # rewards clipped to [-1, 1]; no future after a terminal


@pytest.mark.slow
def test_the_options_choose_the_head_and_the_target_rule_the_network_uses():
    for options, head, rule in ((["--double_q", "true"], NatureHead, double_target),
                                (["--dueling", "true"], DuelingHead, max_target), ([], NatureHead, max_target)):
        settings = parse_options(["breakout", *options]).network
        network = DeepQNetwork(4, settings, (4, 84, 84), True, torch.device("cpu"))
        assert type(network.online.head) is head and network.target_rule is rule
    assert_clear_error(run_main("breakout", "--double_q", "true", "--target_steps", "0"), "--target_steps")


def test_the_dueling_heads_mean_q_value_is_the_state_value():
    torch.manual_seed(0)
    head = DuelingHead(features=64, num_actions=6)
    features = torch.randn(10, 64)
    q_values = head(features)
    torch.testing.assert_close(q_values.mean(dim=1), head.value(features).squeeze(1))
    torch.testing.assert_close(q_values - q_values.mean(dim=1, keepdim=True),
                               head.advantage(features) - head.advantage(features).mean(dim=1, keepdim=True))


def test_the_dueling_head_sends_the_trunk_its_gradient_scaled_by_one_over_root_two():
    torch.manual_seed(0)
    head = DuelingHead(features=64, num_actions=6)
    features = torch.randn(10, 64, requires_grad=True)
    head(features).sum().backward()
    scaled = features.grad.clone()
    features.grad = None
    value, advantage = head.value(features), head.advantage(features)
    (value + advantage - advantage.mean(dim=1, keepdim=True)).sum().backward()
    torch.testing.assert_close(scaled, features.grad / 2 ** 0.5)


@pytest.mark.parametrize("variant", [["--double_q", "true"], ["--dueling", "true"], ["--double_q", "true",
                                                                                       "--dueling", "true",
                                                                                       "--n_step", "3"]])
@pytest.mark.slow
def test_a_run_with_each_variant_writes_a_snapshot_that_test_sh_evaluates(tmp_path, variant):
    trained = run_main("breakout", *TINY_RUN, *variant, "--epochs", "1", "--save_weights_prefix",
                       str(tmp_path / "breakout"), "--csv_file", str(tmp_path / "breakout.csv"))
    assert trained.returncode == 0, trained.stderr
    snapshot = torch.load(tmp_path / "breakout_1.pkl", weights_only=True)
    assert snapshot["options"]["double_q"] == ("--double_q" in variant)
    assert snapshot["options"]["dueling"] == ("--dueling" in variant)
    assert snapshot["options"]["n_step"] == (3 if "--n_step" in variant else 1)
    assert any(".advantage." in name for name in snapshot["network"]["online"]) == ("--dueling" in variant)
    tested = run_script("test.sh", str(tmp_path / "breakout_1.pkl"), "--test_steps", "300", "--progress", "false")
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.startswith("tested ")


@pytest.mark.slow
def test_a_dueling_snapshot_cannot_drive_a_network_without_the_dueling_head(tmp_path):
    trained = run_main("breakout", *TINY_RUN, "--dueling", "true", "--epochs", "1", "--test_steps", "0",
                       "--save_weights_prefix", str(tmp_path / "breakout"), "--csv_file", str(tmp_path / "b.csv"))
    assert trained.returncode == 0, trained.stderr
    refused = run_script("test.sh", str(tmp_path / "breakout_1.pkl"), "--dueling", "false")
    assert refused.returncode == 2 and "--dueling" in refused.stderr and "Traceback" not in refused.stderr
