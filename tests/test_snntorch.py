"""What docs/from_snntorch.md says about snnTorch, checked against snnTorch itself.

snnTorch and PyTorch are not dependencies of the package or its tests: this file runs only where
both are installed (CI skips it). The same weights and input spikes go through snnTorch's neurons
(a current-based ``RSynaptic``, a ``RLeaky``, a ``Leaky`` with its recurrence written out) and
through ``SpikingRNNClassifier.simulate``; spikes, membrane potentials, readout traces, the loss
and the gradients are compared.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")
from snntorch import surrogate  # noqa: E402

from motorsrnn import SpikingRNNClassifier  # noqa: E402

DOC = Path(__file__).resolve().parent.parent / "docs" / "from_snntorch.md"

N_IN, N_H, N_OUT, T, B = 6, 10, 3, 40, 4
BETA, ALPHA, BETA_O = 0.95, 0.8, 0.9


def tau(decay, dt=1.0):
    """The time constant (ms) of a decay factor per step of ``dt`` ms: snnTorch's beta -> tau_mem."""
    return -dt / math.log(decay)


class Net(torch.nn.Module):
    """fc1 -> recurrent LIF population -> fc2 -> snn.Leaky(reset_mechanism="none"): the readout."""

    def __init__(self, kind, reset, spike_grad, learn=False):
        super().__init__()
        torch.manual_seed(1)
        self.kind = kind
        self.fc1 = torch.nn.Linear(N_IN, N_H)
        if kind == "RSynaptic":
            # learn: one trainable decay per neuron, as train_time_constants=True
            alpha, beta = (torch.full((N_H,), ALPHA), torch.full((N_H,), BETA)) if learn else (ALPHA, BETA)
            self.lif = snn.RSynaptic(alpha=alpha, beta=beta, linear_features=N_H, spike_grad=spike_grad,
                                     reset_mechanism=reset, learn_alpha=learn, learn_beta=learn)
            self.rec = self.lif.recurrent
        elif kind == "RLeaky":
            self.lif = snn.RLeaky(beta=BETA, linear_features=N_H, spike_grad=spike_grad, reset_mechanism=reset)
            self.rec = self.lif.recurrent
        else:  # Leaky, its recurrence by hand: the previous step's spikes through a Linear
            self.lif = snn.Leaky(beta=BETA, spike_grad=spike_grad, reset_mechanism=reset)
            self.rec = torch.nn.Linear(N_H, N_H)
        self.fc2 = torch.nn.Linear(N_H, N_OUT)
        self.out = snn.Leaky(beta=BETA_O, reset_mechanism="none")
        with torch.no_grad():  # a moderate rate, so that resets take part (the synaptic current sums more)
            self.fc1.weight.mul_(1.0 if kind == "RSynaptic" else 3.0)

    def forward(self, x):  # x: (T, B, N_IN), snnTorch's time-first layout
        cur = self.fc1(x)
        spk, syn, mem = torch.zeros(B, N_H), torch.zeros(B, N_H), torch.zeros(B, N_H)
        memo = torch.zeros(B, N_OUT)
        S, U, O = [], [], []
        for t in range(x.shape[0]):
            if self.kind == "RSynaptic":
                spk, syn, mem = self.lif(cur[t], spk, syn, mem)
            elif self.kind == "RLeaky":
                spk, mem = self.lif(cur[t], spk, mem)
            else:
                spk, mem = self.lif(cur[t] + self.rec(spk), mem)
            _, memo = self.out(self.fc2(spk), memo)
            S.append(spk), U.append(mem), O.append(memo)
        return torch.stack(S), torch.stack(U), torch.stack(O)


def compare(kind, reset, surrogate_name="fast_sigmoid", slope=25.0, learn=False):
    """(snnTorch's, motorsrnn's) spikes, membranes, readouts, losses and gradients."""
    spike_grad = {"fast_sigmoid": surrogate.fast_sigmoid(slope=slope), "arctan": surrogate.atan(alpha=slope)}
    net = Net(kind, reset, spike_grad[surrogate_name], learn)
    rng = np.random.default_rng(0)
    X = (rng.random((B, T, N_IN)) < 0.3).astype(np.uint8)
    y = np.array([0, 1, 2, 1])
    est = SpikingRNNClassifier(n_hidden=N_H, tau_mem=tau(BETA), tau_syn=tau(ALPHA) if kind == "RSynaptic" else 0.0,
                               tau_out=tau(BETA_O), reset=reset, surrogate=surrogate_name, surrogate_slope=slope,
                               train_time_constants=learn, max_epochs=0, n_jobs=1).fit(X, y)
    est.set_weights({"w_in": net.fc1.weight.detach().numpy(), "w_rec": net.rec.weight.detach().numpy(),
                     "b_h": (net.fc1.bias + net.rec.bias).detach().numpy(),  # one bias per population
                     "w_out": net.fc2.weight.detach().numpy(), "b_out": net.fc2.bias.detach().numpy()})
    S, U, O = net(torch.tensor(X, dtype=torch.float32).permute(1, 0, 2))
    loss = torch.nn.functional.cross_entropy(O.mean(0), torch.tensor(y))  # readout="mean"
    loss.backward()
    grads = {"w_in": net.fc1.weight.grad, "w_rec": net.rec.weight.grad, "b_h": net.fc1.bias.grad,
             "w_out": net.fc2.weight.grad, "b_out": net.fc2.bias.grad}
    if learn:
        grads.update(alpha_h=net.lif.alpha.grad, beta_h=net.lif.beta.grad)
    theirs = (S.detach().permute(1, 0, 2).numpy(), U.detach().permute(1, 0, 2).numpy(),
              O.detach().permute(1, 0, 2).numpy(), float(loss), {k: g.numpy() for k, g in grads.items()})
    sim = est.simulate(X)
    ours = (sim.spikes, sim.membrane, sim.readout, *est.loss_and_grad(X, y))
    return theirs, ours


@pytest.mark.parametrize("kind, reset, surrogate_name, slope, learn", [
    ("RSynaptic", "subtract", "fast_sigmoid", 25.0, False),
    ("RLeaky", "subtract", "fast_sigmoid", 25.0, False),
    ("Leaky", "zero", "fast_sigmoid", 25.0, False),
    ("RSynaptic", "subtract", "arctan", 2.0, False),  # snnTorch's default surrogate, atan(alpha=2)
    ("RSynaptic", "subtract", "fast_sigmoid", 25.0, True),  # learn_alpha, learn_beta per neuron
])
def test_the_same_network_in_snntorch(kind, reset, surrogate_name, slope, learn):
    (S, U, O, loss, grads), (s, u, o, our_loss, our_grads) = compare(kind, reset, surrogate_name, slope, learn)
    assert set(grads) == set(our_grads)
    assert 0.05 < S.mean() < 0.8  # neither silent nor saturated
    np.testing.assert_array_equal(s, S.astype(np.uint8))
    np.testing.assert_allclose(u, U, atol=1e-4)
    np.testing.assert_allclose(o, O, atol=1e-4)
    assert our_loss == pytest.approx(loss, rel=1e-5)
    for k, g in grads.items():
        np.testing.assert_allclose(our_grads[k], g, rtol=0, atol=2e-4 * np.abs(g).max(), err_msg=k)


@pytest.mark.parametrize("kind", ["RLeaky", "RSynaptic"])
def test_the_zero_reset_of_rleaky_and_rsynaptic_differs(kind):
    """snnTorch's RLeaky and RSynaptic zero the new membrane, input included, after a spike;
    reset="zero" (the spec's, and snn.Leaky's) zeroes only the decayed old one."""
    (S, U, *_), (s, u, *_) = compare(kind, "zero")
    after = np.zeros_like(S, dtype=bool)
    after[:, 1:] = S[:, :-1] > 0
    np.testing.assert_array_equal(U[after], 0.0)  # theirs: 0 on the step after each spike
    assert np.abs(u[after]).max() > 0.1  # ours: that step's input current


def test_the_docs_recipe_brings_a_trained_snntorch_network_in():
    """docs/from_snntorch.md's block, run as written on an RLeaky network."""
    (block,) = [b for b in re.findall(r"^```python\n(.*?)^```", DOC.read_text(), re.S | re.M)
                if "net.lif.recurrent.weight" in b]
    net = Net("RLeaky", "subtract", surrogate.fast_sigmoid(slope=25.0))
    rng = np.random.default_rng(3)
    X = (rng.random((12, T, N_IN)) < 0.3).astype(np.uint8)
    y = np.arange(12) % N_OUT
    namespace = {"net": net, "X": X, "y": y}
    exec(block, namespace)
    _, _, O = net(torch.tensor(X, dtype=torch.float32).permute(1, 0, 2))
    theirs = O.detach().mean(0).numpy()
    np.testing.assert_allclose(namespace["clf"].decision_function(X), theirs, atol=1e-4)
    np.testing.assert_array_equal(namespace["clf"].predict(X), theirs.argmax(axis=1))


def test_a_plain_adam_loop_is_recurrent_lr_scale_1_without_clipping():
    """Two full-batch steps from the same weights: torch.optim.Adam on the same loss, and fit with
    recurrent_lr_scale=1.0, max_grad_norm=None (one batch per epoch: no shuffled order)."""
    net = Net("RSynaptic", "subtract", surrogate.fast_sigmoid(slope=25.0))
    rng = np.random.default_rng(0)
    X = (rng.random((B, T, N_IN)) < 0.3).astype(np.uint8)
    y = np.array([0, 1, 2, 1])
    est = SpikingRNNClassifier(n_hidden=N_H, tau_mem=tau(BETA), tau_syn=tau(ALPHA), tau_out=tau(BETA_O),
                               recurrent_lr_scale=1.0, max_grad_norm=None, max_epochs=0, n_jobs=1).fit(X, y)
    est.set_weights({"w_in": net.fc1.weight.detach().numpy(), "w_rec": net.rec.weight.detach().numpy(),
                     "b_h": (net.fc1.bias + net.rec.bias).detach().numpy(),
                     "w_out": net.fc2.weight.detach().numpy(), "b_out": net.fc2.bias.detach().numpy()})
    start = est.get_weights()
    with torch.no_grad():  # one bias per population, as in motorsrnn
        net.fc1.bias.add_(net.rec.bias)
        net.rec.bias.zero_()
    params = [net.fc1.weight, net.fc1.bias, net.rec.weight, net.fc2.weight, net.fc2.bias]
    opt = torch.optim.Adam(params, lr=0.01)
    xt = torch.tensor(X, dtype=torch.float32).permute(1, 0, 2)
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt)[2].mean(0), torch.tensor(y)).backward()
        opt.step()
    est.set_params(warm_start=True, max_epochs=2, batch_size=B, learning_rate=0.01).fit(X, y)
    ours = est.get_weights()
    for k, p in {"w_in": net.fc1.weight, "b_h": net.fc1.bias, "w_rec": net.rec.weight,
                 "w_out": net.fc2.weight, "b_out": net.fc2.bias}.items():
        moved = np.abs(p.detach().numpy() - start[k]).max()
        assert moved > 5e-3, k  # two steps of about lr each
        np.testing.assert_allclose(ours[k], p.detach().numpy(), rtol=0, atol=1e-2 * moved, err_msg=k)
