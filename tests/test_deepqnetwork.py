"""The Q-learning update against the paper's equations, written out by hand."""

import platform
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import TINY_RUN, assert_clear_error, run_main
from simple_dqn.dqn.deepqnetwork import (
    CenteredRMSProp,
    DeepQNetwork,
    NatureNetwork,
    device_of,
    native_bfloat16,
    resolve_device,
    update_precision_on,
)
from simple_dqn.dqn.replay_memory import Minibatch, ReplayMemory
from simple_dqn.dqn.settings import OPTIMIZERS, NetworkSettings
from simple_dqn.errors import UsageError

SCREEN = (36, 36)  # the smallest screen the Nature convolutions accept, to keep the test fast


def hand_made_batch() -> Minibatch:
    rng = np.random.default_rng(0)
    return Minibatch(
        prestates=rng.integers(0, 256, size=(6, 4, *SCREEN), dtype=np.uint8),
        actions=np.array([0, 1, 2, 0, 1, 2]),
        rewards=np.array([[0.0], [1.0], [-3.0], [5.0], [0.5], [0.0]], dtype=np.float32),
        reward_steps=np.ones(6, dtype=np.int64),
        poststates=rng.integers(0, 256, size=(6, 4, *SCREEN), dtype=np.uint8),
        terminals=np.array([False, False, True, False, True, False]),
    )


def make_network(use_target_network: bool = True, **settings) -> DeepQNetwork:
    torch.manual_seed(0)
    return DeepQNetwork(3, NetworkSettings(**settings), (4, *SCREEN), use_target_network, torch.device("cpu"))


def q_values(network: torch.nn.Module, states: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return network(torch.from_numpy(states)).double().numpy()


def test_targets_are_clipped_reward_plus_discounted_max_of_the_target_network():
    network = make_network(discount_rate=0.9)
    with torch.no_grad():  # make online and target differ, so using the wrong one would show
        for parameter in network.online.parameters():
            parameter.add_(0.05)
    batch = hand_made_batch()
    future = q_values(network.target, batch.poststates).max(axis=1)
    expected = np.clip(batch.rewards[:, 0], -1, 1) + 0.9 * future * (1 - batch.terminals)
    targets = network.targets(*map(torch.from_numpy, (batch.rewards, batch.reward_steps, batch.terminals,
                                                      batch.poststates)))
    np.testing.assert_allclose(targets.numpy(), expected, rtol=1e-5)
    assert targets[2].item() == -1.0 and targets[4].item() == 0.5  # terminals: no future value


def test_an_n_step_target_sums_the_clipped_rewards_discounted_until_the_episode_ends():
    """Three steps: r0 + g r1 + g^2 r2 + g^3 max Q(s3); a row whose episode ended after its second step counts two
    rewards and no future, whatever the rest of the row holds."""
    network = make_network(discount_rate=0.5)
    batch = hand_made_batch()
    rewards = torch.tensor([[1.0, 1.0, 1.0], [2.0, -5.0, 0.5], [1.0, 1.0, 7.0]])
    reward_steps, terminals = torch.tensor([3, 3, 2]), torch.tensor([False, False, True])
    poststates = torch.from_numpy(batch.poststates[:3])
    future = q_values(network.target, batch.poststates[:3]).max(axis=1)
    expected = [1 + 0.5 + 0.25 + 0.125 * future[0], 1 - 0.5 + 0.125 + 0.125 * future[1], 1 + 0.5]
    targets = network.targets(rewards, reward_steps, terminals, poststates)
    np.testing.assert_allclose(targets.numpy(), expected, rtol=1e-5)


def test_loss_is_the_summed_huber_loss_of_the_taken_actions():
    network = make_network(clip_error=0.5)
    batch = hand_made_batch()
    future = q_values(network.target, batch.poststates).max(axis=1)
    targets = np.clip(batch.rewards[:, 0], -1, 1) + 0.99 * future * (1 - batch.terminals)
    taken = q_values(network.online, batch.prestates)[np.arange(6), batch.actions]
    error = np.abs(taken - targets)
    assert (error < 0.5).any() and (error > 0.5).any(), "both sides of the clip should be exercised"
    huber = np.where(error <= 0.5, 0.5 * error**2, 0.5 * (error - 0.25))
    np.testing.assert_allclose(network.loss(batch).item(), huber.sum(), rtol=1e-5)


def test_centered_rmsprop_follows_graves_equation_40():
    weight = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64))
    optimizer = CenteredRMSProp([weight], lr=0.1, alpha=0.95, eps=0.01)
    gradients = [np.array([0.3, -2.0, 0.01]), np.array([-0.1, 1.5, 0.2]), np.array([0.0, 0.4, -3.0])]
    expected = weight.detach().numpy().copy()
    n = np.zeros(3)
    m = np.zeros(3)
    for gradient in gradients:
        weight.grad = torch.tensor(gradient)
        optimizer.step()
        n = 0.95 * n + 0.05 * gradient**2
        m = 0.95 * m + 0.05 * gradient
        expected -= 0.1 * gradient / np.sqrt(n - m**2 + 0.01)
        np.testing.assert_allclose(weight.detach().numpy(), expected, atol=1e-6)


def test_a_training_step_moves_the_weights_by_the_centered_rmsprop_step():
    network = make_network(learning_rate=0.001)
    batch = hand_made_batch()
    before = [p.detach().clone() for p in network.online.parameters()]
    network.online.zero_grad()
    network.loss(batch).backward()
    gradients = [p.grad.detach().clone() for p in network.online.parameters()]
    network.train(batch)
    for old, gradient, new in zip(before, gradients, network.online.parameters(), strict=True):
        n, m = 0.05 * gradient**2, 0.05 * gradient
        expected = old - 0.001 * gradient / torch.sqrt(n - m**2 + 0.01)
        torch.testing.assert_close(new.detach(), expected, atol=1e-6, rtol=0)


def test_target_network_changes_only_when_updated():
    network = make_network()
    batch = hand_made_batch()
    target_before = q_values(network.target, batch.poststates)
    network.train(batch)
    np.testing.assert_array_equal(q_values(network.target, batch.poststates), target_before)
    assert not np.array_equal(q_values(network.online, batch.poststates), target_before)
    network.update_target_network()
    np.testing.assert_array_equal(q_values(network.target, batch.poststates),
                                  q_values(network.online, batch.poststates))


@pytest.mark.parametrize("optimizer", ["centered_rmsprop", "rmsprop", "adam"])
def test_every_optimizer_trains(optimizer):
    network = make_network(optimizer=optimizer)
    batch = hand_made_batch()
    before = network.loss(batch).item()
    for _ in range(20):
        network.train(batch)
    assert network.loss(batch).item() < before


def test_without_a_target_network_the_online_network_values_the_future():
    network = make_network(use_target_network=False)
    assert network.target is network.online
    batch = hand_made_batch()
    network.train(batch)
    future = q_values(network.online, batch.poststates).max(axis=1)
    expected = np.clip(batch.rewards[:, 0], -1, 1) + 0.99 * future * (1 - batch.terminals)
    targets = network.targets(*map(torch.from_numpy, (batch.rewards, batch.reward_steps, batch.terminals,
                                                      batch.poststates)))
    np.testing.assert_allclose(targets.numpy(), expected, rtol=1e-5)


def test_resuming_restores_target_and_optimizer_but_keeps_the_new_learning_rate():
    trained = make_network()
    batch = hand_made_batch()
    for _ in range(3):
        trained.train(batch)
    trained.update_target_network()
    trained.train(batch)  # online and target now differ
    resumed = make_network(learning_rate=0.001)
    resumed.load_state_dict(trained.state_dict(), with_training_state=True)
    for name in ("online", "target"):
        for key, value in getattr(trained, name).state_dict().items():
            torch.testing.assert_close(getattr(resumed, name).state_dict()[key], value, rtol=0, atol=0)
    saved, restored = trained.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    for key in saved:
        torch.testing.assert_close(restored[key]["square_avg"], saved[key]["square_avg"], rtol=0, atol=0)
        torch.testing.assert_close(restored[key]["grad_avg"], saved[key]["grad_avg"], rtol=0, atol=0)
    assert resumed.optimizer.param_groups[0]["lr"] == 0.001


def test_loading_weights_to_test_makes_the_target_a_copy_of_them():
    trained = make_network()
    trained.train(hand_made_batch())
    tested = make_network()
    tested.load_state_dict(trained.state_dict(), with_training_state=False)
    states = hand_made_batch().prestates
    np.testing.assert_array_equal(q_values(tested.online, states), q_values(trained.online, states))
    np.testing.assert_array_equal(q_values(tested.target, states), q_values(trained.online, states))


def test_weights_start_uniform_within_one_over_root_fan_in():
    network = NatureNetwork(4)
    convolutions, head = network.convolutions, network.head
    for layer in (convolutions[0], convolutions[2], convolutions[4], head[0], head[2]):
        bound = 1 / np.sqrt(layer.weight[0].numel())
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.9 * bound
        assert layer.bias.abs().max() <= bound


def test_nature_architecture_shapes():
    network = NatureNetwork(6)
    assert network(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 6)
    assert network.head[0].in_features == 64 * 7 * 7
    assert sum(p.numel() for p in network.parameters()) == 1_687_206


def test_channels_last_layout_gives_the_same_q_values_and_gradients():
    torch.manual_seed(0)
    plain = NatureNetwork(4)
    fast = NatureNetwork(4, channels_last=True)
    fast.load_state_dict(plain.state_dict())
    first_inputs = []
    fast.convolutions[0].register_forward_hook(lambda layer, inputs, output: first_inputs.append(inputs[0]))
    states = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (8, 5, 84, 84), dtype=np.uint8))[:, 1:]
    plain_q, fast_q = plain(states), fast(states)
    torch.testing.assert_close(fast_q, plain_q, rtol=1e-4, atol=1e-5)
    assert first_inputs[0].is_contiguous(memory_format=torch.channels_last)
    assert not first_inputs[0].is_contiguous()
    plain_q.sum().backward()
    fast_q.sum().backward()
    for plain_parameter, fast_parameter in zip(plain.parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(fast_parameter.grad, plain_parameter.grad, rtol=1e-3, atol=1e-5)


def test_the_cpu_networks_take_channels_last_states():
    network = DeepQNetwork(4, NetworkSettings(), (4, 84, 84), True, torch.device("cpu"))
    assert network.online.memory_format is torch.channels_last
    assert network.target.memory_format is torch.channels_last


def test_asking_for_a_gpu_without_one_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(UsageError, match="--backend cpu"):
        resolve_device("gpu", None)
    assert resolve_device(None, None).type == "cpu"


@pytest.mark.parametrize("device", ["meta", "mps"])
def test_a_device_the_network_does_not_run_on_is_refused_in_one_line(device):
    assert_clear_error(run_main("breakout", "--device", device), "--device: expected cpu, cuda or cuda:N", device)


def test_a_gpu_past_those_pytorch_sees_is_refused_in_one_line():
    with pytest.raises(UsageError, match=r"^--device cuda:3: PyTorch sees 1 GPU, cuda:0 "):
        device_of("cuda:3", gpus=1)
    with pytest.raises(UsageError, match=r"PyTorch sees 2 GPUs, cuda:0 to cuda:1 "):
        device_of("cuda:2", gpus=2)
    assert device_of("cuda:1", gpus=2) == torch.device("cuda:1")
    with pytest.raises(UsageError, match="sees none: use --device cpu"):
        device_of("cuda", gpus=0)


@pytest.mark.parametrize("settings", [*({"optimizer": optimizer} for optimizer in OPTIMIZERS), {"double_q": True},
                                      {"dueling": True}, {"clip_error": 0.0}])
def test_the_whole_update_runs_on_the_meta_device_so_no_tensor_is_left_on_another(settings):
    """PyTorch's meta device has shapes but no data, and refuses to mix with a tensor of another device: without a
    GPU, it catches what a GPU would, a tensor the update leaves on the CPU. The minibatch is the replay memory's,
    with its own array types."""
    rng = np.random.default_rng(0)
    memory = ReplayMemory(100, SCREEN, 4, batch_size=8, seed=0)
    for step in range(40):
        memory.add(rng.integers(0, 256, SCREEN, dtype=np.uint8), step % 3, float(step % 2), step % 10 == 9)
    network = DeepQNetwork(3, NetworkSettings(**settings), (4, *SCREEN), True, torch.device("meta"))
    loss = network.train(memory.get_minibatch())
    assert loss.device.type == "meta"
    for state in network.optimizer.state.values():
        assert all(value.device.type == "meta" for key, value in state.items() if key != "step")


def test_adam_loads_a_state_saved_with_other_settings_with_its_own():
    """simple_dqn 2.0's Adam was unfused, and PyTorch keeps an unfused Adam's step counts on the CPU: it moves them
    to the GPU, where the fused step needs them, only when it loads the state with the fused settings (otherwise,
    "state_steps ... cuda:0 and cpu" at the first update)."""
    earlier = make_network(optimizer="adam")
    earlier.optimizer = torch.optim.Adam(earlier.online.parameters(), lr=0.00025, eps=1e-8)  # as 2.0 made it
    earlier.train(hand_made_batch())
    assert earlier.state_dict()["optimizer"]["param_groups"][0]["fused"] is None
    resumed = make_network(optimizer="adam")
    loaded_with = []
    resumed.optimizer.register_load_state_dict_post_hook(
        lambda optimizer: loaded_with.extend(group["fused"] for group in optimizer.param_groups))
    resumed.load_state_dict(earlier.state_dict(), with_training_state=True)
    assert loaded_with == [True]
    resumed.train(hand_made_batch())


@pytest.mark.filterwarnings("ignore:.*copying from a non-meta parameter")  # the meta device holds no weights
def test_an_adam_state_saved_on_the_cpu_resumes_on_a_device_of_another_adam():
    """The same the other way: the CPU's fused Adam saved its step counts with the weights, and the meta device's
    unfused Adam reads them as numbers, on the CPU."""
    saved = make_network(optimizer="adam")
    saved.train(hand_made_batch())
    elsewhere = DeepQNetwork(3, NetworkSettings(optimizer="adam"), (4, *SCREEN), True, torch.device("meta"))
    elsewhere.load_state_dict(saved.state_dict(), with_training_state=True)
    assert elsewhere.train(hand_made_batch()).device.type == "meta"


def test_adam_takes_its_epsilon_from_the_option():
    network = make_network(optimizer="adam", learning_rate=1e-4, adam_epsilon=6.4e-7)
    assert isinstance(network.optimizer, torch.optim.Adam)
    assert network.optimizer.param_groups[0]["eps"] == 6.4e-7


def test_adam_takes_the_fused_step_of_pytorchs_reference_adam():
    fused, reference = make_network(optimizer="adam", learning_rate=1e-3), make_network(optimizer="adam")
    assert fused.optimizer.param_groups[0]["fused"]
    reference.optimizer = torch.optim.Adam(reference.online.parameters(), lr=1e-3, foreach=False)
    for _ in range(5):
        fused.train(hand_made_batch())
        reference.train(hand_made_batch())
    for (name, weights), expected in zip(fused.online.named_parameters(), reference.online.parameters(), strict=True):
        assert not torch.equal(weights, make_network().online.get_parameter(name)), name  # it did learn
        torch.testing.assert_close(weights, expected, rtol=1e-5, atol=1e-6, msg=name)


def test_a_bfloat16_update_gives_nearly_the_float32_loss_and_keeps_float32_weights():
    batch = hand_made_batch()
    exact, rounded = make_network(), make_network(update_precision="bfloat16")
    full, half = exact.loss(batch).item(), rounded.loss(batch).item()
    assert half != full, "the update should really run in bfloat16"
    assert half == pytest.approx(full, rel=0.05)
    rounded.train(batch)
    assert all(parameter.dtype == torch.float32 for parameter in rounded.online.parameters())


def test_bfloat16_is_native_on_a_cpu_whose_flags_name_bfloat16_instructions():
    if platform.machine() != "x86_64":
        pytest.skip("the flags below are x86's")
    flags = set(Path("/proc/cpuinfo").read_text().split())
    assert native_bfloat16(torch.device("cpu")) == bool(flags & {"avx512_bf16", "amx_bf16"})


def test_auto_precision_is_float32_on_a_device_without_bfloat16_arithmetic_and_what_was_asked_stays():
    meta = torch.device("meta")  # PyTorch's device of shapes alone, which computes nothing natively
    assert update_precision_on("auto", meta) == ("float32", "--update_precision auto: meta has no bfloat16 arithmetic")
    assert update_precision_on("bfloat16", meta) == ("bfloat16", "--update_precision bfloat16")
    assert update_precision_on("float32", torch.device("cpu")).name == "float32"


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "bfloat16", "auto"])
def test_a_run_warns_at_the_start_when_its_bfloat16_update_would_be_emulated(tmp_path, precision):
    """auto never asks for what would be emulated: it says what it chose and why, in the log and the run record."""
    result = run_main("breakout", *TINY_RUN, "--random_steps", "100", "--train_steps", "0", "--test_steps", "0",
                      "--epochs", "1", "--update_precision", precision, "--save_weights_prefix",
                      str(tmp_path / "breakout"), "--csv_file", str(tmp_path / "breakout.csv"))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    warnings = [number for number, line in enumerate(lines) if "--update_precision bfloat16:" in line]
    native = native_bfloat16(torch.device("cpu"))
    emulated = precision == "bfloat16" and not native
    assert len(warnings) == emulated, result.stderr
    if emulated:  # before the run's first line about its game, in one line with the slowdown
        [warning] = warnings
        assert warning < next(number for number, line in enumerate(lines) if "with 4 actions" in line)
        assert "times as long as in float32" in lines[warning]
    chosen = ("bfloat16" if native else "float32") if precision == "auto" else precision
    why = ("this CPU computes bfloat16 natively" if native else "this CPU has no bfloat16 arithmetic")
    said = [line.split(" ", 2)[2] for line in lines if " updates in " in line]  # after the log's date and time
    assert said == ([f"updates in {chosen} (--update_precision auto: {why})"] if precision == "auto" else [])
    record = yaml.safe_load((tmp_path / "breakout.yaml").read_text())
    assert record["options"]["update_precision"] == precision
    assert record["update_precision"]["chosen"] == chosen
    assert record["update_precision"]["why"] == (f"--update_precision auto: {why}" if precision == "auto"
                                                 else f"--update_precision {precision}")
