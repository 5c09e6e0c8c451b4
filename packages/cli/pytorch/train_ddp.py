"""Continue training a weft model with PyTorch's DistributedDataParallel, on one machine or many.

Written into every `weft export --format pytorch` directory beside weft_model.py, model.safetensors
and meta.json; it reads weft's own data files with weft's rules (weft_model.py) and the training
settings meta.json holds (optimizer, learning-rate schedule, clipping, batch size), and saves
model.safetensors, optimizer.safetensors and meta.json again, which `weft import` turns back into
a weft model.

    # 2 processes on this machine (CPU, gloo):
    torchrun --nproc_per_node 2 train_ddp.py --data train.jsonl --epochs 3
    # 2 machines of 8 processes each, run on both (node_rank 0 and 1):
    torchrun --nnodes 2 --nproc_per_node 8 --node_rank 0 --master_addr HOST0 --master_port 29500 \\
        train_ddp.py --data train.jsonl --epochs 3

Without torchrun it runs as one process. The backend is gloo on CPU, nccl where CUDA is there
(--backend to choose). What it does, and how it differs from `weft train`:
  - The global batch is meta.json's batchSize (--batch to change it), split evenly between the
    processes; each step's gradient is the gradient of the GLOBAL batch's mean loss (each process
    divides its loss sum by the global count of loss terms, and DDP averages), as weft's shards do.
  - classify, multilabel, tag, regress: every epoch, DistributedSampler shuffles the examples (seeded by
    --seed and the epoch) and deals them out to the processes; no example is trained twice in
    an epoch. weft shuffles with its own generator, so the order differs.
  - lm: weft trains its text as B parallel streams (B = the run's --batch) carrying each stream's
    state from one window to the next (truncated BPTT); here process r of N takes streams
    r, r + N, ... and carries their state the same way, so N may be at most B.
  - The step counter, and with it the learning-rate schedule, goes on from the export's step;
    an optimizer state exported from weft (Adam's moments, ...) is loaded, so the first step here
    is the step weft would have taken next, up to the data order and rounding.
  - Dropout masks come from PyTorch's generator: not bit-identical to weft's.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weft_model as wm  # noqa: E402


def schedule(spec, base_lr):
    """weft's schedules (optim/schedule.ts) as a pure function of the step: warmup, then constant/step/cosine/linear."""
    if not spec:
        return lambda step: base_lr
    lr = spec.get("lr", base_lr)
    W = spec.get("warmupSteps", 0)
    kind = spec["kind"]
    if kind in ("constant", "linear-warmup"):
        after = lambda u: lr
    elif kind == "step":
        after = lambda u: lr * spec.get("gamma", 0.1) ** (u // spec["stepSize"])
    else:
        T = spec["totalSteps"] - W
        lo = spec.get("minLr", 0.0)
        if kind == "cosine":
            after = lambda u: lo if u >= T else lo + (lr - lo) * (1 + math.cos(math.pi * u / T)) / 2
        else:
            after = lambda u: lo if u >= T else lr + (lo - lr) * u / T
    return lambda step: lr * (step + 1) / W if step < W else after(step - W)


def make_optimizer(spec, params):
    """weft's optimizers are torch's, with the same options (optim/*.ts)."""
    name = spec["name"]
    lr = spec.get("lr", 1e-3)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=spec.get("momentum", 0), dampening=spec.get("dampening", 0),
                               weight_decay=spec.get("weightDecay", 0), nesterov=spec.get("nesterov", False))
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(params, lr=lr, betas=(spec.get("beta1", 0.9), spec.get("beta2", 0.999)), eps=spec.get("eps", 1e-8),
                   weight_decay=spec.get("weightDecay", 0 if name == "adam" else 1e-2))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=spec.get("alpha", 0.99), eps=spec.get("eps", 1e-8),
                                   weight_decay=spec.get("weightDecay", 0), momentum=spec.get("momentum", 0),
                                   centered=spec.get("centered", False))
    raise wm.WeftError(f"meta.json: training.optimizer.name {name!r} is not an optimizer this script knows")


def load_optimizer_state(opt, model, path, step):
    """optimizer.safetensors: `<parameter>.<torch state name>` (exp_avg, exp_avg_sq, momentum_buffer, ...)."""
    if not os.path.exists(path):
        return
    states = wm.load_safetensors(path)
    for name, p in model.named_parameters():
        st = {k.split(".")[-1]: v for k, v in states.items() if k.rsplit(".", 1)[0] == name}
        if not st:
            continue
        s = opt.state[p]
        for k, v in st.items():
            s[k] = v.clone().to(p.device)
        if not isinstance(opt, torch.optim.SGD):
            s["step"] = torch.tensor(float(step))


def optimizer_state(opt, model):
    out = {}
    for name, p in model.named_parameters():
        for k, v in opt.state.get(p, {}).items():
            if torch.is_tensor(v) and v.shape == p.shape:
                out[f"{name}.{k}"] = v
    return out


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Continue training a weft export with DistributedDataParallel (torchrun).")
    ap.add_argument("--data", help="training file in weft's format (default: the run's --data as meta.json records it)")
    ap.add_argument("--valid", help="labelled file to evaluate on after each epoch (rank 0)")
    ap.add_argument("--epochs", type=int, default=1, help="epochs over --data (default 1)")
    ap.add_argument("--steps", type=int, help="stop after this many steps of this run")
    ap.add_argument("--batch", type=int, help="global batch size (default: the run's batchSize)")
    ap.add_argument("--seed", type=int, help="seed of the data order and dropout (default: the run's)")
    ap.add_argument("--out", help="directory to save into (default: this export's directory); weft_model.py and this script are copied there")
    ap.add_argument("--backend", choices=["gloo", "nccl"], help="default: nccl with CUDA, else gloo")
    a = ap.parse_args(argv)

    meta = wm.load_meta(here)
    training = meta["training"]
    task = meta["data"]["task"]
    data_file = a.data or (meta.get("run") or {}).get("data", {}).get("file")
    if not data_file:
        ap.error("--data is required: this export records no training file")

    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group(backend=a.backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    cuda = a.backend == "nccl" or (distributed and dist.get_backend() == "nccl")
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    seed = training["seed"] if a.seed is None else a.seed
    torch.manual_seed(seed + rank)  # dropout: a stream per process

    model = wm.build(meta)
    weights = wm.load_safetensors(os.path.join(here, "model.safetensors"))
    model.load_state_dict(weights, strict=True)
    model.to(device).train()
    ddp = (DDP(model, device_ids=[device]) if cuda else DDP(model)) if distributed else model
    opt = make_optimizer(training["optimizer"], model.parameters())
    step = int(meta["step"])
    load_optimizer_state(opt, model, os.path.join(here, "optimizer.safetensors"), step)
    lr_at = schedule(training.get("schedule"), opt.param_groups[0]["lr"])

    data = wm.read_dataset(meta, data_file)
    valid = wm.read_dataset(meta, a.valid) if a.valid else None
    batch = a.batch or training["batchSize"]
    spec = meta["spec"]
    per_step = wm.per_step(spec)
    carry = task == "lm" and training.get("carryState", False)
    if carry and world > data.streams:
        raise wm.WeftError(f"{data_file}: {data.streams} streams of text for {world} processes; each process needs a stream (a longer text or --batch)")
    per_rank = max(1, math.ceil(batch / world))

    def one_step(x, n, y, state):
        nonlocal step
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x, n, y = x.to(device), n.to(device), y.to(device)
        T = int(n.max())
        x, y = x[:, :T], (y[:, :T] if per_step else y)
        out = ddp(x, n, state)
        total, count = wm.loss_terms(spec, out, y, n)
        both = torch.stack([total.detach(), count.detach().to(total.dtype)])
        if distributed:
            dist.all_reduce(both)
        (total * world / both[1]).backward()  # DDP averages over processes: the global batch's mean
        if training.get("clipValue", 0) > 0:
            torch.nn.utils.clip_grad_value_(model.parameters(), training["clipValue"])
        if training.get("clipNorm", 0) > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), training["clipNorm"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        return float(both[0] / both[1])

    losses = []
    done = 0
    t0 = time.time()
    for epoch in range(a.epochs):
        if carry:
            # Streams r, r + N, ...: rows w*B + b of window w; each stream's state carried to its next window.
            B = data.streams
            mine = list(range(rank, B, world))
            state = {}
            for w in range(len(data) // B):
                rows = [w * B + b for b in mine]
                state = {k: tuple(t.detach() for t in v) for k, v in state.items()}
                losses.append(one_step(data.inputs[rows], data.lengths[rows], data.targets[rows], state))
                done += 1
                if a.steps and done >= a.steps:
                    break
        else:
            sampler = DistributedSampler(range(len(data)), num_replicas=world, rank=rank, shuffle=True, seed=seed)
            sampler.set_epoch(epoch)
            order = list(sampler)
            for s in range(0, len(order), per_rank):
                rows = order[s : s + per_rank]
                losses.append(one_step(data.inputs[rows], data.lengths[rows], data.targets[rows], None))
                done += 1
                if a.steps and done >= a.steps:
                    break
        if rank == 0:
            line = {"epoch": epoch + 1, "step": step, "loss": losses[-1] if losses else None}
            if valid is not None:
                line["valid"] = wm.evaluate(model, meta, valid)
                model.train()
            print(json.dumps(line), flush=True)
        if a.steps and done >= a.steps:
            break

    if rank == 0:
        out = a.out or here
        os.makedirs(out, exist_ok=True)
        wm.save_safetensors(os.path.join(out, "model.safetensors"), model.state_dict(), {"format": "pt", "producer": "weft train_ddp.py"})
        wm.save_safetensors(os.path.join(out, "optimizer.safetensors"), optimizer_state(opt, model), {"step": str(step)})
        meta["step"] = step
        meta.setdefault("history", []).append({
            "by": "train_ddp.py", "processes": world, "steps": done, "data": os.path.abspath(data_file),
            "firstLoss": losses[0] if losses else None, "lastLoss": losses[-1] if losses else None, "seconds": round(time.time() - t0, 3),
        })
        wm.save_meta(out, meta)
        if os.path.abspath(out) != here:
            import shutil
            for f in ("weft_model.py", "train_ddp.py"):
                shutil.copyfile(os.path.join(here, f), os.path.join(out, f))
        print(json.dumps({"done": True, "out": out, "step": step, "steps": done, "processes": world,
                          "firstLoss": losses[0] if losses else None, "lastLoss": losses[-1] if losses else None, "losses": losses}), flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    try:
        main()
    except wm.WeftError as e:
        print(f"train_ddp.py: {e}", file=sys.stderr)
        sys.exit(1)
