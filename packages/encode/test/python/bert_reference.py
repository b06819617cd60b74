"""BERT's forward pass in NumPy, written from the published architecture (Devlin et al. 2019, and
Hugging Face's BertModel / BertForSequenceClassification in eval mode), independent of crossrank's
TypeScript and ONNX code: reads model.safetensors and config.json of a model folder, runs the
batches given as JSON on stdin, prints the results as JSON.

stdin:  {"folder": "...", "task": "hidden" | "logits", "batches": [{"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]}]}
stdout: {"outputs": [hidden [batch][seq][hidden] or logits [batch][labels], ...]}
"""
import json
import math
import struct
import sys

import numpy as np


def read_safetensors(path):
    """The safetensors format: an 8-byte little-endian header length, a JSON header, raw tensors."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {info['dtype']}, this reference reads F32")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return tensors


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


ERF = np.vectorize(math.erf)


def gelu(x):
    """BERT's exact GELU: x · Φ(x) = 0.5 · x · (1 + erf(x / √2))."""
    return 0.5 * x * (1.0 + ERF(x / math.sqrt(2.0)))


def bert(w, config, ids, mask, types, prefix):
    """BertModel: embeddings, then per layer self-attention and the feed-forward block, each with a residual and LayerNorm."""
    p = lambda name: w[prefix + name]
    eps = config["layer_norm_eps"]
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    d = hidden // heads
    batch, length = ids.shape
    x = p("embeddings.word_embeddings.weight")[ids] + p("embeddings.position_embeddings.weight")[np.arange(length)][None] + p("embeddings.token_type_embeddings.weight")[types]
    x = layer_norm(x, p("embeddings.LayerNorm.weight"), p("embeddings.LayerNorm.bias"), eps)
    # Padded keys get the smallest float32 added to their scores (what transformers does).
    key_bias = (1.0 - mask[:, None, None, :]) * float(np.finfo(np.float32).min)

    def split(t):
        return t.reshape(batch, length, heads, d).transpose(0, 2, 1, 3)

    for i in range(config["num_hidden_layers"]):
        def linear(name, h):
            return h @ p(f"encoder.layer.{i}.{name}.weight").T + p(f"encoder.layer.{i}.{name}.bias")

        q, k, v = (split(linear(f"attention.self.{n}", x)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + key_bias
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = layer_norm(linear("attention.output.dense", context) + x, p(f"encoder.layer.{i}.attention.output.LayerNorm.weight"), p(f"encoder.layer.{i}.attention.output.LayerNorm.bias"), eps)
        h = gelu(linear("intermediate.dense", x))
        x = layer_norm(linear("output.dense", h) + x, p(f"encoder.layer.{i}.output.LayerNorm.weight"), p(f"encoder.layer.{i}.output.LayerNorm.bias"), eps)
    return x


def main():
    request = json.load(sys.stdin)
    folder = request["folder"]
    with open(f"{folder}/config.json") as f:
        config = json.load(f)
    w = read_safetensors(f"{folder}/model.safetensors")
    # BertForSequenceClassification keeps BertModel's weights under "bert."
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
    outputs = []
    for b in request["batches"]:
        ids = np.array(b["input_ids"], dtype=np.int64)
        mask = np.array(b["attention_mask"], dtype=np.float64)
        types = np.array(b["token_type_ids"], dtype=np.int64)
        x = bert(w, config, ids, mask, types, prefix)
        if request["task"] == "hidden":
            outputs.append(x.tolist())
        else:
            # The pooler (dense + tanh over the first token), then the classifier; dropout is off in eval mode.
            pooled = np.tanh(x[:, 0] @ w[prefix + "pooler.dense.weight"].T + w[prefix + "pooler.dense.bias"])
            outputs.append((pooled @ w["classifier.weight"].T + w["classifier.bias"]).tolist())
    json.dump({"outputs": outputs}, sys.stdout)


if __name__ == "__main__":
    main()
