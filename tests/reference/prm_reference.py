"""Independent reference for quorum's PRM kinds: a tiny random checkpoint in each published
layout, and the step scores the published scoring code computes from it.

    python3 prm_reference.py make OUT_DIR LAYOUT VOCAB_SIZE
    python3 prm_reference.py score OUT_DIR KIND INPUTS.json SCORES.json

`make` writes OUT_DIR/config.json and OUT_DIR/model.safetensors for a PRM kind's layout, or for a
causal language model of any of decoder_reference.py's variants (LAYOUT names it):
  reward_head  Qwen2ForProcessRewardModel (Qwen2.5-Math-PRM): model.*, score.0 / score.2
  value_head   Qwen2ForPrmModel (Skywork-o1-Open-PRM): model.*, lm_head, v_head.summary [1, hidden]
  good_token   MistralForCausalLM (Math-Shepherd's base): model.*, lm_head
  chat_turn    LlamaForCausalLM with llama3 rope scaling (the RLHFlow Llama-3.1 PRMs)
  outcome_head Qwen2ForRewardModel (Qwen2.5-Math-RM): model.*, score.0 / score.2 with one output
`score` reads what tests/reference/prm_inputs.cjs wrote (the sequences each published example
runs and the positions it reads) and writes each case's step scores: softmax(score head)[1],
sigmoid(v_head), softmax over the good/bad logits [0], or the outcome head's raw reward (one
per case, at the last token, as modeling_qwen2_rm.py pools it).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoder_reference as ref  # noqa: E402

VARIANTS = {"reward_head": "qwen2-prm", "value_head": "qwen2", "good_token": "mistral", "chat_turn": "llama3",
            "outcome_head": "qwen2-prm"}
ARCHITECTURES = {"value_head": "Qwen2ForPrmModel", "outcome_head": "Qwen2ForRewardModel"}


def checkpoint(kind, vocab_size):
    variant = VARIANTS.get(kind, kind)
    config = ref.make_config(variant)
    config["vocab_size"] = vocab_size
    if kind in ARCHITECTURES:
        config["architectures"] = [ARCHITECTURES[kind]]
        config["tie_word_embeddings"] = False
    weights = ref.make_weights(config, variant)
    if kind == "value_head":
        g = torch.Generator().manual_seed(99)
        hidden = config["hidden_size"]
        weights["lm_head.weight"] = torch.randn(vocab_size, hidden, generator=g) * 0.08
        weights["v_head.summary.weight"] = torch.randn(1, hidden, generator=g) * 0.5
        weights["v_head.summary.bias"] = torch.randn(1, generator=g) * 0.5
    if kind == "outcome_head":
        # One output: the reward. Scaled so that rewards land well outside [0, 1].
        g = torch.Generator().manual_seed(98)
        hidden = config["hidden_size"]
        weights["score.2.weight"] = torch.randn(1, hidden, generator=g) * 2.0
        weights["score.2.bias"] = torch.randn(1, generator=g) * 2.0
    return config, weights


def make(out, kind, vocab_size):
    config, weights = checkpoint(kind, vocab_size)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    ref.write_safetensors(os.path.join(out, "model.safetensors"), weights, "F32")


def score(out, kind, inputs_file, scores_file):
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    _, weights = checkpoint(kind, config["vocab_size"])
    with open(inputs_file) as f:
        cases = json.load(f)
    results = []
    with torch.no_grad():
        for case in cases:
            steps = []
            for ids, positions in zip(case["sequences"], case["positions"]):
                x = ref.backbone(config, weights, torch.tensor([ids]))[0]
                at = x[positions]
                if kind == "outcome_head":
                    # Qwen2ForRewardModel pools the last token before the first pad token; an
                    # input without one is pooled at its last token.
                    pad = config.get("pad_token_id")
                    last = ids.index(pad) - 1 if pad in ids else len(ids) - 1
                    assert positions == [last], (positions, last)
                    h = torch.relu(x[last] @ weights["score.0.weight"].T + weights["score.0.bias"])
                    p = h @ weights["score.2.weight"].T + weights["score.2.bias"]
                elif kind == "reward_head":
                    h = torch.relu(at @ weights["score.0.weight"].T + weights["score.0.bias"])
                    p = torch.softmax(h @ weights["score.2.weight"].T + weights["score.2.bias"], dim=-1)[:, 1]
                elif kind == "value_head":
                    p = torch.sigmoid(at @ weights["v_head.summary.weight"].T + weights["v_head.summary.bias"])[:, 0]
                else:
                    good, bad = case["good_bad"]
                    logits = ref.logits(weights, at)[:, [good, bad]]
                    p = torch.softmax(logits, dim=-1)[:, 0]
                steps.extend(p.tolist())
            results.append(steps)
    with open(scores_file, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        score(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
