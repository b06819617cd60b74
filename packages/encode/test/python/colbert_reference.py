"""ColBERT's encoding and scoring in NumPy, written from stanford-futuredata/ColBERT
(colbert/modeling/tokenization/query_tokenization.py and doc_tokenization.py: the [Q] / [D] markers
at position 1, [MASK] augmentation of queries to query_maxlen; colbert/modeling/colbert.py:
BERT → linear → masks → L2 normalisation, colbert_score), on the BERT of bert_reference.py,
independent of crossrank's TypeScript and ONNX code. The settings come from the folder's
artifact.metadata, the special tokens' ids from vocab.txt and tokenizer_config.json.

The texts arrive as WordPiece ids without special tokens (what the reference's tokenizer gives
after the ". " placeholder's "."); documents run as one batch padded to the longest, queries as
one batch of query_maxlen, as the reference tensorizes them.

stdin:  {"folder": "...", "queries": [[content ids], ...], "documents": [[content ids], ...]}
stdout: {"queries": [[[row], ...], ...], "documents": [{"ids": [kept ids], "rows": [[row], ...]}, ...], "scores": [[score per document] per query]}
"""
import json
import string
import sys

import numpy as np

from bert_reference import bert, read_safetensors


def normalize(x):
    """torch.nn.functional.normalize(p=2, dim=-1): x / max(‖x‖, 1e-12)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def main():
    request = json.load(sys.stdin)
    folder = request["folder"]
    with open(f"{folder}/config.json") as f:
        config = json.load(f)
    with open(f"{folder}/artifact.metadata") as f:
        settings = json.load(f)
    with open(f"{folder}/tokenizer_config.json") as f:
        tokenizer_config = json.load(f)
    with open(f"{folder}/vocab.txt", encoding="utf-8") as f:
        vocab = {token: i for i, token in enumerate(f.read().split("\n")[:-1])}
    unk = vocab[tokenizer_config["unk_token"]]
    token_id = lambda token: vocab.get(token, unk)  # convert_tokens_to_ids
    cls, sep, pad, mask_id = (token_id(tokenizer_config[k]) for k in ("cls_token", "sep_token", "pad_token", "mask_token"))
    q_marker, d_marker = token_id(settings["query_token_id"]), token_id(settings["doc_token_id"])
    query_maxlen, doc_maxlen = settings["query_maxlen"], settings["doc_maxlen"]
    # The skip-list: each punctuation character encoded alone (BERT: the character's own id, [UNK] if absent).
    skiplist = {token_id(symbol) for symbol in string.punctuation} if settings["mask_punctuation"] else set()

    w = read_safetensors(f"{folder}/model.safetensors")
    linear = w["linear.weight"]

    def encode(rows_of_ids, attention):
        ids = np.array(rows_of_ids, dtype=np.int64)
        att = np.array(attention, dtype=np.float64)
        hidden = bert(w, config, ids, att, np.zeros_like(ids), "bert.")
        return hidden @ linear.T, ids

    # Queries: [CLS] [Q] content[:query_maxlen-3] [SEP], padding replaced by [MASK].
    q_ids, q_att = [], []
    for content in request["queries"]:
        ids = [cls, q_marker] + content[: query_maxlen - 3] + [sep]
        att = [1] * len(ids) + [1 if settings["attend_to_mask_tokens"] else 0] * (query_maxlen - len(ids))
        q_ids.append(ids + [mask_id] * (query_maxlen - len(ids)))
        q_att.append(att)
    Q, ids = encode(q_ids, q_att)
    Q = normalize(Q * (ids != pad)[..., None])

    # Documents: [CLS] [D] content[:doc_maxlen-3] [SEP], padded to the longest.
    d_ids = [[cls, d_marker] + content[: doc_maxlen - 3] + [sep] for content in request["documents"]]
    longest = max(len(d) for d in d_ids)
    D, ids = encode([d + [pad] * (longest - len(d)) for d in d_ids], [[1] * len(d) + [0] * (longest - len(d)) for d in d_ids])
    keep = np.vectorize(lambda x: x not in skiplist and x != pad)(ids)
    D = normalize(D * keep[..., None])

    if settings.get("similarity", "cosine") != "cosine":
        raise ValueError("this reference scores similarity cosine (colbert_score) only")
    scores = []
    for q in Q:
        row = []
        for d, k in zip(D, keep):
            s = d @ q.T
            s[~k] = -9999  # colbert_score_reduce: masked document rows never win a max
            row.append(float(s.max(0).sum()))
        scores.append(row)
    json.dump(
        {
            "queries": Q.tolist(),
            "documents": [{"ids": i[k].tolist(), "rows": d[k].tolist()} for d, i, k in zip(D, ids, keep)],
            "scores": scores,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
