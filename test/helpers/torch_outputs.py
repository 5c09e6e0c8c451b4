"""For test/pytorch.test.ts: an export's weft_model.py run on a data file by PyTorch, printed as one
JSON object: the outputs (logits or normalised values) [count, (steps,) outputs] flattened, their
shape, the lengths, the decoded predictions and the evaluation (loss, count, accuracy).

    python3 torch_outputs.py EXPORT_DIR DATA_FILE
"""
import json
import sys

import torch

sys.path.insert(0, sys.argv[1])
import weft_model as wm  # noqa: E402

model, meta = wm.load(sys.argv[1])
data = wm.read_dataset(meta, sys.argv[2])
with torch.no_grad():
    out = model(data.inputs, data.lengths)
print(json.dumps({
    "shape": list(out.shape),
    "outputs": out.reshape(-1).tolist(),
    "lengths": data.lengths.tolist(),
    "predictions": wm.predictions(meta, out, data.lengths),
    "eval": wm.evaluate(model, meta, data),
}))
