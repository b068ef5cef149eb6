"""Independent reference for quorum's decoder: writes a tiny random checkpoint of one of the
supported architectures in the Hugging Face layout and the logits an eager PyTorch forward
pass computes for fixed inputs, following transformers' modeling code (written from its
documented behaviour, not from quorum's C++).

    python3 decoder_reference.py OUT_DIR VARIANT {F32,F16,BF16} [COMPUTE]

VARIANT: llama (tied), llama-bias (attention_bias and mlp_bias), llama3 (rope_scaling llama3),
llama-linear (rope_scaling linear), rope-parameters (newer transformers' rope_parameters,
llama3 scaling, no top-level rope_theta), qwen2 (untied), qwen2-tied, qwen2-window
(use_sliding_window, the window in layers from max_window_layers on), qwen3 (q_norm/k_norm,
head_dim != hidden_size / heads), mistral (sliding_window), qwen2-prm (a Qwen2.5-Math-PRM-style
reward model, no language-model head). COMPUTE: float32 (default) or bfloat16, the dtype the
forward pass runs in, with transformers' numerics (RMSNorm and softmax in float32).

Writes OUT_DIR/config.json, OUT_DIR/model.safetensors (written here with struct + json, not by
quorum), OUT_DIR/ids.i64 ([2, T] token ids, with the step token 5 at positions 3, 7 and, in row
0, 10), OUT_DIR/meta.json ({"batch", "steps", "vocab"}) and OUT_DIR/logits.f32 ([2, T, vocab]);
for qwen2-prm OUT_DIR/prm.f32 ([2, T]: the step score at every position) instead. T is 11 for
llama, qwen2 and qwen2-prm and 48 for the others: longer than the sliding windows (8) and than
original_max_position_embeddings (16) of the scaled variants, so both change the result.
"""
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
COMPUTE = {"float32": torch.float32, "bfloat16": torch.bfloat16}

ARCHITECTURES = {
    "llama": ("LlamaForCausalLM", "llama"),
    "llama-bias": ("LlamaForCausalLM", "llama"),
    "llama3": ("LlamaForCausalLM", "llama"),
    "llama-linear": ("LlamaForCausalLM", "llama"),
    "rope-parameters": ("LlamaForCausalLM", "llama"),
    "qwen2": ("Qwen2ForCausalLM", "qwen2"),
    "qwen2-tied": ("Qwen2ForCausalLM", "qwen2"),
    "qwen2-window": ("Qwen2ForCausalLM", "qwen2"),
    "qwen2-prm": ("Qwen2ForProcessRewardModel", "qwen2"),
    "qwen3": ("Qwen3ForCausalLM", "qwen3"),
    "mistral": ("MistralForCausalLM", "mistral"),
}
STEP_TOKEN = 5
LLAMA3_SCALING = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 16}


def sequence_length(variant):
    return 11 if variant in ("llama", "qwen2", "qwen2-prm") else 48


def make_config(variant):
    architecture, model_type = ARCHITECTURES[variant]
    config = {
        "architectures": [architecture],
        "model_type": model_type,
        "vocab_size": 97,
        "hidden_size": 64,
        "intermediate_size": 112,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0 if model_type == "qwen2" else 10000.0,
        "tie_word_embeddings": variant in ("llama", "qwen2-tied", "qwen3", "llama3"),
        "max_position_embeddings": 128,
    }
    if variant == "llama-bias":
        config.update(attention_bias=True, mlp_bias=True)
    if variant == "llama3":
        config["rope_scaling"] = dict(LLAMA3_SCALING, rope_type="llama3")
    if variant == "llama-linear":
        config["rope_scaling"] = {"type": "linear", "factor": 4.0}
    if variant == "rope-parameters":
        del config["rope_theta"]
        config["rope_parameters"] = dict(LLAMA3_SCALING, rope_type="llama3", rope_theta=50000.0)
    if model_type == "qwen2":
        config.update(use_sliding_window=variant == "qwen2-window", sliding_window=8 if variant == "qwen2-window" else 4096,
                      max_window_layers=1 if variant == "qwen2-window" else 28)
    if variant == "qwen3":
        config.update(head_dim=24, attention_bias=False, use_sliding_window=False, sliding_window=None,
                      max_window_layers=2)
    if variant == "mistral":
        config["sliding_window"] = 8
    return config


def head_dim(config):
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def make_weights(config, variant):
    g = torch.Generator().manual_seed(1234)
    h, inter = config["hidden_size"], config["intermediate_size"]
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    d = head_dim(config)
    qkv_bias = config.get("model_type") == "qwen2" or config.get("attention_bias", False)
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
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = rnd(heads * d)
            w[p + "self_attn.k_proj.bias"] = rnd(kv * d)
            w[p + "self_attn.v_proj.bias"] = rnd(kv * d)
        if config.get("attention_bias", False):  # Llama and Qwen3 bias o_proj too
            w[p + "self_attn.o_proj.bias"] = rnd(h)
        if config.get("model_type") == "qwen3":
            w[p + "self_attn.q_norm.weight"] = 1.0 + rnd(d, scale=0.2)
            w[p + "self_attn.k_norm.weight"] = 1.0 + rnd(d, scale=0.2)
        w[p + "mlp.gate_proj.weight"] = rnd(inter, h)
        w[p + "mlp.up_proj.weight"] = rnd(inter, h)
        w[p + "mlp.down_proj.weight"] = rnd(h, inter)
        if config.get("mlp_bias", False):
            w[p + "mlp.gate_proj.bias"] = rnd(inter)
            w[p + "mlp.up_proj.bias"] = rnd(inter)
            w[p + "mlp.down_proj.bias"] = rnd(h)
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
    # transformers' LlamaRMSNorm: normalise in float32, cast back to the input's dtype, scale.
    wide = x.float()
    return weight * (wide * torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_frequencies(config):
    """inv_freq as transformers' ROPE_INIT_FUNCTIONS (default, linear, llama3) compute it."""
    parameters = config.get("rope_parameters")
    scaling = parameters if parameters is not None else (config.get("rope_scaling") or {})
    theta = scaling.get("rope_theta", config.get("rope_theta"))
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    d = head_dim(config)
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    if kind == "default":
        return inv_freq
    if kind == "linear":
        return inv_freq / scaling["factor"]
    assert kind == "llama3", kind
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_context = scaling["original_max_position_embeddings"]
    low_wavelength, high_wavelength = old_context / low, old_context / high
    wavelength = 2 * math.pi / inv_freq
    # Long wavelengths are divided by factor, short ones kept, the band between interpolated.
    slowed = torch.where(wavelength > low_wavelength, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelength - low) / (high - low)
    interpolated = (1 - smooth) * slowed / factor + smooth * slowed
    medium = ~(wavelength < high_wavelength) * ~(wavelength > low_wavelength)
    return torch.where(medium, interpolated, slowed)


def layer_window(config, layer):
    """The sliding window of a layer (None: full attention), as transformers' configs decide."""
    if config.get("model_type") == "mistral":
        return config.get("sliding_window", 4096)
    if config.get("model_type") in ("qwen2", "qwen3") and config.get("use_sliding_window", False):
        types = config.get("layer_types") or [
            "sliding_attention" if i >= config.get("max_window_layers", 28) else "full_attention"
            for i in range(config["num_hidden_layers"])]
        return config.get("sliding_window", 4096) if types[layer] == "sliding_attention" else None
    return None


def backbone(config, w, ids):
    """Final hidden states [B, T, hidden], computed in the dtype of the weights in w."""
    h = config["hidden_size"]
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    d = head_dim(config)
    dtype = w["model.embed_tokens.weight"].dtype
    b, t = ids.shape
    x = w["model.embed_tokens.weight"][ids]
    pos = torch.arange(t).float()
    freqs = torch.outer(pos, rope_frequencies(config))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(dtype)[None, None], emb.sin().to(dtype)[None, None]
    query_at, key_at = torch.arange(t)[:, None], torch.arange(t)[None, :]
    minimum = torch.finfo(dtype).min

    def mask(window):
        allowed = key_at <= query_at
        if window is not None:
            allowed = allowed & (query_at - key_at < window)
        return torch.zeros(t, t, dtype=dtype).masked_fill(~allowed, minimum)

    def linear(y, name):
        out = y @ w[name + ".weight"].T
        return out + w[name + ".bias"] if name + ".bias" in w else out

    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        y = rms_norm(x, w[p + "input_layernorm.weight"], config["rms_norm_eps"])
        q = linear(y, p + "self_attn.q_proj").view(b, t, heads, d)
        k = linear(y, p + "self_attn.k_proj").view(b, t, kv, d)
        v = linear(y, p + "self_attn.v_proj").view(b, t, kv, d).transpose(1, 2)
        if p + "self_attn.q_norm.weight" in w:  # Qwen3: per-head norms before the rotation
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], config["rms_norm_eps"])
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], config["rms_norm_eps"])
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k[:, :, None].expand(b, kv, heads // kv, t, d).reshape(b, heads, t, d)
        v = v[:, :, None].expand(b, kv, heads // kv, t, d).reshape(b, heads, t, d)
        scores = (q @ k.transpose(-1, -2)) * d ** -0.5 + mask(layer_window(config, i))
        att = torch.softmax(scores, dim=-1, dtype=torch.float32).to(dtype) @ v
        x = x + linear(att.transpose(1, 2).reshape(b, t, heads * d), p + "self_attn.o_proj")
        y = rms_norm(x, w[p + "post_attention_layernorm.weight"], config["rms_norm_eps"])
        gate = linear(y, p + "mlp.gate_proj")
        x = x + linear(torch.nn.functional.silu(gate) * linear(y, p + "mlp.up_proj"), p + "mlp.down_proj")
    return rms_norm(x, w["model.norm.weight"], config["rms_norm_eps"])


def logits(w, x):
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.T


def step_scores(w, x):
    hidden = torch.relu(x @ w["score.0.weight"].T + w["score.0.bias"])
    return torch.softmax(hidden @ w["score.2.weight"].T + w["score.2.bias"], dim=-1)[..., 1]


def main():
    out, variant, dtype_name = sys.argv[1], sys.argv[2], sys.argv[3]
    compute = COMPUTE[sys.argv[4] if len(sys.argv) > 4 else "float32"]
    config = make_config(variant)
    weights = make_weights(config, variant)
    with open(f"{out}/config.json", "w") as f:
        json.dump(config, f, indent=1)
    write_safetensors(f"{out}/model.safetensors", weights, dtype_name)
    # The reference computes with exactly the weights the file holds, in the compute dtype.
    stored = {n: t.to(DTYPES[dtype_name]).to(compute) for n, t in weights.items()}
    steps = sequence_length(variant)
    ids = torch.randint(0, config["vocab_size"], (2, steps), generator=torch.Generator().manual_seed(7))
    ids[:, 3] = STEP_TOKEN
    ids[:, 7] = STEP_TOKEN
    ids[0, 10] = STEP_TOKEN
    with torch.no_grad():
        x = backbone(config, stored, ids)
        if variant == "qwen2-prm":
            result, name = step_scores(stored, x), "prm.f32"
        else:
            result, name = logits(stored, x), "logits.f32"
    with open(f"{out}/ids.i64", "wb") as f:
        f.write(ids.numpy().astype("<i8").tobytes())
    with open(f"{out}/meta.json", "w") as f:
        json.dump({"batch": 2, "steps": steps, "vocab": config["vocab_size"]}, f)
    with open(f"{out}/{name}", "wb") as f:
        f.write(result.float().numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
