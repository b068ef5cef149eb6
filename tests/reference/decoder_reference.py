"""Independent reference for quorum's decoder: writes a tiny random Llama/Qwen2 checkpoint in
the Hugging Face layout and the logits an eager PyTorch forward pass computes for fixed inputs.

    python3 decoder_reference.py OUT_DIR {llama,qwen2,qwen2-prm} {F32,F16,BF16}

Writes OUT_DIR/config.json, OUT_DIR/model.safetensors (written here with struct + json, not by
quorum), OUT_DIR/ids.i64 ([2, 11] token ids, with the step token 5 at some positions) and
OUT_DIR/logits.f32 ([2, 11, vocab]); for qwen2-prm (a Qwen2.5-Math-PRM-style reward model,
no language-model head) OUT_DIR/prm.f32 ([2, 11]: the step score at every position) instead.
"""
import json
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


ARCHITECTURES = {"qwen2": "Qwen2ForCausalLM", "llama": "LlamaForCausalLM", "qwen2-prm": "Qwen2ForProcessRewardModel"}
STEP_TOKEN = 5


def make_config(variant):
    config = {
        "architectures": [ARCHITECTURES[variant]],
        "model_type": "llama" if variant == "llama" else "qwen2",
        "vocab_size": 97,
        "hidden_size": 64,
        "intermediate_size": 112,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0 if variant == "qwen2" else 10000.0,
        "tie_word_embeddings": variant == "llama",
        "max_position_embeddings": 128,
    }
    return config


def make_weights(config, variant):
    g = torch.Generator().manual_seed(1234)
    h, inter = config["hidden_size"], config["intermediate_size"]
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    d = h // heads
    w = {}

    def rnd(*shape, scale=0.08):
        return torch.randn(*shape, generator=g) * scale

    w["model.embed_tokens.weight"] = rnd(config["vocab_size"], h, scale=0.5)
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "self_attn.q_proj.weight"] = rnd(heads * d, h)
        w[p + "self_attn.k_proj.weight"] = rnd(kv * d, h)
        w[p + "self_attn.v_proj.weight"] = rnd(kv * d, h)
        w[p + "self_attn.o_proj.weight"] = rnd(h, heads * d)
        if variant != "llama":
            w[p + "self_attn.q_proj.bias"] = rnd(heads * d)
            w[p + "self_attn.k_proj.bias"] = rnd(kv * d)
            w[p + "self_attn.v_proj.bias"] = rnd(kv * d)
        w[p + "mlp.gate_proj.weight"] = rnd(inter, h)
        w[p + "mlp.up_proj.weight"] = rnd(inter, h)
        w[p + "mlp.down_proj.weight"] = rnd(h, inter)
        w[p + "input_layernorm.weight"] = 1.0 + rnd(h, scale=0.1)
        w[p + "post_attention_layernorm.weight"] = 1.0 + rnd(h, scale=0.1)
    w["model.norm.weight"] = 1.0 + rnd(h, scale=0.1)
    if variant == "qwen2-prm":
        w["score.0.weight"] = rnd(h, h, scale=0.2)
        w["score.0.bias"] = rnd(h, scale=0.2)
        w["score.2.weight"] = rnd(2, h, scale=0.5)
        w["score.2.bias"] = rnd(2, scale=0.5)
    elif not config["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd(config["vocab_size"], h)
    return w


def write_safetensors(path, tensors, dtype_name):
    dtype = DTYPES[dtype_name]
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.to(dtype).contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if dtype != torch.float32 else t.numpy().tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def backbone(config, w, ids):
    h = config["hidden_size"]
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    d = h // heads
    b, t = ids.shape
    x = w["model.embed_tokens.weight"][ids]
    inv_freq = 1.0 / (config["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    pos = torch.arange(t).float()
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    causal = torch.full((t, t), float("-inf")).triu(1)
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        y = rms_norm(x, w[p + "input_layernorm.weight"], config["rms_norm_eps"])

        def proj(name, n):
            out = y @ w[p + f"self_attn.{name}.weight"].T
            if p + f"self_attn.{name}.bias" in w:
                out = out + w[p + f"self_attn.{name}.bias"]
            return out.view(b, t, n, d).transpose(1, 2)

        q, k, v = proj("q_proj", heads), proj("k_proj", kv), proj("v_proj", kv)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k[:, :, None].expand(b, kv, heads // kv, t, d).reshape(b, heads, t, d)
        v = v[:, :, None].expand(b, kv, heads // kv, t, d).reshape(b, heads, t, d)
        att = torch.softmax(q @ k.transpose(-1, -2) / d ** 0.5 + causal, dim=-1) @ v
        x = x + att.transpose(1, 2).reshape(b, t, h) @ w[p + "self_attn.o_proj.weight"].T
        y = rms_norm(x, w[p + "post_attention_layernorm.weight"], config["rms_norm_eps"])
        gate = y @ w[p + "mlp.gate_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * (y @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    return rms_norm(x, w["model.norm.weight"], config["rms_norm_eps"])


def logits(w, x):
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.T


def step_scores(w, x):
    hidden = torch.relu(x @ w["score.0.weight"].T + w["score.0.bias"])
    return torch.softmax(hidden @ w["score.2.weight"].T + w["score.2.bias"], dim=-1)[..., 1]


def main():
    out, variant, dtype_name = sys.argv[1], sys.argv[2], sys.argv[3]
    config = make_config(variant)
    weights = make_weights(config, variant)
    with open(f"{out}/config.json", "w") as f:
        json.dump(config, f, indent=1)
    write_safetensors(f"{out}/model.safetensors", weights, dtype_name)
    # The reference computes with exactly the weights the file holds, upcast to float32.
    stored = {n: t.to(DTYPES[dtype_name]).to(torch.float32) for n, t in weights.items()}
    ids = torch.randint(0, config["vocab_size"], (2, 11), generator=torch.Generator().manual_seed(7))
    ids[:, 3] = STEP_TOKEN
    ids[:, 7] = STEP_TOKEN
    ids[0, 10] = STEP_TOKEN
    with torch.no_grad():
        x = backbone(config, stored, ids)
        result, name = (step_scores(stored, x), "prm.f32") if variant == "qwen2-prm" else (logits(stored, x), "logits.f32")
    with open(f"{out}/ids.i64", "wb") as f:
        f.write(ids.numpy().astype("<i8").tobytes())
    with open(f"{out}/{name}", "wb") as f:
        f.write(result.numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
