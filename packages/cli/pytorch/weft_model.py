"""A weft model in PyTorch: the network, its loss and its preprocessing, built from the export's
meta.json (written by `weft export --format pytorch`). This file is static: it is shipped with
the weft CLI and copied as it is into every export; everything model-specific is data in
meta.json, read by the generic builders below. Needs PyTorch (1.13 or newer) and the standard
library only; the safetensors file is read and written here, so the `safetensors` package is
not needed.

    import weft_model
    model, meta = weft_model.load("export-dir")        # nn.Module with weft's weights, eval mode
    data = weft_model.read_dataset(meta, "valid.jsonl")  # the file encoded as weft encodes it
    out = model(data.inputs, data.lengths)              # logits / values, as weft's
    weft_model.predictions(meta, out, data.lengths)     # labels, label sets, tags or values in the data's units

The module's parameters carry weft's names (`rnn.weight_ih_l0`, `head.bias`, ...), which are
PyTorch's: `model.state_dict()` and model.safetensors hold the same tensors. Shapes that flow:
batch-first, [B, T, F] sequences and [B, F] rows, with `lengths` [B] (steps t >= length are
padding and influence nothing, as in weft).

What equals weft and what does not:
  - the forward pass computes weft's equations (PyTorch's own cells, packed sequences for the
    lengths), so outputs agree with weft's to float32 rounding (about 1e-6 relative);
  - dropout masks come from PyTorch's generator, not weft's: training is the same computation but
    not the same random draws, so runs are not bit-identical to weft's.
"""

import json
import math
import os
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

META_FORMAT = "weft-pytorch"
META_VERSION = 1

# Token ids: 0 = padding, 1 = unknown, then the vocabulary's symbols (weft's data/vocab.ts).
PAD = 0
UNK = 1
RESERVED = 2


class WeftError(Exception):
    """Bad input (a file, a field, a meta.json) named with where it is."""


# ---------------------------------------------------------------------------------------------
# safetensors (float32), read and written by hand: 8-byte little-endian header length, a JSON
# header { name: { dtype, shape, data_offsets } }, the data.


def load_safetensors(path: str) -> Dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise WeftError(f"{path}: not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise WeftError(f"{path}: truncated or not a safetensors file")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    base = 8 + n
    out = {}
    for name, info in header.items():
        if info.get("dtype") != "F32":
            raise WeftError(f"{path}: tensor '{name}': dtype {info.get('dtype')} not supported, expected F32")
        b, e = info["data_offsets"]
        shape = info["shape"]
        if e == b:
            out[name] = torch.zeros(shape, dtype=torch.float32)
        else:
            out[name] = torch.frombuffer(bytearray(data[base + b : base + e]), dtype=torch.float32).reshape(shape).clone()
    return out


def save_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes float32 tensors in the given order; atomically (a temporary file renamed over `path`)."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous().cpu()
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * ((8 - (8 + len(js)) % 8) % 8)
    write_atomic(path, struct.pack("<Q", len(js)) + js + b"".join(blobs))


def write_atomic(path: str, data: bytes) -> None:
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_meta(directory: str) -> dict:
    path = os.path.join(directory, "meta.json")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise WeftError(f"{path}: no such file (an export of `weft export --format pytorch` has one)")
    if meta.get("format") != META_FORMAT:
        raise WeftError(f"{path}: format must be {META_FORMAT!r}, got {meta.get('format')!r}")
    if meta.get("version") != META_VERSION:
        raise WeftError(f"{path}: version {meta.get('version')!r} is not the {META_VERSION} this file reads")
    return meta


def save_meta(directory: str, meta: dict) -> None:
    write_atomic(os.path.join(directory, "meta.json"), (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# The network: one builder and one forward function per layer type (weft's layer table,
# docs/model-spec.md). Each layer's module is registered under the layer's name, so its
# parameters are `<name>.<param>`, weft's names.


class Tied(nn.Module):
    """A linear layer whose weight IS an embedding's weight (weft's `tie`): only its bias is its own."""

    def __init__(self, out_features: int, bias: bool):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None


class AttentionPool(nn.Module):
    """Additive (Bahdanau) attention: e_t = score(tanh(proj(h_t))), a = softmax over t < length."""

    def __init__(self, features: int, size: int):
        super().__init__()
        self.proj = nn.Linear(features, size)
        self.score = nn.Linear(size, 1, bias=False)


class Pool(nn.Module):
    """last / mean / max: no parameters."""


def _mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """[B, T] booleans: step t of row b is real (t < lengths[b])."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def _build_embedding(o, features, spec, built):
    return nn.Embedding(features, o["dim"]), o["dim"]


def _build_recurrent(o, features, spec, built):
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[o["cell"]]
    kw = dict(input_size=features, hidden_size=o["hiddenSize"], num_layers=o["numLayers"], bias=o["bias"],
              batch_first=True, dropout=o["dropout"] if o["numLayers"] > 1 else 0.0, bidirectional=o["bidirectional"])
    if o["cell"] == "rnn":
        kw["nonlinearity"] = o["nonlinearity"]
    m = cls(**kw)
    width = 2 * o["hiddenSize"] if o["bidirectional"] and o["merge"] == "concat" else o["hiddenSize"]
    return m, width


def _build_linear(o, features, spec, built):
    if o.get("tie") is not None:
        return Tied(o["outputSize"], o["bias"]), o["outputSize"]
    return nn.Linear(features, o["outputSize"], bias=o["bias"]), o["outputSize"]


def _build_dropout(o, features, spec, built):
    return nn.Dropout(o["p"]), features


def _build_layer_norm(o, features, spec, built):
    return nn.LayerNorm(features, eps=o["eps"]), features


def _build_pool(o, features, spec, built):
    if o["mode"] == "attention":
        return AttentionPool(features, o["attentionSize"]), features
    return Pool(), features


@dataclass
class Flow:
    """What flows between layers: data [B, T, F] (sequence) or [B, F] (rows), and a recurrent layer's final states."""

    data: torch.Tensor
    rows: bool = False
    final: Optional[torch.Tensor] = None  # [B, F]: h_n of the top layer, directions merged


def _forward_embedding(model, name, o, mod, x: Flow, lengths, state):
    y = mod(x.data) * _mask(lengths, x.data.shape[1])[..., None]  # zero at padded steps, as weft
    return Flow(y)


def _merge(o, y: torch.Tensor) -> torch.Tensor:
    """A bidirectional layer's [..., 2H] outputs merged as the layer says (concat, sum or mean)."""
    if not o["bidirectional"] or o["merge"] == "concat":
        return y
    H = o["hiddenSize"]
    s = y[..., :H] + y[..., H:]
    return s / 2 if o["merge"] == "mean" else s


def _forward_recurrent(model, name, o, mod, x: Flow, lengths, state):
    data = x.data
    B, T = data.shape[0], data.shape[1]
    D = 2 if o["bidirectional"] else 1
    L = o["numLayers"]
    init = state.get(name) if state is not None else None
    variational = model.training and (o["inputDropout"] > 0 or o["recurrentDropout"] > 0)
    if variational:
        y, h_n, c_n = _recurrent_loop(mod, o, data, lengths, init)
    else:
        packed = pack_padded_sequence(data, lengths.cpu(), batch_first=True, enforce_sorted=False)
        if init is None:
            out, hc = mod(packed)
        else:
            out, hc = mod(packed, init if o["cell"] == "lstm" else init[0])
        y, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        h_n, c_n = (hc if o["cell"] == "lstm" else (hc, None))
    if state is not None:
        state[name] = (h_n, c_n) if o["cell"] == "lstm" else (h_n,)
    top = h_n.view(L, D, B, o["hiddenSize"])[L - 1]  # [D, B, H]
    final = _merge(o, torch.cat(list(top), dim=-1)) if D == 2 else top[0]
    return Flow(_merge(o, y), final=final)


def _recurrent_loop(mod, o, x, lengths, init):
    """
    The stack step by step, for training with weft's variational dropouts (Keras' `dropout` and
    `recurrent_dropout`), which nn.LSTM/GRU/RNN do not have: per layer and direction, one mask per
    sequence on the layer's input (inputDropout) and one on h_{t-1} where it enters W_hh
    (recurrentDropout); PyTorch's dropout between layers (dropout). The same packed-sequence rule
    as weft: a row is active at step t iff t < length; an inactive row carries its state and
    outputs 0; the reverse direction starts at each row's last real step.
    """
    B, T, _ = x.shape
    H = o["hiddenSize"]
    L = o["numLayers"]
    D = 2 if o["bidirectional"] else 1
    cell = o["cell"]
    active = _mask(lengths, T)  # [B, T]
    h_all, c_all = [], []
    inp = x
    for l in range(L):
        outs = []
        for d in range(D):
            sfx = f"_l{l}" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(mod, "weight_ih" + sfx), getattr(mod, "weight_hh" + sfx)
            b_ih = getattr(mod, "bias_ih" + sfx) if o["bias"] else None
            b_hh = getattr(mod, "bias_hh" + sfx) if o["bias"] else None
            xin = inp
            if o["inputDropout"] > 0:
                keep = 1 - o["inputDropout"]
                xin = xin * (torch.rand(B, 1, xin.shape[2], device=x.device) >= o["inputDropout"]).to(x.dtype) / keep
            rmask = None
            if o["recurrentDropout"] > 0:
                rmask = (torch.rand(B, H, device=x.device) >= o["recurrentDropout"]).to(x.dtype) / (1 - o["recurrentDropout"])
            k = l * D + d
            h = init[0][k] if init is not None else x.new_zeros(B, H)
            c = (init[1][k] if init is not None else x.new_zeros(B, H)) if cell == "lstm" else None
            gi_all = F.linear(xin, w_ih, b_ih)  # [B, T, G*H]
            y = x.new_zeros(B, T, H)
            # Reverse: walk t = T-1..0; a row's real steps are t < length, so it starts at its last one.
            steps = range(T - 1, -1, -1) if d else range(T)
            for t in steps:
                a = active[:, t][:, None]
                hm = h * rmask if rmask is not None else h
                gi = gi_all[:, t]
                gh = F.linear(hm, w_hh, b_hh)
                if cell == "lstm":
                    i_, f_, g_, o_ = (gi + gh).chunk(4, dim=1)
                    c_new = torch.sigmoid(f_) * c + torch.sigmoid(i_) * torch.tanh(g_)
                    h_new = torch.sigmoid(o_) * torch.tanh(c_new)
                    c = torch.where(a, c_new, c)
                elif cell == "gru":
                    ir, iz, in_ = gi.chunk(3, dim=1)
                    hr, hz, hn = gh.chunk(3, dim=1)
                    r = torch.sigmoid(ir + hr)
                    z = torch.sigmoid(iz + hz)
                    n = torch.tanh(in_ + r * hn)
                    h_new = (1 - z) * n + z * h
                else:
                    pre = gi + gh
                    h_new = torch.tanh(pre) if o["nonlinearity"] == "tanh" else torch.relu(pre)
                h = torch.where(a, h_new, h)
                y[:, t] = torch.where(a, h_new, torch.zeros_like(h_new))
            outs.append(y)
            h_all.append(h)
            if cell == "lstm":
                c_all.append(c)
        inp = torch.cat(outs, dim=2) if D == 2 else outs[0]
        if l < L - 1 and o["dropout"] > 0:
            inp = F.dropout(inp, o["dropout"], training=True)
    h_n = torch.stack(h_all)
    c_n = torch.stack(c_all) if cell == "lstm" else None
    return inp, h_n, c_n


def _activation(o, y):
    if o["activation"] == "tanh":
        return torch.tanh(y)
    if o["activation"] == "relu":
        return torch.relu(y)
    return y


def _forward_linear(model, name, o, mod, x: Flow, lengths, state):
    if isinstance(mod, Tied):
        y = F.linear(x.data, getattr(model, o["tie"]).weight, mod.bias)
    else:
        y = mod(x.data)
    return Flow(_activation(o, y), rows=x.rows)


def _forward_same(model, name, o, mod, x: Flow, lengths, state):
    return Flow(mod(x.data), rows=x.rows)


def _forward_pool(model, name, o, mod, x: Flow, lengths, state):
    data = x.data
    B, T = data.shape[0], data.shape[1]
    m = _mask(lengths, T)
    mode = o["mode"]
    if mode == "last":
        # Right after a recurrent layer: its final states (h_n of the top layer); else the output at length - 1.
        if x.final is not None:
            return Flow(x.final, rows=True)
        return Flow(data[torch.arange(B, device=data.device), lengths - 1], rows=True)
    if mode == "mean":
        return Flow((data * m[..., None]).sum(1) / lengths[:, None].to(data.dtype), rows=True)
    if mode == "max":
        return Flow(data.masked_fill(~m[..., None], float("-inf")).max(1).values, rows=True)
    e = mod.score(torch.tanh(mod.proj(data))).squeeze(-1).masked_fill(~m, float("-inf"))  # [B, T]
    a = torch.softmax(e, dim=1)
    return Flow((a[..., None] * data).sum(1), rows=True)


LAYERS = {
    # type: (builder, forward, takes token ids as they come)
    "embedding": (_build_embedding, _forward_embedding, True),
    "recurrent": (_build_recurrent, _forward_recurrent, False),
    "linear": (_build_linear, _forward_linear, False),
    "dropout": (_build_dropout, _forward_same, False),
    "layerNorm": (_build_layer_norm, _forward_same, False),
    "pool": (_build_pool, _forward_pool, False),
}


def per_step(spec: dict) -> bool:
    """Whether the model outputs a value per step (no pool layer) rather than one per sequence."""
    return not any(l["type"] == "pool" for l in spec["layers"])


class WeftModel(nn.Module):
    """
    The network of a weft model spec: forward(inputs, lengths, state=None) →
    [B, outputs] (a pool made rows) or [B, T, outputs] (per step; zero past each length).
    inputs: token ids LongTensor [B, T] or dense FloatTensor [B, T, F]. `state`, a dict, carries
    the recurrent layers' final states from one call into the next (truncated BPTT of lm streams).
    """

    def __init__(self, spec: dict):
        super().__init__()
        self.spec = spec
        inp = spec["input"]
        self.tokens = inp["kind"] == "tokens"
        self.input_size = inp["vocabSize"] if self.tokens else inp["size"]
        features = self.input_size
        self.plan = []
        for i, layer in enumerate(spec["layers"]):
            t = layer["type"]
            if t not in LAYERS:
                raise WeftError(f"model.layers[{i}] ('{layer.get('name', t)}') is of type '{t}', a layer of the user's own: "
                                f"weft_model.py builds the built-in types only ({', '.join(LAYERS)})")
            build, fwd, takes_tokens = LAYERS[t]
            o = {k: v for k, v in layer.items() if k not in ("type", "name")}
            one_hot = i == 0 and self.tokens and not takes_tokens
            mod, features = build(o, features, spec, self)
            self.add_module(layer["name"], mod)
            self.plan.append((layer["name"], o, fwd, one_hot))
        self.output_size = features

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor, state: Optional[dict] = None) -> torch.Tensor:
        lengths = lengths.to(torch.long)
        flow = Flow(inputs)
        for name, o, fwd, one_hot in self.plan:
            if one_hot:
                # One-hot token ids (weft gathers the weight's columns instead: the same product).
                flow = Flow(F.one_hot(inputs, self.input_size).to(torch.float32))
            flow = fwd(self, name, o, getattr(self, name), flow, lengths, state)
        y = flow.data
        if not flow.rows:
            y = y * _mask(lengths, y.shape[1])[..., None]
        return y


# ---------------------------------------------------------------------------------------------
# Losses (weft's loss table): each returns (sum of the loss terms, the count they are averaged
# over), so that data-parallel training can divide by the GLOBAL batch's count, as weft does.


def _value_mask(out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Which of `out`'s values count (value and multi-label targets): all of [B, O]; of [B, T, O], the steps t < length."""
    if out.dim() == 3:
        return _mask(lengths, out.shape[1])[..., None].expand_as(out)
    return torch.ones_like(out, dtype=torch.bool)


def loss_terms(spec: dict, out: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor):
    loss = spec["loss"]
    kind = loss["kind"]
    per_step = out.dim() == 3
    if kind == "crossEntropy":
        C = out.shape[-1]
        logits = out.reshape(-1, C)
        tgt = targets.reshape(-1).to(torch.long)
        if per_step:
            tgt = torch.where(_mask(lengths, out.shape[1]).reshape(-1), tgt, torch.full_like(tgt, -1))
        w = torch.tensor(loss["classWeights"], dtype=out.dtype, device=out.device) if loss.get("classWeights") else None
        total = F.cross_entropy(logits, tgt, weight=w, ignore_index=-1, reduction="sum", label_smoothing=loss.get("labelSmoothing", 0.0))
        valid = tgt >= 0
        count = w[tgt[valid]].sum() if w is not None else valid.sum().to(out.dtype)
        return total, count
    mask = _value_mask(out, lengths)
    tgt = targets.to(out.dtype)
    if kind == "binaryCrossEntropy":
        terms = F.binary_cross_entropy_with_logits(out, tgt, reduction="none")
    elif kind == "mse":
        terms = (out - tgt) ** 2
    elif kind == "huber":
        terms = F.huber_loss(out, tgt, reduction="none", delta=loss.get("delta", 1.0))
    else:
        raise WeftError(f"model.loss.kind {kind!r} is not a loss weft_model.py knows")
    # where, not a product: a padded step's terms are left out even where they are not finite.
    return torch.where(mask, terms, torch.zeros_like(terms)).sum(), mask.sum().to(out.dtype)


def loss_of(spec: dict, out, targets, lengths) -> torch.Tensor:
    """The batch's mean loss, as weft reports it (weighted by class weights where there are some)."""
    total, count = loss_terms(spec, out, targets, lengths)
    return total / count


# ---------------------------------------------------------------------------------------------
# Preprocessing: weft's data readers (packages/core/src/data), their rules where they matter,
# with the vocabulary, labels and normalisation of meta.json (never rebuilt from the data):
#   - text is UTF-8 (a leading BOM dropped), Unicode NFC; characters are code points;
#   - token ids: 0 padding, 1 unknown (a character or word the vocabulary lacks), then the
#     vocabulary's symbols; a word missing from the vocabulary is looked up once more in lowercase;
#   - blank lines are skipped; lines are numbered from 1 in messages;
#   - labels and tags are class ids in the order of meta's list (multilabel: a 0/1 float per
#     label of that list); a label outside it is an error;
#   - a bad row is refused naming the file, line and field; read_multilabel refuses exactly what
#     weft's loader refuses, in weft's words.


@dataclass
class Dataset:
    inputs: torch.Tensor  # [N, T] long, or [N, T, F] float
    lengths: torch.Tensor  # [N] long
    targets: Optional[torch.Tensor]  # [N] / [N, T] long (-1: none), or [N, O] / [N, T, O] float
    # lm: streams B and windows W (row w*B + b is window w of stream b); regress: the row each target is for
    streams: int = 0
    target_rows: Optional[torch.Tensor] = None

    def __len__(self):
        return self.inputs.shape[0]


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise WeftError(f"{path}: no such file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WeftError(f"{path}: is not UTF-8 text (is it a binary file?)")
    if text.startswith("\ufeff"):
        text = text[1:]
    if text.strip() == "":
        raise WeftError(f"{path}: file is empty")
    return nfc(text)


class Vocab:
    def __init__(self, v: dict):
        self.kind = v["kind"]
        self.symbols = v["symbols"]
        self.ids = {s: i + RESERVED for i, s in enumerate(self.symbols)}

    @property
    def size(self) -> int:
        return len(self.symbols) + RESERVED

    def id(self, s: str) -> int:
        i = self.ids.get(s)
        if i is not None:
            return i
        return self.ids.get(s.lower(), UNK) if self.kind == "word" else UNK

    def encode(self, seq) -> List[int]:
        """A text (characters: code points) or a list of words, NFC first."""
        syms = list(nfc(seq)) if isinstance(seq, str) else [nfc(w) for w in seq]
        return [self.id(s) for s in syms]

    def decode(self, ids) -> List[str]:
        return ["\ufffd" if i == UNK and self.kind == "char" else "<unk>" if i == UNK else self.symbols[i - RESERVED] for i in ids if i != PAD]


def _json_lines(path: str):
    for k, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if line.strip() == "":
            continue
        try:
            v = json.loads(line)
        except json.JSONDecodeError as e:
            raise WeftError(f"{path}:{k}: not valid JSON ({e.msg})")
        if not isinstance(v, dict):
            raise WeftError(f"{path}:{k}: expected a JSON object")
        yield k, v


def _field(path, line, v, name, what):
    if name not in v:
        raise WeftError(f"{path}:{line}: field \"{name}\" is missing; expected {what}")
    return v[name]


def _guess_delimiter(text: str, fallback: str) -> str:
    """weft's csv.ts: the most frequent of , ; tab | outside quotes on the header line; the fallback on a tie."""
    counts = {}
    quoted = False
    blank = True
    for c in text:
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "\n\r":
            if not blank:
                break
        elif not quoted and c in ",;\t|":
            counts[c] = counts.get(c, 0) + 1
        if c.strip() != "":
            blank = False
    best = fallback
    for d, n in counts.items():
        if n > counts.get(best, 0):
            best = d
    return best


def read_csv(path: str, delimiter: Optional[str] = None):
    """Header and rows [(line, cells)]; unquoted cells are trimmed, blank lines skipped (csv.ts)."""
    import csv
    import io

    text = read_text(path)
    if delimiter is None:
        delimiter = _guess_delimiter(text, "\t" if path.lower().endswith(".tsv") else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    for cells in reader:
        line = reader.line_num
        if len(cells) == 0 or (len(cells) == 1 and cells[0].strip() == ""):
            continue
        rows.append((line, [c.strip() for c in cells]))
    if not rows:
        raise WeftError(f"{path}: file is empty")
    header = rows[0][1]
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            raise WeftError(f"{path}:{line}: row has {len(cells)} cells, expected {len(header)} as in the header ({', '.join(header)})")
    return header, rows[1:]


def _column(path, header, name, flag):
    if name not in header:
        raise WeftError(f"{path}: no column \"{name}\" ({flag}); the header has: {', '.join(header)}")
    return header.index(name)


def _pad_tokens(seqs: List[List[int]]) -> (torch.Tensor, torch.Tensor):
    T = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), T, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return x, torch.tensor([len(s) for s in seqs], dtype=torch.long)


def _describe(v) -> str:
    """A bad value for a message, as weft's describeValue (data/errors.ts)."""
    if isinstance(v, list):
        return f"an array of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    s = json.dumps(int(v) if isinstance(v, float) and v.is_integer() else v, ensure_ascii=False)
    return s[:37] + "..." if len(s) > 40 else s


def _must_be(path, line, v, field, expected):
    got = "it is missing" if field not in v else f"got {_describe(v[field])}"
    return WeftError(f"{path}:{line}: field \"{field}\" must be {expected}, {got}")


def _text_field(path, line, v, field, max_len) -> str:
    """A record's text (classify.ts's readTextField): a non-empty string, NFC, at most max_len characters (--max-len)."""
    t = v.get(field)
    if not isinstance(t, str) or t == "":
        raise _must_be(path, line, v, field, "a non-empty string")
    t = nfc(t)
    if max_len is not None and len(t) > max_len:
        raise WeftError(f"{path}:{line}: field \"{field}\" is {len(t)} characters long, more than maxLen = {max_len} (--max-len)")
    return t


def _list_for_message(items, most: int = 8) -> str:
    """weft's listForMessage (data/labels.ts): the first `most`, quoted, and how many in all."""
    shown = ", ".join(json.dumps(s, ensure_ascii=False) for s in items[:most])
    return f"{shown}, ... ({len(items)} in all)" if len(items) > most else shown


def _label_ids(path, line, field, values, labels):
    index = {l: i for i, l in enumerate(labels)}
    out = []
    for v in values:
        v = nfc(v)
        if v not in index:
            raise WeftError(f"{path}:{line}: field \"{field}\" is {json.dumps(v)}, which is not one of the training labels: {_list_for_message(labels)}")
        out.append(index[v])
    return out


def read_classify(meta: dict, path: str, flags: dict) -> Dataset:
    """
    .jsonl {"text": ..., "label": ...} (characters) or {"sequence": [[...], ...], "label": ...}
    (dense steps); .csv/.tsv with the text and label columns. Field names: flags textColumn and
    labelColumn (weft's --text-column, --label-column; default "text", "label"). Texts are
    lowercased first when the model was trained with --lowercase.
    """
    dm = meta["data"]
    inp = dm["input"]
    text_field = flags.get("textColumn") or "text"
    label_field = flags.get("labelColumn") or "label"
    texts, seqs, labels = [], [], []
    if path.lower().endswith((".jsonl", ".ndjson")):
        for line, v in _json_lines(path):
            if inp["kind"] == "chars":
                texts.append(_text_field(path, line, v, text_field, flags.get("maxLen")))
            else:
                s = _field(path, line, v, "sequence", "an array of steps of numbers")
                if not isinstance(s, list) or not s or any(not isinstance(r, list) or len(r) != inp["size"] for r in s):
                    raise WeftError(f"{path}:{line}: field \"sequence\" must be a non-empty array of steps of {inp['size']} numbers each")
                seqs.append(s)
            labels.append((line, _field(path, line, v, label_field, "a label")))
    elif path.lower().endswith((".csv", ".tsv")):
        if inp["kind"] != "chars":
            raise WeftError(f"{path}: the model was trained on dense \"sequence\" features, which only .jsonl files can hold")
        header, rows = read_csv(path, flags.get("delimiter"))
        tk = _column(path, header, text_field, "--text-column")
        lk = _column(path, header, label_field, "--label-column")
        for line, cells in rows:
            texts.append(cells[tk])
            labels.append((line, cells[lk]))
    else:
        raise WeftError(f"{path}: cannot tell the format from the file name; expected .jsonl (or .ndjson) or .csv or .tsv")
    ids = [_label_ids(path, line, label_field, [str(l)], dm["labels"])[0] for line, l in labels]
    if inp["kind"] == "chars":
        vocab = Vocab(inp["vocab"])
        x, lengths = _pad_tokens([vocab.encode(nfc(t).lower() if inp["lowercase"] else t) for t in texts])
    else:
        T = max(len(s) for s in seqs)
        x = torch.zeros(len(seqs), T, inp["size"])
        for i, s in enumerate(seqs):
            x[i, : len(s)] = torch.tensor(s, dtype=torch.float32)
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    return Dataset(x, lengths, torch.tensor(ids, dtype=torch.long))


def read_multilabel(meta: dict, path: str, flags: dict) -> Dataset:
    """
    .jsonl (or .ndjson) {"text": ..., "labels": [...]}: any number of labels per text, [] when
    none applies (weft's data/multilabel.ts). Field names: flags textColumn and labelColumn
    (weft's --text-column, --label-column; default "text", "labels"). Texts are read as
    read_classify reads them (NFC, --max-len, lowercased when trained with --lowercase); each
    label is a non-empty string (NFC), listed once in its row, and one of meta's labels.
    Targets [N, C] float, 1 where the label applies.
    """
    dm = meta["data"]
    if not path.lower().endswith((".jsonl", ".ndjson")):
        raise WeftError(f"{path}: cannot tell the format from the file name; expected .jsonl (or .ndjson)")
    text_field = flags.get("textColumn") or "text"
    label_field = flags.get("labelColumn") or "labels"
    rows = []
    # As weft: every row read first (text, then labels), then the labels looked up in the model's.
    for line, v in _json_lines(path):
        text = _text_field(path, line, v, text_field, flags.get("maxLen"))
        values = v.get(label_field)
        if not isinstance(values, list):
            raise _must_be(path, line, v, label_field, "an array of labels (strings; [] when no label applies)")
        first = {}
        for i, s in enumerate(values):
            if not isinstance(s, str) or s == "":
                raise WeftError(f"{path}:{line}: field \"{label_field}\" entry {i} must be a non-empty string, got {_describe(s)}")
            label = nfc(s)
            if label in first:
                raise WeftError(f"{path}:{line}: field \"{label_field}\" lists {json.dumps(label, ensure_ascii=False)} twice "
                                f"(entries {first[label]} and {i}): list each label of a row once")
            first[label] = i
        rows.append((line, text, list(first)))
    labels = dm["labels"]
    index = {l: k for k, l in enumerate(labels)}
    y = torch.zeros(len(rows), len(labels))
    for r, (line, _, ls) in enumerate(rows):
        for l in ls:
            if l not in index:
                raise WeftError(f"{path}:{line}: field \"{label_field}\" has {json.dumps(l, ensure_ascii=False)}, "
                                f"which is not one of the training labels: {_list_for_message(labels)}")
            y[r, index[l]] = 1.0
    vocab = Vocab(dm["input"]["vocab"])
    x, lengths = _pad_tokens([vocab.encode(t.lower() if dm["input"]["lowercase"] else t) for _, t, _ in rows])
    return Dataset(x, lengths, y)


def read_tag(meta: dict, path: str, flags: dict) -> Dataset:
    """.jsonl {"tokens": [...], "tags": [...]}: one tag per token; tokens lowercased when trained with --lowercase."""
    dm = meta["data"]
    vocab = Vocab(dm["vocab"])
    seqs, tags = [], []
    for line, v in _json_lines(path):
        toks = _field(path, line, v, "tokens", "an array of strings")
        tg = _field(path, line, v, "tags", "an array of strings")
        if not isinstance(toks, list) or not toks or not isinstance(tg, list) or len(tg) != len(toks):
            raise WeftError(f"{path}:{line}: field \"tags\" must have one tag per token in \"tokens\"")
        toks = [nfc(t) for t in toks]
        seqs.append(vocab.encode([t.lower() for t in toks] if dm["lowercase"] else toks))
        tags.append(_label_ids(path, line, "tags", tg, dm["tags"]))
    x, lengths = _pad_tokens(seqs)
    y = torch.full(x.shape, -1, dtype=torch.long)
    for i, t in enumerate(tags):
        y[i, : len(t)] = torch.tensor(t, dtype=torch.long)
    return Dataset(x, lengths, y)


def read_lm(meta: dict, path: str, flags: dict) -> Dataset:
    """
    Plain text ('\\r\\n' read as '\\n'), cut into windows for truncated BPTT exactly as weft's
    lm.ts: the text's ids p[0..n) make B streams of S = (n - 1) // B characters (stream b starts
    at b*S), each cut into W = S // L windows of L = seqLen steps (the rest of a stream is left
    out). Row r = w*B + b is window w of stream b: inputs p[b*S + w*L + t], targets the next
    character. B is flags batch (weft's --batch, the streams), lowered when the text is short.
    """
    dm = meta["data"]
    vocab = Vocab(dm["vocab"])
    ids = vocab.encode(read_text(path).replace("\r\n", "\n"))
    L = dm["seqLen"]
    n = len(ids)
    B = min(flags.get("batch") or 16, (n - 1) // L)
    if B < 1:
        raise WeftError(f"{path}: the text has {n} characters, fewer than one window of seqLen + 1 = {L + 1}")
    S = (n - 1) // B
    W = S // L
    p = torch.tensor(ids, dtype=torch.long)
    x = torch.zeros(W * B, L, dtype=torch.long)
    y = torch.zeros(W * B, L, dtype=torch.long)
    for w in range(W):
        for b in range(B):
            s = b * S + w * L
            x[w * B + b] = p[s : s + L]
            y[w * B + b] = p[s + 1 : s + L + 1]
    return Dataset(x, torch.full((W * B,), L, dtype=torch.long), y, streams=B)


def read_regress(meta: dict, path: str, flags: dict) -> Dataset:
    """
    A CSV series, rows in time order; windows of `window` rows of the input columns starting at
    every row, the target `horizon` rows after the window's last row (or after every step with
    perStep); every column normalised with the TRAINING data's mean and std from meta.json.
    """
    dm = meta["data"]
    header, rows = read_csv(path, flags.get("delimiter"))
    cols = {}
    for name in dict.fromkeys(dm["inputColumns"] + dm["targetColumns"]):
        k = _column(path, header, name, "a column the model was trained on")
        vals = []
        for line, cells in rows:
            try:
                vals.append(float(cells[k]))
            except ValueError:
                raise WeftError(f"{path}:{line}: column \"{name}\" must be a number, got {json.dumps(cells[k])}")
        st = dm["stats"][name]
        cols[name] = (torch.tensor(vals, dtype=torch.float64) - st["mean"]) / st["std"]
    Tw, h = dm["window"], dm["horizon"]
    n = len(rows)
    count = n - Tw - h + 1
    if count < 1:
        raise WeftError(f"{path}: the file has {n} rows, fewer than window + horizon = {Tw + h}")
    xin = torch.stack([cols[c] for c in dm["inputColumns"]], dim=1)  # [n, I]
    tgt = torch.stack([cols[c] for c in dm["targetColumns"]], dim=1)  # [n, O]
    x = torch.stack([xin[i : i + Tw] for i in range(count)]).to(torch.float32)
    if dm["perStep"]:
        y = torch.stack([tgt[i + h : i + h + Tw] for i in range(count)]).to(torch.float32)
        rows_of = torch.stack([torch.arange(i + h, i + h + Tw) for i in range(count)])
    else:
        y = torch.stack([tgt[i + Tw - 1 + h] for i in range(count)]).to(torch.float32)
        rows_of = torch.arange(count) + Tw - 1 + h
    return Dataset(x, torch.full((count,), Tw, dtype=torch.long), y, target_rows=rows_of)


READERS = {"classify": read_classify, "multilabel": read_multilabel, "tag": read_tag, "lm": read_lm, "regress": read_regress}


def read_dataset(meta: dict, path: str, flags: Optional[dict] = None) -> Dataset:
    """A labelled file of the model's task, encoded as weft encodes it; `flags`: weft's data flags (default: the run's)."""
    f = dict(((meta.get("run") or {}).get("data") or {}).get("flags") or {})
    f.update({k: v for k, v in (flags or {}).items() if v is not None})
    return READERS[meta["data"]["task"]](meta, path, f)


def denormalize(meta: dict, values: torch.Tensor) -> torch.Tensor:
    """Regress outputs in the targets' own units."""
    dm = meta["data"]
    mean = torch.tensor([dm["stats"][c]["mean"] for c in dm["targetColumns"]], dtype=torch.float64)
    std = torch.tensor([dm["stats"][c]["std"] for c in dm["targetColumns"]], dtype=torch.float64)
    return values.to(torch.float64) * std + mean


def predictions(meta: dict, out: torch.Tensor, lengths: torch.Tensor, threshold: float = 0.5):
    """
    Labels (classify), the list of labels whose probability (sigmoid) is at least `threshold`
    (multilabel: weft's --threshold), tags per token (tag), characters (lm: the most likely next
    one) or values in the data's units (regress).
    """
    dm = meta["data"]
    task = dm["task"]
    if task == "regress":
        return denormalize(meta, out).tolist()
    if task == "multilabel":
        given = torch.sigmoid(out.to(torch.float64)) >= threshold  # in float64, as weft's sigmoidRow
        return [[l for l, g in zip(dm["labels"], row) if g] for row in given.tolist()]
    names = dm["labels"] if task == "classify" else dm["tags"] if task == "tag" else None
    best = out.argmax(-1)
    if task == "classify":
        return [names[i] for i in best.tolist()]
    if task == "tag":
        return [[names[i] for i in row[: int(n)]] for row, n in zip(best.tolist(), lengths.tolist())]
    vocab = Vocab(dm["vocab"])
    return ["".join(vocab.decode(row[: int(n)])) for row, n in zip(best.tolist(), lengths.tolist())]


# ---------------------------------------------------------------------------------------------


def build(meta: dict) -> WeftModel:
    return WeftModel(meta["spec"])


def load(directory: str):
    """(model in eval mode with the export's weights, meta) from an export directory."""
    meta = load_meta(directory)
    model = build(meta)
    weights = load_safetensors(os.path.join(directory, "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise WeftError(f"{directory}/model.safetensors does not fit meta.json's model: missing {missing}, unexpected {unexpected}")
    model.eval()
    return model, meta


@torch.no_grad()
def evaluate(model: WeftModel, meta: dict, data: Dataset, batch_size: int = 64) -> dict:
    """
    The loss (weighted as in training) and the accuracy: what `weft eval` reports. Accuracy for
    classes: the arg-max is the target; for multilabel (binaryCrossEntropy) it is per label, the
    fraction of (example, label) decisions right, a label given where its logit is > 0.
    """
    model.eval()
    spec = meta["spec"]
    dev = next(model.parameters()).device
    total = 0.0
    count = 0.0
    correct = 0
    seen = 0
    for s in range(0, len(data), batch_size):
        x, n, y = (t[s : s + batch_size].to(dev) for t in (data.inputs, data.lengths, data.targets))
        out = model(x, n)
        t, c = loss_terms(spec, out, y, n)
        total += float(t)
        count += float(c)
        kind = spec["loss"]["kind"]
        if kind == "crossEntropy":
            valid = y >= 0
            if out.dim() == 3:
                valid = valid & _mask(n, out.shape[1])
            correct += int(((out.argmax(-1) == y) & valid).sum())
            seen += int(valid.sum())
        elif kind == "binaryCrossEntropy":
            valid = _value_mask(out, n)
            correct += int((((out > 0) == (y >= 0.5)) & valid).sum())
            seen += int(valid.sum())
    r = {"loss": total / count, "count": seen if spec["loss"]["kind"] == "crossEntropy" else int(round(count))}
    if seen:
        r["accuracy"] = correct / seen
    return r
