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
- Model-spec cases (spec_*; issue 9): a model given as a spec (plain JSON: input, layers, loss;
  test/goldens/README.md gives the format), built as a PyTorch module by SpecModel: embedding,
  nn.LSTM/GRU/RNN (batch_first, packed so padded steps count for nothing), linear (tanh/relu,
  tied to the embedding), dropout, LayerNorm, pooling last/mean/max/attention over t < length,
  and the losses CrossEntropyLoss (class weights, label smoothing), BCEWithLogitsLoss, MSELoss,
  HuberLoss. One forward and backward: the output fed to the loss, the loss, every gradient.
- Model-spec trajectories (trajectory_spec_*): a spec model trained twenty steps,
  clip_grad_norm_(1.0) then Adam(lr=0.01), step k on batches[k % 4]; the inits are large
  enough that the clip scales on about half the steps.
Before writing a spec case the script re-derives it without packing or masks (each row alone,
cut to its length, layer by layer with hand-written pools and the loss by its formula), checks
that other values at the padded positions change nothing, checks that the case is informative
(no all-dead relu unit, class weights that move the loss, both Huber branches, no tiny
gradient), and runs torch.autograd.gradcheck on small spec models that use every layer, pool
and loss. Any failure stops the script.

Random draws: every case has its own seed and its own torch.Generator, so adding or changing a
case leaves the others as they were. Parameters are drawn first, in state_dict order, uniform in
[-INIT, INIT) (0.5 for stack and model cases, 0.3 for trajectories; each spec case's own bound,
with the exceptions in init_spec_params); then the stack case's x, R, S, U (uniform in [-1, 1)),
or the token ids (uniform in [0, vocab)) of the inputs and targets (spec_batch for spec cases).
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
import math
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


def make_rnn(kind, input_size, hidden_size, num_layers, bidirectional, nonlinearity=None, bias=True):
    extra = {'nonlinearity': nonlinearity} if kind == 'rnn' else {}
    return MODULES[kind](input_size, hidden_size, num_layers, batch_first=True, bias=bias,
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


# ---- Model-spec cases (issue 9) ---------------------------------------------------------------
# A model spec is plain JSON: an input, a list of layers and a loss (test/goldens/README.md,
# "Model-spec cases", gives the format). SpecModel builds the PyTorch module that a spec means,
# with PyTorch's parameter names, so the goldens name every tensor the way the spec does.

SPEC_BATCH = 4
SPEC_STEPS = 6


def _spec(input_, layers, loss):
    return {'input': input_, 'layers': layers, 'loss': loss}


def _tokens_in(v):
    return {'kind': 'tokens', 'vocabSize': v}


def _dense_in(f):
    return {'kind': 'dense', 'size': f}


# The spec of test/goldens/README.md's example (and of the first trajectory).
ATTENTION_BIGRU_SPEC = _spec(_tokens_in(12), [
    {'type': 'embedding', 'name': 'embedding', 'dim': 8},
    {'type': 'recurrent', 'name': 'rnn', 'cell': 'gru', 'hiddenSize': 6, 'numLayers': 1, 'bidirectional': True},
    {'type': 'pool', 'name': 'pool', 'mode': 'attention', 'attentionSize': 5},
    {'type': 'linear', 'name': 'head', 'outputSize': 3},
], {'kind': 'crossEntropy', 'classWeights': [1.0, 2.0, 0.5]})

SPEC_CASES = [
    # name, spec, lengths (B = len), steps T, seed, init bound, extra (see spec_case)
    ('spec_attention_bigru_classweights', ATTENTION_BIGRU_SPEC, [6, 4, 2, 5], SPEC_STEPS, 401, 1.0, {}),
    # One-hot tokens straight into a 2-layer bidirectional LSTM (no embedding), max over t < length.
    ('spec_maxpool_lstm', _spec(_tokens_in(7), [
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'lstm', 'hiddenSize': 5, 'numLayers': 2, 'bidirectional': True},
        {'type': 'pool', 'name': 'pool', 'mode': 'max'},
        {'type': 'linear', 'name': 'head', 'outputSize': 4},
    ], {'kind': 'crossEntropy'}), [6, 3, 5, 1], SPEC_STEPS, 402, 1.0, {}),
    # Dense input, a GRU without biases, LayerNorm per step, mean over t < length, MSE on 2 values per row.
    ('spec_meanpool_layernorm_gru', _spec(_dense_in(3), [
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'gru', 'hiddenSize': 5, 'numLayers': 1, 'bidirectional': False,
         'bias': False},
        {'type': 'layerNorm', 'name': 'norm'},
        {'type': 'pool', 'name': 'pool', 'mode': 'mean'},
        {'type': 'linear', 'name': 'head', 'outputSize': 2},
    ], {'kind': 'mse'}), [5, 6, 2, 4], SPEC_STEPS, 403, 1.0, {}),
    # Multi-label per sequence: attention pool, a relu layer per row, 4 independent sigmoid labels.
    # Seed 411: with 404 to 410 a relu unit was dead on all four rows (its gradient all zero).
    ('spec_bce_multilabel', _spec(_tokens_in(10), [
        {'type': 'embedding', 'name': 'embedding', 'dim': 6},
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'lstm', 'hiddenSize': 5, 'numLayers': 1, 'bidirectional': False},
        {'type': 'pool', 'name': 'pool', 'mode': 'attention', 'attentionSize': 4},
        {'type': 'linear', 'name': 'hidden', 'outputSize': 6, 'activation': 'relu'},
        {'type': 'linear', 'name': 'head', 'outputSize': 4},
    ], {'kind': 'binaryCrossEntropy'}), [6, 2, 4, 5], SPEC_STEPS, 411, 1.0, {}),
    # Multi-label per step: bidirectional GRU, a relu layer per step, 3 sigmoid labels at every t < length.
    ('spec_bce_per_step', _spec(_tokens_in(8), [
        {'type': 'embedding', 'name': 'embedding', 'dim': 5},
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'gru', 'hiddenSize': 5, 'numLayers': 1, 'bidirectional': True},
        {'type': 'linear', 'name': 'hidden', 'outputSize': 6, 'activation': 'relu'},
        {'type': 'linear', 'name': 'head', 'outputSize': 3},
    ], {'kind': 'binaryCrossEntropy'}), [6, 4, 1, 5], SPEC_STEPS, 405, 1.0, {}),
    # Values per step from dense input; delta 0.5 so both branches of the Huber loss are used.
    ('spec_huber_regress', _spec(_dense_in(3), [
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'lstm', 'hiddenSize': 5, 'numLayers': 1, 'bidirectional': False},
        {'type': 'linear', 'name': 'head', 'outputSize': 2},
    ], {'kind': 'huber', 'delta': 0.5}), [6, 5, 3, 6], SPEC_STEPS, 406, 1.0, {'target_bound': 1.5}),
    # Per-step CE with label smoothing 0.1 and class weights (how PyTorch combines the two) on a
    # bidirectional LSTM; exactly one padded row.
    ('spec_label_smoothing', _spec(_tokens_in(9), [
        {'type': 'embedding', 'name': 'embedding', 'dim': 5},
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'lstm', 'hiddenSize': 5, 'numLayers': 1, 'bidirectional': True},
        {'type': 'linear', 'name': 'head', 'outputSize': 4},
    ], {'kind': 'crossEntropy', 'classWeights': [0.5, 1.0, 2.0, 1.5], 'labelSmoothing': 0.1}),
        [6, 6, 3, 6], SPEC_STEPS, 407, 1.0, {}),
    # A language model with the output layer tied to the embedding (dim = hidden): per-step CE
    # over the vocabulary; one valid step's target is -1 (ignored) besides the padding.
    ('spec_tied_lm', _spec(_tokens_in(10), [
        {'type': 'embedding', 'name': 'embedding', 'dim': 5},
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'gru', 'hiddenSize': 5, 'numLayers': 1, 'bidirectional': False},
        {'type': 'linear', 'name': 'head', 'outputSize': 10, 'tie': 'embedding'},
    ], {'kind': 'crossEntropy'}), [6, 5, 2, 4], SPEC_STEPS, 408, 1.0, {'ignore': [(1, 1)]}),
    # A 2-layer bidirectional tanh RNN, its final states (pool last: h_n of the top layer, forward
    # then reverse), a dropout layer with p = 0, a tanh layer per row, then the head.
    ('spec_linear_tanh_dropout0', _spec(_tokens_in(8), [
        {'type': 'embedding', 'name': 'embedding', 'dim': 5},
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'rnn', 'hiddenSize': 4, 'numLayers': 2, 'bidirectional': True,
         'nonlinearity': 'tanh'},
        {'type': 'pool', 'name': 'pool', 'mode': 'last'},
        {'type': 'dropout', 'name': 'drop', 'p': 0.0},
        {'type': 'linear', 'name': 'hidden', 'outputSize': 6, 'activation': 'tanh'},
        {'type': 'linear', 'name': 'head', 'outputSize': 3},
    ], {'kind': 'crossEntropy'}), [3, 6, 5, 2], SPEC_STEPS, 409, 1.0, {}),
]

SPEC_TRAJECTORY_CASES = [
    # name, spec, batch, steps T, seed, init bound
    ('trajectory_spec_attention_bigru_classweights', ATTENTION_BIGRU_SPEC, SPEC_BATCH, SPEC_STEPS, 501, 1.5, {}),
    ('trajectory_spec_multilabel', _spec(_tokens_in(10), [
        {'type': 'embedding', 'name': 'embedding', 'dim': 6},
        {'type': 'recurrent', 'name': 'rnn', 'cell': 'lstm', 'hiddenSize': 5, 'numLayers': 1, 'bidirectional': True},
        {'type': 'pool', 'name': 'pool', 'mode': 'mean'},
        {'type': 'linear', 'name': 'head', 'outputSize': 4},
    ], {'kind': 'binaryCrossEntropy'}), SPEC_BATCH, SPEC_STEPS, 502, 1.5, {'head': 4.0}),
]
SPEC_TRAJECTORY_STEPS = 20
SPEC_TRAJECTORY_BATCHES = 4

RECURRENT_DEFAULTS = dict(numLayers=1, bidirectional=False, merge='concat', nonlinearity='tanh', bias=True,
                          dropout=0.0, inputDropout=0.0, recurrentDropout=0.0)


class AttentionPool(torch.nn.Module):
    """Additive (Bahdanau) attention over t < length: e_t = score(tanh(proj(h_t)))."""

    def __init__(self, features, attention_size):
        super().__init__()
        self.proj = torch.nn.Linear(features, attention_size, dtype=torch.float64)
        self.score = torch.nn.Linear(attention_size, 1, bias=False, dtype=torch.float64)

    def forward(self, x, mask):
        e = self.score(torch.tanh(self.proj(x))).squeeze(-1)  # [B, T]
        a = torch.softmax(e.masked_fill(~mask, float('-inf')), dim=1)
        return (a.unsqueeze(-1) * x).sum(dim=1), a


class SpecModel(torch.nn.Module):
    """The PyTorch module a model spec means. Each layer is a child module under its spec `name`,
    so parameter names are `<name>.<PyTorch's name>`; a tied linear's weight IS the embedding's
    Parameter, so named_parameters() lists it once, under the embedding."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        inp = spec['input']
        self.vocab = inp['vocabSize'] if inp['kind'] == 'tokens' else None
        size = inp['vocabSize'] if inp['kind'] == 'tokens' else inp['size']
        per_step = True
        self.steps = []  # (type, name, layer spec, state for forward)
        modules = {}
        for i, layer in enumerate(spec['layers']):
            kind, name = layer['type'], layer['name']
            if kind == 'embedding':
                assert i == 0 and inp['kind'] == 'tokens', f'{name}: an embedding must be the first layer, on tokens'
                m = torch.nn.Embedding(inp['vocabSize'], layer['dim'], dtype=torch.float64)
                size = layer['dim']
            elif kind == 'recurrent':
                assert per_step, f'{name}: a recurrent layer needs a sequence (it comes before any pool)'
                o = {**RECURRENT_DEFAULTS, **{k: v for k, v in layer.items() if k not in ('type', 'name')}}
                assert o['dropout'] == o['inputDropout'] == o['recurrentDropout'] == 0, 'goldens run without dropout'
                m = make_rnn(o['cell'], size, o['hiddenSize'], o['numLayers'], o['bidirectional'],
                             o['nonlinearity'] if o['cell'] == 'rnn' else None, bias=o['bias'])
                layer = o
                d = 2 if o['bidirectional'] else 1
                size = o['hiddenSize'] * (d if o['merge'] == 'concat' else 1)
            elif kind == 'linear':
                bias = layer.get('bias', True)
                m = torch.nn.Linear(size, layer['outputSize'], bias=bias, dtype=torch.float64)
                if 'tie' in layer:
                    emb = modules[layer['tie']]
                    assert isinstance(emb, torch.nn.Embedding), f'{name}: tie names {layer["tie"]}, not an embedding'
                    assert tuple(emb.weight.shape) == (layer['outputSize'], size), \
                        f'{name}: tie needs an embedding [outputSize, input size]'
                    m.weight = emb.weight
                size = layer['outputSize']
            elif kind == 'dropout':
                m = torch.nn.Dropout(layer['p'])
            elif kind == 'layerNorm':
                m = torch.nn.LayerNorm(size, eps=layer.get('eps', 1e-5), dtype=torch.float64)
            elif kind == 'pool':
                assert per_step, f'{name}: only one pool'
                m = AttentionPool(size, layer['attentionSize']) if layer['mode'] == 'attention' else None
                per_step = False
            else:
                raise ValueError(f'{name}: unknown layer type {kind}')
            if m is not None:
                self.add_module(name, m)
                modules[name] = m
            self.steps.append((kind, name, layer, m))
        self.per_step = per_step
        self.output_size = size

    def forward(self, inputs, lengths):
        """inputs: token ids [B, T] or floats [B, T, F]; lengths: [B] int64. Returns [B, C] or [B, T, C]."""
        B, T = inputs.shape[0], inputs.shape[1]
        mask = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)  # [B, T], True where t < length
        x = inputs
        if self.vocab is not None and self.steps[0][0] != 'embedding':
            x = F.one_hot(inputs, self.vocab).to(torch.float64)
        final = None  # the last recurrent layer's h_n features, while nothing has come after it
        for kind, name, layer, m in self.steps:
            after_rnn = final
            final = None
            if kind == 'embedding':
                x = m(x)
            elif kind == 'recurrent':
                x, final = self._recurrent(m, layer, x, lengths, T)
            elif kind in ('linear', 'dropout', 'layerNorm'):
                x = m(x)
                if layer.get('activation', 'none') == 'tanh':
                    x = torch.tanh(x)
                elif layer.get('activation', 'none') == 'relu':
                    x = torch.relu(x)
            elif kind == 'pool':
                mode = layer['mode']
                if mode == 'last':
                    x = after_rnn if after_rnn is not None else x[torch.arange(B), lengths - 1]
                elif mode == 'mean':
                    x = (x * mask.unsqueeze(-1)).sum(dim=1) / lengths.unsqueeze(1).to(torch.float64)
                elif mode == 'max':
                    x = x.masked_fill(~mask.unsqueeze(-1), float('-inf')).max(dim=1).values
                else:
                    x, self.attention = m(x, mask)
        return x

    @staticmethod
    def _recurrent(m, o, x, lengths, T):
        """Packed, so each row runs over its own t < length only (the reverse direction starts at
        its true last step). Returns the outputs [B, T, F] (0 at padding) and the top layer's final
        states [B, F] (forward then reverse), both merged as `merge` says."""
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, state = m(packed)
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
        h_n = state[0] if isinstance(state, tuple) else state
        d = 2 if o['bidirectional'] else 1
        top = h_n[-d:]  # [D, B, H]
        final = torch.cat(list(top), dim=-1)  # [B, D*H]
        if d == 2 and o['merge'] != 'concat':
            H = o['hiddenSize']
            w = 0.5 if o['merge'] == 'mean' else 1.0
            y = (y[..., :H] + y[..., H:]) * w
            final = (final[..., :H] + final[..., H:]) * w
        return y, final


def spec_loss(spec, output, targets, lengths):
    """The spec's loss of `output` ([B, C] or [B, T, C]) against `targets`, over t < length."""
    loss = spec['loss']
    kind = loss['kind']
    per_step = output.dim() == 3
    if kind == 'crossEntropy':
        w = loss.get('classWeights')
        fn = torch.nn.CrossEntropyLoss(weight=None if w is None else torch.tensor(w, dtype=torch.float64),
                                       label_smoothing=loss.get('labelSmoothing', 0.0), ignore_index=-1)
        # Per step: padded steps carry target -1, so the flattened [B*T] targets skip them.
        return fn(output.reshape(-1, output.shape[-1]), targets.reshape(-1))
    fn = {'binaryCrossEntropy': lambda: torch.nn.BCEWithLogitsLoss(),
          'mse': lambda: torch.nn.MSELoss(),
          'huber': lambda: torch.nn.HuberLoss(delta=loss.get('delta', 1.0))}[kind]()
    if per_step:
        mask = torch.arange(output.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        return fn(output[mask], targets[mask])  # [N valid steps, C]: the mean is over those N*C elements
    return fn(output, targets)


def init_spec_params(model, gen, bound, scale=None):
    """Every parameter in named_parameters() order uniform in [-bound, bound), except: a
    LayerNorm's weight gets 1 added (centred on its PyTorch default, so the layer neither vanishes
    nor flips), and a relu layer's bias is scaled by 0.1 (so the sign of each unit follows its
    input, and no unit is dead, or alive, on every step)."""
    norms = {n for n, m in model.named_modules() if isinstance(m, torch.nn.LayerNorm)}
    relus = {l['name'] for l in model.spec['layers'] if l.get('activation') == 'relu'}
    with torch.no_grad():
        for name, p in model.named_parameters():
            v = uniform(gen, p.shape, bound)
            owner, _, leaf = name.rpartition('.')
            if leaf == 'weight' and owner in norms:
                v += 1.0
            if leaf == 'bias' and owner in relus:
                v *= 0.1
            v *= (scale or {}).get(name.split('.')[0], 1.0)
            p.copy_(v)


def spec_batch(spec, gen, model, lengths, T, extra):
    """Inputs and targets for one batch, drawn from `gen`: token ids uniform in [0, V) or floats
    uniform in [-1, 1), 0 at padding; class ids uniform in [0, C) (-1 at padding and at
    `extra['ignore']`), 0/1 labels with probability 1/2, or values uniform in [-b, b) (b =
    extra['target_bound'], default 1), 0 at padding."""
    B = len(lengths)
    lengths = torch.tensor(lengths, dtype=torch.int64)
    mask = torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)
    inp = spec['input']
    if inp['kind'] == 'tokens':
        inputs = torch.randint(0, inp['vocabSize'], (B, T), generator=gen, dtype=torch.int64) * mask
    else:
        inputs = uniform(gen, (B, T, inp['size']), 1.0) * mask.unsqueeze(-1)
    C = model.output_size
    shape = (B, T, C) if model.per_step else (B, C)
    kind = spec['loss']['kind']
    if kind == 'crossEntropy':
        targets = torch.randint(0, C, shape[:-1], generator=gen, dtype=torch.int64)
        if model.per_step:
            targets = targets.masked_fill(~mask, -1)
            for b, t in extra.get('ignore', []):
                targets[b, t] = -1
    elif kind == 'binaryCrossEntropy':
        targets = (torch.rand(shape, generator=gen, dtype=torch.float64) < 0.5).to(torch.float64)
    else:
        targets = uniform(gen, shape, extra.get('target_bound', 1.0))
    if model.per_step and kind != 'crossEntropy':
        targets = targets * mask.unsqueeze(-1)
    return lengths, inputs, targets


def spec_params(model):
    return {k: tensor(p) for k, p in model.named_parameters()}


def spec_case(spec, lengths, T, seed, bound, extra):
    gen = torch.Generator().manual_seed(seed)
    model = SpecModel(spec)
    init_spec_params(model, gen, bound)
    lengths, inputs, targets = spec_batch(spec, gen, model, lengths, T, extra)
    params = spec_params(model)
    output = model(inputs, lengths)
    loss = spec_loss(spec, output, targets, lengths)
    loss.backward()
    check_spec_case(model, spec, lengths, inputs, targets, output, loss)
    shown = output.detach()
    if model.per_step:  # PyTorch's values at padded steps mean nothing; the file holds 0 there
        shown = shown * (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
    return {
        'spec': spec, 'torch': torch.__version__, 'seed': seed,
        'batch': len(lengths), 'steps': T, 'lengths': flat(lengths),
        'inputs': flat(inputs), 'targets': flat(targets),
        'params': params,
        'output': flat(shown),
        'loss': loss.item(),
        'grads': {k: flat(p.grad) for k, p in model.named_parameters()},
    }


def spec_trajectory_case(spec, batch, T, seed, bound, scale):
    gen = torch.Generator().manual_seed(seed)
    model = SpecModel(spec)
    init_spec_params(model, gen, bound, scale)
    batches = []
    for _ in range(SPEC_TRAJECTORY_BATCHES):
        # Lengths uniform in [1, T]; the first row is full and the last one shorter than T, so
        # every batch has both.
        lengths = torch.randint(1, T + 1, (batch,), generator=gen).tolist()
        lengths[0] = T
        lengths[-1] = min(lengths[-1], T - 1)
        batches.append(spec_batch(spec, gen, model, lengths, T, {}))
    before = spec_params(model)

    opt = torch.optim.Adam(model.parameters(), **ADAM)
    losses, norms = [], []
    for k in range(SPEC_TRAJECTORY_STEPS):
        lengths, inputs, targets = batches[k % SPEC_TRAJECTORY_BATCHES]
        opt.zero_grad()
        loss = spec_loss(spec, model(inputs, lengths), targets, lengths)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=CLIP_NORM)
        opt.step()
        losses.append(loss.item())
        norms.append(norm.item())
    clipped = sum(n > CLIP_NORM for n in norms)
    print(f'  clip_grad_norm_ scaled {clipped} of {len(norms)} steps (norms {min(norms):.3g} .. {max(norms):.3g})')

    return {
        'spec': spec, 'torch': torch.__version__, 'seed': seed, 'batch': batch, 'steps': T,
        'optimizer': {'name': 'adam', 'lr': ADAM['lr']}, 'clipNorm': CLIP_NORM,
        'batches': [{'lengths': flat(l), 'inputs': flat(i), 'targets': flat(t)} for l, i, t in batches],
        'params_before': before,
        'losses': losses,
        'grad_norms_before_clip': norms,
        'params_after': named(model),
    }


# ---- Independent checks of SpecModel (run on every generation; any failure stops the script) ----

def _close(a, b, what, tol=1e-10):
    err = (a - b).abs().max().item() if torch.is_tensor(a) else abs(a - b)
    assert err <= tol * (1 + (b.abs().max().item() if torch.is_tensor(b) else abs(b))), f'{what}: off by {err}'


def check_spec_case(model, spec, lengths, inputs, targets, output, loss):
    """Re-derive what the spec says by plain loops, per row, without packing or masks."""
    B, T = inputs.shape[0], inputs.shape[1]
    with torch.no_grad():
        # 1. Padding influences nothing: other padded inputs give the same output and loss.
        noisy = inputs.clone()
        for b in range(B):
            L = lengths[b].item()
            if inputs.dtype == torch.int64:
                noisy[b, L:] = (torch.arange(T - L) % (model.vocab - 1)) + 1
            else:
                noisy[b, L:] = 7.0
        out2 = model(noisy, lengths)
        if model.per_step:
            for b in range(B):
                L = lengths[b].item()
                _close(out2[b, :L], output[b, :L], 'padding changed the output')
        else:
            _close(out2, output, 'padding changed the output')
        _close(spec_loss(spec, out2, targets, lengths), loss.item(), 'padding changed the loss')

        # 2. Each row alone, cut to its length, unpacked, layer by layer as the spec reads.
        rows = []
        relu = {}
        for b in range(B):
            L = lengths[b].item()
            x = inputs[b:b + 1, :L]
            if model.vocab is not None and model.steps[0][0] != 'embedding':
                x = F.one_hot(x, model.vocab).to(torch.float64)
            final = None
            for kind, name, layer, m in model.steps:
                after_rnn, final = final, None
                if kind == 'embedding':
                    x = m.weight[x]
                elif kind == 'recurrent':
                    assert layer['merge'] == 'concat', 'the row-by-row check reads concat only'
                    y, state = m(x)  # one row of its true length: no padding to skip
                    h = state[0] if isinstance(state, tuple) else state
                    d = 2 if layer['bidirectional'] else 1
                    final = torch.cat(list(h[-d:]), dim=-1)
                    # The reverse half of y at t = 0 is the reverse direction's final state.
                    if d == 2:
                        H = layer['hiddenSize']
                        _close(final[0, H:], y[0, 0, H:], 'reverse final state')
                        _close(final[0, :H], y[0, L - 1, :H], 'forward final state')
                    x = y
                elif kind == 'linear':
                    x = x @ m.weight.T + (m.bias if m.bias is not None else 0)
                    if layer.get('activation') == 'relu':
                        relu.setdefault(name, []).append(x.reshape(-1, x.shape[-1]))
                    x = {'tanh': torch.tanh, 'relu': torch.relu}.get(layer.get('activation', 'none'), lambda v: v)(x)
                elif kind == 'layerNorm':
                    mu = x.mean(-1, keepdim=True)
                    var = ((x - mu) ** 2).mean(-1, keepdim=True)
                    x = (x - mu) / torch.sqrt(var + m.eps) * m.weight + m.bias
                elif kind == 'dropout':
                    pass
                elif kind == 'pool':
                    seq = x[0]  # [L, F]
                    if layer['mode'] == 'last':
                        x = after_rnn if after_rnn is not None else seq[L - 1:L]
                    elif layer['mode'] == 'mean':
                        acc = torch.zeros_like(seq[0])
                        for t in range(L):
                            acc = acc + seq[t]
                        x = (acc / L).unsqueeze(0)
                    elif layer['mode'] == 'max':
                        best = seq[0].clone()
                        for t in range(1, L):
                            best = torch.maximum(best, seq[t])
                        x = best.unsqueeze(0)
                    else:
                        e = [float(m.score.weight[0] @ torch.tanh(m.proj.weight @ seq[t] + m.proj.bias))
                             for t in range(L)]
                        z = sum(math.exp(v - max(e)) for v in e)
                        a = [math.exp(v - max(e)) / z for v in e]
                        acc = torch.zeros_like(seq[0])
                        for t in range(L):
                            acc = acc + a[t] * seq[t]
                        x = acc.unsqueeze(0)
            rows.append(x[0])
            if model.per_step:
                _close(x[0], output[b, :L], f'row {b} (per step)')
            else:
                _close(x[0], output[b], f'row {b}')

        # 3. The loss by its formula, from the per-row outputs.
        lk = spec['loss']
        if model.per_step:
            pairs = [(rows[b][t], targets[b, t]) for b in range(B) for t in range(lengths[b].item())]
        else:
            pairs = [(rows[b], targets[b]) for b in range(B)]
        if lk['kind'] == 'crossEntropy':
            C = model.output_size
            w = torch.tensor(lk.get('classWeights', [1.0] * C), dtype=torch.float64)
            s = lk.get('labelSmoothing', 0.0)
            num = smooth = den = 0.0
            for z, y in pairs:
                if y.item() == -1:
                    continue
                logp = z - torch.logsumexp(z, 0)
                num += -(w[y] * logp[y]).item()
                smooth += -(w * logp).sum().item() / C
                den += w[y].item()
            want = (1 - s) * num / den + s * smooth / den
        else:
            n = small = 0
            total = 0.0
            for z, y in pairs:
                r = z - y
                if lk['kind'] == 'binaryCrossEntropy':
                    v = torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs()))
                elif lk['kind'] == 'mse':
                    v = r * r
                else:
                    dlt = lk.get('delta', 1.0)
                    v = torch.where(r.abs() < dlt, 0.5 * r * r, dlt * (r.abs() - 0.5 * dlt))
                total += v.sum().item()
                n += v.numel()
                if lk['kind'] == 'huber':
                    small += (r.abs() < lk.get('delta', 1.0)).sum().item()
            want = total / n
        _close(loss.item(), want, 'loss by its formula')

    # 4. The case is informative: every relu unit is alive somewhere and dead somewhere else, class
    #    weights change the loss, both Huber branches are used, no parameter's gradient is tiny.
    notes = []
    for name, zs in relu.items():
        z = torch.cat(zs)
        alive = (z > 0).to(torch.float64)
        assert alive.max(0).values.min() == 1, f'{name}: a relu unit is dead on every valid step/row'
        notes.append(f'{name} relu alive {alive.mean().item():.0%}')
    if lk['kind'] == 'crossEntropy' and 'classWeights' in lk:
        unweighted = {**spec, 'loss': {k: v for k, v in lk.items() if k != 'classWeights'}}
        plain = spec_loss(unweighted, output, targets, lengths)
        change = abs(loss.item() / plain.item() - 1)
        assert change > 0.02, f'class weights change the loss by only {change:.1%}'
        notes.append(f'class weights change the loss by {change:.0%}')
    if lk['kind'] == 'huber':
        assert 0.2 < small / n < 0.8, f'Huber: {small} of {n} residuals below delta'
        notes.append(f'huber: {small}/{n} residuals below delta')
    if hasattr(model, 'attention'):
        top = model.attention.max(1).values.tolist()
        notes.append('attention max weight per row ' + ' '.join(f'{v:.2f}' for v in top))
    biggest = {k: p.grad.abs().max().item() for k, p in model.named_parameters()}
    assert min(biggest.values()) > 1e-3, f'tiny gradients: {biggest}'
    notes.append(f'largest |grad| per tensor {min(biggest.values()):.2g} .. {max(biggest.values()):.2g}')
    print('  ' + '; '.join(notes))


def gradcheck_spec(spec, lengths, T, seed):
    """torch.autograd.gradcheck of the loss with respect to every parameter of a spec's module."""
    gen = torch.Generator().manual_seed(seed)
    model = SpecModel(spec)
    init_spec_params(model, gen, 0.5)
    lengths, inputs, targets = spec_batch(spec, gen, model, lengths, T, {})
    names = [k for k, _ in model.named_parameters()]
    values = tuple(p.detach().clone().requires_grad_(True) for _, p in model.named_parameters())
    # The tied weight is one Parameter: functional_call must see it under both names.
    ties = {f"{l['name']}.weight": f"{l['tie']}.weight" for l in spec['layers'] if 'tie' in l}

    def f(*ps):
        d = dict(zip(names, ps))
        d.update({a: d[b] for a, b in ties.items()})
        out = torch.nn.utils.stateless.functional_call(model, d, (inputs, lengths))
        return spec_loss(spec, out, targets, lengths)
    assert torch.autograd.gradcheck(f, values, eps=1e-6, atol=1e-7, rtol=1e-5), 'gradcheck failed'


def run_spec_checks():
    """gradcheck on small models that together use every layer, pool mode and loss."""
    small = [
        (_spec(_tokens_in(5), [
            {'type': 'embedding', 'name': 'embedding', 'dim': 3},
            {'type': 'recurrent', 'name': 'rnn', 'cell': 'gru', 'hiddenSize': 2, 'bidirectional': True},
            {'type': 'layerNorm', 'name': 'norm'},
            {'type': 'pool', 'name': 'pool', 'mode': 'attention', 'attentionSize': 2},
            {'type': 'dropout', 'name': 'drop', 'p': 0.0},
            {'type': 'linear', 'name': 'hidden', 'outputSize': 3, 'activation': 'relu'},
            {'type': 'linear', 'name': 'head', 'outputSize': 3},
        ], {'kind': 'crossEntropy', 'classWeights': [1.0, 2.0, 0.5], 'labelSmoothing': 0.1}), [4, 2, 3]),
        (_spec(_tokens_in(4), [
            {'type': 'recurrent', 'name': 'rnn', 'cell': 'lstm', 'hiddenSize': 2, 'numLayers': 2,
             'bidirectional': True},
            {'type': 'pool', 'name': 'pool', 'mode': 'max'},
            {'type': 'linear', 'name': 'head', 'outputSize': 2},
        ], {'kind': 'binaryCrossEntropy'}), [4, 1, 3]),
        (_spec(_dense_in(2), [
            {'type': 'recurrent', 'name': 'rnn', 'cell': 'rnn', 'hiddenSize': 3, 'bidirectional': True, 'bias': False},
            {'type': 'pool', 'name': 'pool', 'mode': 'last'},
            {'type': 'linear', 'name': 'head', 'outputSize': 2, 'activation': 'tanh'},
        ], {'kind': 'huber', 'delta': 0.3}), [4, 2, 3]),
        (_spec(_dense_in(2), [
            {'type': 'recurrent', 'name': 'rnn', 'cell': 'gru', 'hiddenSize': 3},
            {'type': 'pool', 'name': 'pool', 'mode': 'mean'},
            {'type': 'linear', 'name': 'head', 'outputSize': 2},
        ], {'kind': 'mse'}), [4, 2, 3]),
        (_spec(_tokens_in(6), [
            {'type': 'embedding', 'name': 'embedding', 'dim': 3},
            {'type': 'recurrent', 'name': 'rnn', 'cell': 'lstm', 'hiddenSize': 3},
            {'type': 'linear', 'name': 'head', 'outputSize': 6, 'tie': 'embedding'},
        ], {'kind': 'crossEntropy', 'labelSmoothing': 0.1}), [4, 2, 3]),
        (_spec(_tokens_in(5), [
            {'type': 'embedding', 'name': 'embedding', 'dim': 3},
            {'type': 'recurrent', 'name': 'rnn', 'cell': 'gru', 'hiddenSize': 2, 'bidirectional': True},
            {'type': 'linear', 'name': 'head', 'outputSize': 2},
        ], {'kind': 'binaryCrossEntropy'}), [4, 2, 3]),
    ]
    for i, (spec, lengths) in enumerate(small):
        gradcheck_spec(spec, lengths, 4, 900 + i)
    print(f'gradcheck: {len(small)} small spec models agree with finite differences')


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
        write(args.out, name, case)

    run_spec_checks()
    for name, *settings in SPEC_CASES:
        print(name)
        write(args.out, name, spec_case(*settings))
    for name, *settings in SPEC_TRAJECTORY_CASES:
        print(name)
        write(args.out, name, spec_trajectory_case(*settings))


def write(out, name, case):
    path = os.path.join(out, name + '.json')
    with open(path, 'w') as f:
        f.write(json.dumps(case))
    print(f'{path}  ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    main()
