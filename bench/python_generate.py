"""The Python side of bench_generate: a plain eager PyTorch generation loop with a KV cache over
the same safetensors weights, for comparison in the same invocation.

    python3 python_generate.py CHECKPOINT_DIR BATCH PROMPT_TOKENS NEW_TOKENS
    python3 python_generate.py CHECKPOINT_DIR BATCH SEQUENCE_TOKENS score

Prints one line: tokens per second (generated tokens, or tokens scored by the PRM reward head
of a ...ForProcessRewardModel checkpoint). Greedy decoding; torch uses its default number of
threads, as the C++ side does.
"""
import json
import struct
import sys
import time

import torch


def load(directory):
    with open(f"{directory}/config.json") as f:
        config = json.load(f)
    with open(f"{directory}/model.safetensors", "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    weights = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        assert entry["dtype"] == "F32"
        weights[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).view(entry["shape"])
    return config, weights


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Model:
    def __init__(self, config, w):
        self.c, self.w = config, w
        self.heads, self.kv = config["num_attention_heads"], config["num_key_value_heads"]
        self.d = config.get("head_dim") or config["hidden_size"] // self.heads
        self.inv_freq = 1.0 / (config["rope_theta"] ** (torch.arange(0, self.d, 2).float() / self.d))
        self.head = w.get("lm_head.weight", w["model.embed_tokens.weight"])


    def forward(self, ids, start, cache):
        w, b, t = self.w, ids.shape[0], ids.shape[1]
        x = w["model.embed_tokens.weight"][ids]
        freqs = torch.outer(torch.arange(start, start + t).float(), self.inv_freq)
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        total = start + t
        mask = torch.full((t, total), float("-inf")).triu(start + 1)
        for i in range(self.c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            y = rms_norm(x, w[p + "input_layernorm.weight"], self.c["rms_norm_eps"])

            def proj(name, n):
                out = y @ w[p + f"self_attn.{name}.weight"].T
                if p + f"self_attn.{name}.bias" in w:
                    out = out + w[p + f"self_attn.{name}.bias"]
                return out.view(b, t, n, self.d).transpose(1, 2)

            q, k, v = proj("q_proj", self.heads), proj("k_proj", self.kv), proj("v_proj", self.kv)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if i in cache:
                k = torch.cat((cache[i][0], k), 2)
                v = torch.cat((cache[i][1], v), 2)
            cache[i] = (k, v)
            rep = self.heads // self.kv
            k = k.repeat_interleave(rep, 1)
            v = v.repeat_interleave(rep, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / self.d ** 0.5 + mask, -1) @ v
            x = x + att.transpose(1, 2).reshape(b, t, -1) @ w[p + "self_attn.o_proj.weight"].T
            y = rms_norm(x, w[p + "post_attention_layernorm.weight"], self.c["rms_norm_eps"])
            x = x + (torch.nn.functional.silu(y @ w[p + "mlp.gate_proj.weight"].T) * (y @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
        return rms_norm(x, w["model.norm.weight"], self.c["rms_norm_eps"])

    def next_logits(self, ids, start, cache):
        return self.forward(ids, start, cache)[:, -1] @ self.head.T

    def step_scores(self, ids):
        w = self.w
        hidden = torch.relu(self.forward(ids, 0, {}) @ w["score.0.weight"].T + w["score.0.bias"])
        return torch.softmax(hidden @ w["score.2.weight"].T + w["score.2.bias"], -1)[..., 1]


def main():
    directory, batch, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    config, weights = load(directory)
    model = Model(config, weights)
    ids = torch.randint(0, config["vocab_size"], (batch, length), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for run in range(2):  # the first run warms up
            start = time.perf_counter()
            if sys.argv[4] == "score":
                model.step_scores(ids)
                tokens = batch * length
            else:
                new = int(sys.argv[4])
                cache = {}
                logits = model.next_logits(ids, 0, cache)
                position = length
                for _ in range(new):
                    logits = model.next_logits(logits.argmax(-1, keepdim=True), position, cache)
                    position += 1
                tokens = batch * new
            seconds = time.perf_counter() - start
    print(tokens / seconds)


if __name__ == "__main__":
    main()
