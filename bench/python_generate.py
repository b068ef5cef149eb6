"""The Python side of bench_generate: a plain eager PyTorch loop with a KV cache over the same
safetensors weights, doing the same work as quorum in the same invocation.

    python3 python_generate.py generate CHECKPOINT_DIR PROMPTS_FILE --samples N --max-new-tokens M
                               --eos ID --batch B [--threads T] [--dtype float32|bfloat16]
    python3 python_generate.py score CHECKPOINT_DIR SEQUENCES_FILE --batch B [--threads T] [--dtype ...]

A token file holds one sequence a line, token ids separated by spaces.

generate: every prompt is sampled --samples times at temperature 1 (torch.multinomial), up to
--max-new-tokens new tokens or the eos token, in static batches of --batch requests taken in
order, as Hugging Face generate does it: prompts left-padded, and a row that has stopped keeps
being computed (fed the pad token) until every row of its batch has stopped.

score: the sequences go through a ...ForProcessRewardModel checkpoint's backbone and reward
head in batches of --batch, right-padded.

Prints one line: "TOKENS SECONDS MEAN MIN MAX": the useful tokens (generated tokens, eos and
padding excluded; or real tokens scored), the seconds the work took (loading and a short
warm-up not counted), and the mean, shortest and longest response (or sequence) length.
"""
import argparse
import json
import os
import struct
import time

import torch

PAD = 0
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load(directory, dtype):
    with open(f"{directory}/config.json") as f:
        config = json.load(f)
    path = f"{directory}/model.safetensors"
    data = bytearray(os.path.getsize(path))
    with open(path, "rb") as f:
        f.readinto(data)
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    weights = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", f"{name}: only F32 checkpoints are read here"
        begin, end = entry["data_offsets"]
        tensor = torch.frombuffer(data, dtype=torch.float32, count=(end - begin) // 4, offset=8 + length + begin)
        weights[name] = tensor.view(entry["shape"]).to(dtype)
    return config, weights


def rms_norm(x, weight, eps):
    # In float32 and cast back, as transformers does.
    y = x.float()
    return weight * (y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def repeat_kv(x, times):
    """[b, kv, s, d] -> [b, kv * times, s, d], as transformers' repeat_kv does it."""
    b, kv, s, d = x.shape
    return x[:, :, None].expand(b, kv, times, s, d).reshape(b, kv * times, s, d)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Model:
    def __init__(self, config, weights):
        self.c, self.w = config, weights
        self.heads, self.kv = config["num_attention_heads"], config["num_key_value_heads"]
        self.d = config.get("head_dim") or config["hidden_size"] // self.heads
        self.inv_freq = 1.0 / (config["rope_theta"] ** (torch.arange(0, self.d, 2).float() / self.d))
        self.head = weights.get("lm_head.weight", weights["model.embed_tokens.weight"])
        self.dtype = self.head.dtype

    def forward(self, ids, positions, valid, cache):
        """ids, positions [b, t]; valid [b, s] over the cached and new keys; cache: layer -> (k, v)."""
        w, b, t = self.w, ids.shape[0], ids.shape[1]
        x = w["model.embed_tokens.weight"][ids]
        freqs = positions[..., None].float() * self.inv_freq
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos()[:, None].to(self.dtype), emb.sin()[:, None].to(self.dtype)
        total = valid.shape[1]
        causal = torch.ones(t, total, dtype=torch.bool).tril(total - t)
        allowed = causal[None, None] & valid[:, None, None, :]
        # The most negative finite value, as transformers uses: a padded query row that sees no key
        # gets a uniform softmax instead of NaN.
        mask = torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min)
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
            k, v = repeat_kv(k, self.heads // self.kv), repeat_kv(v, self.heads // self.kv)
            scores = (q @ k.transpose(-1, -2)).float() / self.d ** 0.5 + mask
            att = torch.softmax(scores, -1).to(self.dtype) @ v
            x = x + att.transpose(1, 2).reshape(b, t, -1) @ w[p + "self_attn.o_proj.weight"].T
            y = rms_norm(x, w[p + "post_attention_layernorm.weight"], self.c["rms_norm_eps"])
            gate = torch.nn.functional.silu(y @ w[p + "mlp.gate_proj.weight"].T)
            x = x + (gate * (y @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
        return rms_norm(x, w["model.norm.weight"], self.c["rms_norm_eps"])

    def next_logits(self, ids, positions, valid, cache):
        return (self.forward(ids, positions, valid, cache)[:, -1] @ self.head.T).float()

    def step_scores(self, ids, valid):
        w = self.w
        positions = torch.arange(ids.shape[1]).expand(ids.shape)
        hidden = self.forward(ids, positions, valid, {}).float()
        hidden = torch.relu(hidden @ w["score.0.weight"].float().T + w["score.0.bias"].float())
        return torch.softmax(hidden @ w["score.2.weight"].float().T + w["score.2.bias"].float(), -1)[..., 1]


def generate_batch(model, prompts, max_new_tokens, eos):
    """Samples one static batch; returns each row's response length (eos excluded)."""
    rows, longest = len(prompts), max(len(p) for p in prompts)
    ids = torch.tensor([[PAD] * (longest - len(p)) + p for p in prompts])
    valid = torch.tensor([[False] * (longest - len(p)) + [True] * len(p) for p in prompts])
    positions = (valid.long().cumsum(1) - 1).clamp(min=0)
    cache = {}
    logits = model.next_logits(ids, positions, valid, cache)
    done = torch.zeros(rows, dtype=torch.bool)
    lengths = torch.zeros(rows, dtype=torch.long)
    for step in range(max_new_tokens):
        token = torch.multinomial(torch.softmax(logits, -1), 1).squeeze(1)
        done |= token == eos
        lengths += ~done
        if bool(done.all()) or step == max_new_tokens - 1:
            break
        positions = positions[:, -1:] + 1
        valid = torch.cat((valid, torch.ones(rows, 1, dtype=torch.bool)), 1)
        logits = model.next_logits(token.masked_fill(done, PAD)[:, None], positions, valid, cache)
    return lengths.tolist()


def generate(model, prompts, args):
    requests = [p for p in prompts for _ in range(args.samples)]
    lengths = []
    for first in range(0, len(requests), args.batch):
        lengths += generate_batch(model, requests[first:first + args.batch], args.max_new_tokens, args.eos)
    return lengths


def score(model, sequences, args):
    for first in range(0, len(sequences), args.batch):
        rows = sequences[first:first + args.batch]
        longest = max(len(s) for s in rows)
        ids = torch.tensor([s + [PAD] * (longest - len(s)) for s in rows])
        valid = torch.tensor([[True] * len(s) + [False] * (longest - len(s)) for s in rows])
        model.step_scores(ids, valid)
    return [len(s) for s in sequences]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["generate", "score"])
    parser.add_argument("checkpoint")
    parser.add_argument("tokens")
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--eos", type=int, default=-1)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.tokens) as f:
        sequences = [[int(t) for t in line.split()] for line in f if line.strip()]
    model = Model(*load(args.checkpoint, DTYPES[args.dtype]))
    work = generate if args.mode == "generate" else score
    with torch.no_grad():
        warm_up = argparse.Namespace(**{**vars(args), "samples": 1, "max_new_tokens": 2, "batch": 1})
        work(model, sequences[:1], warm_up)
        start = time.perf_counter()
        lengths = work(model, sequences, args)
        seconds = time.perf_counter() - start
    print(sum(lengths), seconds, sum(lengths) / len(lengths), min(lengths), max(lengths))


if __name__ == "__main__":
    main()
