#!/usr/bin/env python3
"""Regenerate the PyTorch goldens in test/goldens/torch/*.json.

Why this exists: weft's recurrent layers, training step and optimizers claim to compute what
PyTorch computes. The goldens are the outside oracle for that claim: PyTorch's own float64
values for fixed, seeded weights and inputs, which the tests load by parameter name and match
to float32 precision. This script is how they are made, so anyone can see exactly what PyTorch
was asked and make them again (test/goldens/README.md describes every field).

What each kind of case checks:
- Stack cases (rnn_*, lstm_*, gru_*; test/goldens-stack.test.ts): one nn.RNN / nn.LSTM / nn.GRU,
  batch_first, zero initial state. Forward: y, h_n (and c_n). Backward of the loss
  sum(y*R) + sum(h_n*S) (+ sum(c_n*U)), so dL/dy = R, dL/dh_n = S, dL/dc_n = U: the gradient of
  every parameter by PyTorch's name and of the input x. Covers tanh and relu RNNs, LSTM and GRU,
  one to three layers, uni- and bidirectional, several batch and step counts.
- Model cases (model_*; test/goldens-model.test.ts, packages/core/src/optim/adam.test.ts):
  one-hot tokens -> recurrent stack (`rnn.`) -> linear head (`head.`) -> mean softmax
  cross-entropy over all batch*steps positions, then ONE step of
  Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8): the loss, every gradient, every parameter after
  the step. Checks the whole training step (head, loss, reduction over the batch, Adam).
- Trajectory cases (trajectory_*; test/trajectory.test.ts, test/workers-trajectory.test.ts): the
  same kind of tagger trained forty steps, each step clip_grad_norm_(max_norm=1.0) then
  Adam(lr=0.01); step k uses batches[k % 8]. Every step's loss and pre-clip gradient norm, and
  the parameters after the last step: checks the training loop over many steps (Adam's state
  carried from step to step) and the global norm that clipping measures. With these sizes the
  norms stay below 1.0, so the clip never scales here; packages/core/src/optim/clip.test.ts
  checks the scaling.

Random draws: every case has its own seed and its own torch.Generator, so adding or changing a
case leaves the others as they were. Parameters are drawn first, in state_dict order, uniform in
[-INIT, INIT) (0.5 for stack and model cases, 0.3 for trajectories); then the stack case's x, R,
S, U (uniform in [-1, 1)), or the token ids (uniform in [0, vocab)) of the inputs and targets.
Everything is float64 on the CPU with one thread, and the JSON is written with Python's shortest
round-trip float repr, so a re-run with the same PyTorch build reproduces the files byte for
byte. A different PyTorch version may draw or round differently; the files record the version
that made them in their `torch` field.

Usage: python3 test/goldens/generate.py [--out DIR]   (default DIR: test/goldens/torch)
Needs PyTorch (any recent version; the committed files name theirs). On Debian:
apt-get install python3-torch, then run it with /usr/bin/python3.
"""
import argparse
import json
import os
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit('test/goldens/generate.py needs PyTorch: "import torch" failed for ' + sys.executable +
             ' (on Debian: apt-get install python3-torch, then run it with /usr/bin/python3)')

# ---- The cases: every setting the tests read comes from these rows. -----------------------------

STACK_CASES = [
    # name, kind, nonlinearity, input_size, hidden_size, num_layers, bidirectional, batch, steps, seed
    ('rnn_tanh_1layer', 'rnn', 'tanh', 3, 4, 1, False, 2, 5, 101),
    ('rnn_tanh_2layer_bi', 'rnn', 'tanh', 2, 3, 2, True, 3, 4, 102),
    # relu: seed 103 left 5/8 of the outputs and half the gradients at exactly zero (dead units);
    # 115 keeps about a quarter of each, so the case checks the relu gate both ways.
    ('rnn_relu_2layer_bi', 'rnn', 'relu', 3, 4, 2, True, 2, 5, 115),
    ('lstm_1layer', 'lstm', None, 3, 4, 1, False, 2, 5, 104),
    ('lstm_2layer_bi', 'lstm', None, 3, 4, 2, True, 2, 5, 105),
    ('lstm_3layer_bi', 'lstm', None, 2, 3, 3, True, 3, 6, 106),
    ('gru_1layer', 'gru', None, 3, 4, 1, False, 2, 5, 107),
    ('gru_2layer_bi', 'gru', None, 3, 4, 2, True, 2, 5, 108),
]
STACK_INIT = 0.5

MODEL_CASES = [
    # name, kind, vocab, hidden_size, num_layers, bidirectional, batch, steps, seed
    ('model_gru', 'gru', 6, 4, 2, False, 2, 5, 201),
    ('model_lstm_bi', 'lstm', 7, 5, 2, True, 3, 6, 202),
]
MODEL_INIT = 0.5
ADAM = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8)

TRAJECTORY_CASES = [
    # name, kind, vocab, hidden_size, num_layers, bidirectional, batch, steps_per_sequence, seed
    ('trajectory_bilstm', 'lstm', 8, 6, 2, True, 4, 7, 301),
    ('trajectory_gru', 'gru', 8, 6, 2, False, 4, 7, 302),
]
TRAJECTORY_INIT = 0.3
TRAJECTORY_STEPS = 40
TRAJECTORY_BATCHES = 8
CLIP_NORM = 1.0

MODULES = {'rnn': torch.nn.RNN, 'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU}


# ---- Helpers ----------------------------------------------------------------------------------

def uniform(gen, shape, bound):
    """Float64 values uniform in [-bound, bound) from this case's generator."""
    return torch.rand(shape, generator=gen, dtype=torch.float64) * (2 * bound) - bound


def tokens(gen, vocab, n):
    return torch.randint(0, vocab, (n,), generator=gen, dtype=torch.int64)


def init_params(module, gen, bound):
    """Overwrite every parameter, in state_dict order, with uniform draws."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(uniform(gen, p.shape, bound))


def flat(t):
    """A tensor's values flattened row-major, as Python floats (or ints)."""
    return t.detach().reshape(-1).tolist()


def tensor(t):
    return {'shape': list(t.shape), 'value': flat(t)}


def named(module):
    return {k: flat(p) for k, p in module.named_parameters()}


def make_rnn(kind, input_size, hidden_size, num_layers, bidirectional, nonlinearity=None):
    extra = {'nonlinearity': nonlinearity} if kind == 'rnn' else {}
    return MODULES[kind](input_size, hidden_size, num_layers, batch_first=True,
                         bidirectional=bidirectional, dtype=torch.float64, **extra)


class Tagger(torch.nn.Module):
    """One-hot tokens -> recurrent stack (`rnn`) -> linear head (`head`): one class per step."""

    def __init__(self, kind, vocab, hidden_size, num_layers, bidirectional):
        super().__init__()
        self.vocab = vocab
        self.rnn = make_rnn(kind, vocab, hidden_size, num_layers, bidirectional)
        self.head = torch.nn.Linear((2 if bidirectional else 1) * hidden_size, vocab, dtype=torch.float64)

    def loss(self, inputs, targets, batch, steps):
        """Mean softmax cross-entropy over all batch*steps positions."""
        x = F.one_hot(inputs.reshape(batch, steps), self.vocab).to(torch.float64)
        y, _ = self.rnn(x)
        logits = self.head(y)
        return F.cross_entropy(logits.reshape(-1, self.vocab), targets.reshape(-1))


# ---- The three kinds of case ------------------------------------------------------------------

def stack_case(kind, nonlinearity, input_size, hidden_size, num_layers, bidirectional, batch, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    rnn = make_rnn(kind, input_size, hidden_size, num_layers, bidirectional, nonlinearity)
    init_params(rnn, gen, STACK_INIT)
    d = 2 if bidirectional else 1
    x = uniform(gen, (batch, steps, input_size), 1.0).requires_grad_(True)
    R = uniform(gen, (batch, steps, d * hidden_size), 1.0)
    S = uniform(gen, (num_layers * d, batch, hidden_size), 1.0)
    U = uniform(gen, (num_layers * d, batch, hidden_size), 1.0) if kind == 'lstm' else None

    y, state = rnn(x)
    h_n, c_n = state if kind == 'lstm' else (state, None)
    loss = (y * R).sum() + (h_n * S).sum()
    if U is not None:
        loss = loss + (c_n * U).sum()
    loss.backward()

    out = {
        'kind': kind, 'nonlinearity': nonlinearity, 'input_size': input_size, 'hidden_size': hidden_size,
        'num_layers': num_layers, 'bidirectional': bidirectional, 'batch': batch, 'steps': steps,
        'layout': 'batch_first',
        'params': {k: tensor(p) for k, p in rnn.named_parameters()},
        'x': tensor(x), 'R': flat(R), 'S': flat(S), 'y': tensor(y), 'h_n': tensor(h_n),
        'loss': loss.item(),
        'grads': {k: flat(p.grad) for k, p in rnn.named_parameters()},
        'grad_x': flat(x.grad),
    }
    if U is not None:
        out['U'] = flat(U)
        out['c_n'] = tensor(c_n)
    return out


def model_case(kind, vocab, hidden_size, num_layers, bidirectional, batch, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    model = Tagger(kind, vocab, hidden_size, num_layers, bidirectional)
    init_params(model, gen, MODEL_INIT)
    inputs = tokens(gen, vocab, batch * steps)
    targets = tokens(gen, vocab, batch * steps)
    before = named(model)

    opt = torch.optim.Adam(model.parameters(), **ADAM)
    opt.zero_grad()
    loss = model.loss(inputs, targets, batch, steps)
    loss.backward()
    grads = {k: flat(p.grad) for k, p in model.named_parameters()}
    opt.step()

    return {
        'kind': kind, 'vocab': vocab, 'hidden_size': hidden_size, 'num_layers': num_layers,
        'bidirectional': bidirectional, 'batch': batch, 'steps': steps,
        'head': 'Linear(D*H -> vocab), mean softmax cross-entropy over all B*T positions',
        'optimizer': 'Adam(lr=0.01, betas=(0.9,0.999), eps=1e-8), one step',
        'inputs': flat(inputs), 'targets': flat(targets),
        'shapes': {k: list(p.shape) for k, p in model.named_parameters()},
        'params_before': before,
        'loss': loss.item(),
        'grads': grads,
        'params_after': named(model),
    }


def trajectory_case(kind, vocab, hidden_size, num_layers, bidirectional, batch, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    model = Tagger(kind, vocab, hidden_size, num_layers, bidirectional)
    init_params(model, gen, TRAJECTORY_INIT)
    batches = []
    for _ in range(TRAJECTORY_BATCHES):
        inputs = tokens(gen, vocab, batch * steps)
        targets = tokens(gen, vocab, batch * steps)
        batches.append((inputs, targets))
    before = named(model)

    opt = torch.optim.Adam(model.parameters(), **ADAM)
    losses, norms = [], []
    for k in range(TRAJECTORY_STEPS):
        inputs, targets = batches[k % TRAJECTORY_BATCHES]
        opt.zero_grad()
        loss = model.loss(inputs, targets, batch, steps)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=CLIP_NORM)
        opt.step()
        losses.append(loss.item())
        norms.append(norm.item())

    return {
        'kind': kind, 'vocab': vocab, 'hidden_size': hidden_size, 'num_layers': num_layers,
        'bidirectional': bidirectional, 'batch': batch, 'steps_per_sequence': steps,
        'optimizer': 'Adam(lr=0.01, betas=(0.9,0.999), eps=1e-8) after clip_grad_norm_(max_norm=1.0)',
        'head': 'Linear(D*H -> vocab), mean softmax cross-entropy over all positions',
        'schedule': f'{TRAJECTORY_STEPS} steps; step k uses batches[k % {TRAJECTORY_BATCHES}]',
        'batches': [{'inputs': flat(i), 'targets': flat(t)} for i, t in batches],
        'shapes': {k: list(p.shape) for k, p in model.named_parameters()},
        'params_before': before,
        'losses': losses,
        'grad_norms_before_clip': norms,
        'params_after': named(model),
    }


def main():
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torch')
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=default_out, help='folder to write the .json files into (default: %(default)s)')
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)

    jobs = [(row[0], stack_case, row[1:]) for row in STACK_CASES]
    jobs += [(row[0], model_case, row[1:]) for row in MODEL_CASES]
    jobs += [(row[0], trajectory_case, row[1:]) for row in TRAJECTORY_CASES]
    for name, make, settings in jobs:
        case = make(*settings)
        case['torch'] = torch.__version__
        case['seed'] = settings[-1]
        path = os.path.join(args.out, name + '.json')
        with open(path, 'w') as f:
            f.write(json.dumps(case))
        print(f'{path}  ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    main()
