"""An independent reference of the spec's equations (``docs/model.md``) for the single-population
network, written with the ``autograd`` package so that an automatic-differentiation framework, not
our BPTT, computes its gradient. Used by the tests only.
"""

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.extend import defvjp, primitive

SLOPE = {"fast_sigmoid": 25.0, "arctan": 2.0, "triangle": 25.0, "sigmoid": 25.0}


def surrogate_grad(v, kind, k):
    if kind == "fast_sigmoid":
        return 1.0 / (1.0 + k * np.abs(v)) ** 2
    if kind == "arctan":
        return (k / 2.0) / (1.0 + (np.pi * k * v / 2.0) ** 2)
    if kind == "triangle":
        return np.maximum(0.0, 1.0 - k * np.abs(v))
    if kind == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-k * v))
        return k * s * (1.0 - s)
    raise ValueError(f"the reference has no formula for the surrogate {kind!r}: add it here and to SLOPE")


def make_spike_fn(kind, k):
    @primitive
    def spike(v):
        return (v > 0).astype(float)

    defvjp(spike, lambda ans, v: lambda g: g * surrogate_grad(v, kind, k))
    return spike


@primitive
def detach(x):
    return x


defvjp(detach, lambda ans, x: lambda g: 0.0 * g)


def forward(params, X, cfg, record=False):
    """Spec forward pass. ``params``: dict with w_in (H, C), w_rec (H, H), b_h (H,), w_out (K, H),
    b_out (K,). Returns the window logits (n, K), or the traces when ``record``."""
    dt = cfg.get("dt", 1.0)
    alpha = 0.0 if cfg["tau_syn"] == 0 else np.exp(-dt / cfg["tau_syn"])
    beta = np.exp(-dt / cfg["tau_mem"])
    beta_o = 0.0 if cfg["tau_out"] == 0 else np.exp(-dt / cfg["tau_out"])
    theta = cfg["threshold"]
    kind = cfg["surrogate"]
    k = cfg.get("surrogate_slope") or SLOPE[kind]
    spike = make_spike_fn(kind, k)
    # trained per-neuron decay factors, when the network has them
    alpha = params.get("alpha_h", alpha)
    beta = params.get("beta_h", beta)
    n, T, _ = X.shape
    H = params["w_rec"].shape[0]
    K = params["w_out"].shape[0]
    I = anp.zeros((n, H))
    U = anp.zeros((n, H))
    s = anp.zeros((n, H))
    O = anp.zeros((n, K))
    Os, Us, Ss = [], [], []
    for t in range(T):
        a = anp.dot(X[:, t, :], params["w_in"].T) + anp.dot(s, params["w_rec"].T) + params["b_h"]
        I = alpha * I + a
        s_prev = detach(s) if cfg["detach_reset"] else s
        if cfg["reset"] == "subtract":
            U = beta * U + I - theta * s_prev
        else:
            U = beta * U * (1.0 - s_prev) + I
        s = spike(U - theta)
        O = beta_o * O + anp.dot(s, params["w_out"].T) + params["b_out"]
        Os.append(O)
        Us.append(U)
        Ss.append(s)
    if record:
        return np.stack(Us, 1), np.stack(Ss, 1), np.stack(Os, 1)
    if cfg["readout"] == "__spikes__":
        return anp.stack(Ss, axis=1)
    Ost = anp.stack(Os, axis=1)
    if cfg["readout"] == "__traces__":
        return Ost
    if cfg["readout"] == "mean":
        return anp.mean(Ost, axis=1)
    if cfg["readout"] == "last":
        return Ost[:, -1, :]
    return anp.max(Ost, axis=1)


def traces(params, X, cfg):
    """The readout traces O[t], (n, T, K), differentiably."""
    cfg = dict(cfg, readout="__traces__")
    return forward(params, X, cfg)


def spikes(params, X, cfg):
    """The hidden spikes s[t], (n, T, H), differentiably (through the surrogate)."""
    cfg = dict(cfg, readout="__spikes__")
    return forward(params, X, cfg)


def rate_filter(T, kernel, tau, dt):
    """The activity-matching kernel of ``docs/model.md`` as a (T, T) matrix ``M``: per trial,
    ``r_hat = M @ s`` in spikes per bin (``r_hat[t] = sum_t' M[t, t'] s[t']``).

    - ``"exponential"``: ``M[t, t'] = (1 - d) d^(t - t')`` for ``t' <= t``, ``d = exp(-dt / tau)``
      (the causal recursion ``r[t] = d r[t-1] + (1 - d) s[t]`` from ``r[-1] = 0``).
    - ``"gaussian"``: ``w = exp(-((t - t') dt)^2 / (2 tau^2))`` for ``|t - t'| <= ceil(4 tau / dt)``,
      0 beyond; each row divided by its sum (the truncated kernel's sum mid-trial, its part inside
      the trial near the edges).
    """
    t = np.arange(T)
    lag = t[:, None] - t[None, :]
    if kernel == "exponential":
        d = np.exp(-dt / tau)
        return np.where(lag >= 0, (1.0 - d) * d ** np.maximum(lag, 0), 0.0)
    m = int(np.ceil(4.0 * tau / dt))
    w = np.where(np.abs(lag) <= m, np.exp(-0.5 * (lag * dt / tau) ** 2), 0.0)
    return w / w.sum(axis=1, keepdims=True)


def filtered_rates(S, kernel, tau, dt, hz=True):
    """``r_hat`` of spike trains ``S`` (n, T, k), differentiably: in Hz (``hz``) or spikes per bin."""
    M = rate_filter(S.shape[1], kernel, tau, dt) * (1000.0 / dt if hz else 1.0)
    return anp.matmul(M, S)


def activity_loss(S, R, kernel, tau, dt, weight, hz=True, neuron_weights=None, noise_correction=False):
    """The activity-matching term of ``docs/model.md`` for spike trains ``S`` (n, T, k) and
    recorded activity ``R`` (n, T, k), differentiably:
    ``weight * mean over (trials, t, k) of w_k (r_hat_k[t] - R_k[t])^2`` (``w_k = 1`` by default).
    With ``noise_correction``, ``q_k[t] = sum_t' M[t, t']^2 S_k[t']`` (``M``: the filter matrix,
    ``r_hat = M S``) is subtracted from each squared error."""
    M = rate_filter(S.shape[1], kernel, tau, dt) * (1000.0 / dt if hz else 1.0)
    r = anp.matmul(M, S)
    w = 1.0 if neuron_weights is None else np.asarray(neuron_weights, dtype=np.float64)
    err = (r - R) ** 2
    if noise_correction:
        err = err - anp.matmul(M**2, S)
    return weight * anp.mean(w * err)


def mse(params, X, y, cfg):
    """Mean squared error of the traces (y per step, 3-D) or of the window logits (y 2-D)."""
    out = traces(params, X, cfg) if y.ndim == 3 else forward(params, X, cfg)
    return anp.mean((out - y) ** 2)


def mse_and_grad(params, X, y, cfg):
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    X = np.asarray(X, dtype=np.float64)
    return float(mse(params, X, y, cfg)), grad(mse)(params, X, y, cfg)


def loss(params, X, y, cfg):
    z = forward(params, X, cfg)
    m = anp.max(z, axis=1, keepdims=True)
    lse = anp.log(anp.sum(anp.exp(z - m), axis=1)) + m[:, 0]
    return anp.mean(lse - z[np.arange(len(y)), y])


def loss_and_grad(params, X, y, cfg):
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    X = np.asarray(X, dtype=np.float64)
    return float(loss(params, X, y, cfg)), grad(loss)(params, X, y, cfg)
