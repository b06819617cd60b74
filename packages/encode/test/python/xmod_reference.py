"""X-MOD's forward pass in NumPy, written from the published architecture (Pfeiffer et al. 2022,
"Lifting the Curse of Multilinguality by Pre-training Modular Transformers", and Hugging Face's
XmodModel in eval mode: transformers/src/transformers/models/xmod/modeling_xmod.py and
configuration_xmod.py), independent of crossrank's TypeScript and ONNX code. Reads config.json and
model.safetensors of a model folder, runs the batches given as JSON on stdin, prints the
last hidden states as JSON.

Each row runs through the adapter of its own language: lang_ids[b] indexes config["languages"]
(XmodOutput.adapter_modules keeps that order), as XmodModel.forward(lang_ids=...) does.

stdin:  {"folder": "...", "batches": [{"input_ids": [[...]], "attention_mask": [[...]], "lang_ids": [...]}]}
stdout: {"outputs": [hidden [batch][seq][hidden], ...]}
"""
import json
import math
import sys

import numpy as np

from bert_reference import gelu, layer_norm, read_safetensors


def position_ids(ids, padding_idx):
    """RoBERTa's create_position_ids_from_input_ids: padding_idx + the running count of non-padding tokens; padding keeps padding_idx."""
    mask = (ids != padding_idx).astype(np.int64)
    return np.cumsum(mask, axis=1) * mask + padding_idx


def xmod(w, config, ids, mask, lang_ids):
    eps = config["layer_norm_eps"]
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    d = hidden // heads
    batch, length = ids.shape
    languages = config["languages"]
    pre_norm = config.get("pre_norm", False)
    adapter_layer_norm = config.get("adapter_layer_norm", False)
    adapter_reuse_layer_norm = config.get("adapter_reuse_layer_norm", True)
    ln_before_adapter = config.get("ln_before_adapter", True)

    def ln(name, h):
        return layer_norm(h, w[f"{name}.weight"], w[f"{name}.bias"], eps)

    # XmodEmbeddings: no token_type_ids given, so the all-zero buffer: type embedding row 0.
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][position_ids(ids, config["pad_token_id"])] + w["embeddings.token_type_embeddings.weight"][0]
    x = ln("embeddings.LayerNorm", x)
    key_bias = (1.0 - mask[:, None, None, :]) * float(np.finfo(np.float32).min)

    def split(t):
        return t.reshape(batch, length, heads, d).transpose(0, 2, 1, 3)

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def linear(name, h):
            return h @ w[f"{p}{name}.weight"].T + w[f"{p}{name}.bias"]

        # XmodAttention (pre_norm: LayerNorm first, residual from before it).
        residual = x
        h = ln(f"{p}attention.output.LayerNorm", x) if pre_norm else x
        q, k, v = (split(linear(f"attention.self.{n}", h)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + key_bias
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = linear("attention.output.dense", context) + residual
        if not pre_norm:
            x = ln(f"{p}attention.output.LayerNorm", x)

        # XmodLayer's feed-forward block, then XmodOutput.lang_adapter.
        residual = x
        h = ln(f"{p}output.LayerNorm", x) if pre_norm else x
        h = linear("output.dense", gelu(linear("intermediate.dense", h))) + residual
        adapter_residual = h
        if adapter_layer_norm:
            h = ln(f"{p}output.adapter_layer_norm", h)
        elif adapter_reuse_layer_norm:
            h = ln(f"{p}output.LayerNorm", h)
        if ln_before_adapter:
            adapter_residual = h
        out = np.empty_like(h)
        for b in range(batch):
            a = f"{p}output.adapter_modules.{languages[lang_ids[b]]}."
            bottleneck = gelu(h[b] @ w[a + "dense1.weight"].T + w[a + "dense1.bias"])
            out[b] = bottleneck @ w[a + "dense2.weight"].T + w[a + "dense2.bias"]
        x = out + adapter_residual
        if not pre_norm:
            x = ln(f"{p}output.LayerNorm", x)
    if pre_norm:
        x = ln("encoder.LayerNorm", x)
    return x


def main():
    request = json.load(sys.stdin)
    folder = request["folder"]
    with open(f"{folder}/config.json") as f:
        config = json.load(f)
    if config.get("model_type") != "xmod":
        raise ValueError(f"{folder}/config.json: model_type {config.get('model_type')!r}, expected 'xmod'")
    w = read_safetensors(f"{folder}/model.safetensors")
    outputs = []
    for b in request["batches"]:
        ids = np.array(b["input_ids"], dtype=np.int64)
        mask = np.array(b["attention_mask"], dtype=np.float64)
        lang_ids = [int(l) for l in b["lang_ids"]]
        outputs.append(xmod(w, config, ids, mask, lang_ids).tolist())
    json.dump({"outputs": outputs}, sys.stdout)


if __name__ == "__main__":
    main()
