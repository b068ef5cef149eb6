"""Hugging Face transformers' generate() on a model of Qwen2.5-0.5B's shape with random weights,
timed on a GPU: what quorum's bench_generate --device cuda is compared with (bench/gpu_check.sh).

    python3 hf_generate.py MODEL_DIR [--batch 64] [--samples 128] [--prompt-tokens 64]
                           [--max-new-tokens 256] [--dtypes bfloat16,float32] [--json FILE]

MODEL_DIR holds the model: made here (seeded random weights, save_pretrained: config.json and
model.safetensors in bfloat16, about 1 GB) when it has no config.json yet, so that quorum can load
the same checkpoint; loaded otherwise. The shape is Qwen2.5-0.5B's: hidden 896, 24 layers, 14
heads, 2 key/value heads, intermediate 4864, vocabulary 151936, tied embeddings, rope_theta 1e6.

For each dtype, `samples` sequences are generated in batches of `batch` from random prompts of
`prompt_tokens` tokens: do_sample with temperature 1 and neither top-k nor top-p, and exactly
`max_new_tokens` new tokens per sequence (min_new_tokens too, so that an end-of-text token drawn
by the random weights stops nothing). One warm-up call first; the clock runs from the first
timed call to the last, synchronised with the GPU. Prints one line per dtype with tokens/s and,
with --json, writes them with the versions and the GPU's name. Exits non-zero with a message
on the first thing missing (PyTorch, CUDA, transformers).
"""
import argparse
import json
import os
import sys
import time

QWEN25_05B = dict(
    hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
    intermediate_size=4864, vocab_size=151936, tie_word_embeddings=True, rope_theta=1e6,
    max_position_embeddings=32768, rms_norm_eps=1e-6, use_sliding_window=False,
    bos_token_id=151643, eos_token_id=151643)


def fail(message):
    print(f"hf_generate: {message}", file=sys.stderr)
    sys.exit(1)


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=128, help="sequences per dtype, in batches of --batch")
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--dtypes", default="bfloat16,float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.batch < 1 or args.samples < 1 or args.prompt_tokens < 1 or args.max_new_tokens < 1:
        fail("--batch, --samples, --prompt-tokens and --max-new-tokens must be positive")
    return args


def load_or_make(directory, seed, torch, transformers):
    if os.path.exists(os.path.join(directory, "config.json")):
        return transformers.Qwen2ForCausalLM.from_pretrained(directory), "loaded"
    torch.manual_seed(seed)
    with torch.device("cuda"):
        model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**QWEN25_05B))
    model.to(torch.bfloat16).save_pretrained(directory)
    return model, "made"


def time_generate(model, dtype, args, torch):
    model = model.to(device="cuda", dtype=dtype).eval()
    generator = torch.Generator(device="cuda").manual_seed(args.seed)
    prompts = torch.randint(0, model.config.vocab_size, (args.batch, args.prompt_tokens), device="cuda",
                            generator=generator)
    sampling = dict(do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                    pad_token_id=model.config.eos_token_id)
    with torch.inference_mode():
        model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=8,
                       min_new_tokens=8, **sampling)
        torch.cuda.synchronize()
        start = time.perf_counter()
        generated = 0
        for first in range(0, args.samples, args.batch):
            ids = prompts[:min(args.batch, args.samples - first)]
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.max_new_tokens,
                                 min_new_tokens=args.max_new_tokens, **sampling)
            new = out.shape[1] - ids.shape[1]
            if new != args.max_new_tokens:
                fail(f"generate returned {new} new tokens per sequence, not {args.max_new_tokens}")
            generated += new * ids.shape[0]
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return generated, seconds


def main():
    args = arguments()
    try:
        import torch
    except ImportError as e:
        fail(f"{sys.executable} has no PyTorch ({e})")
    if not torch.cuda.is_available():
        fail(f"PyTorch {torch.__version__} sees no GPU (CUDA {torch.version.cuda})")
    try:
        import transformers
        transformers.Qwen2ForCausalLM
    except (ImportError, AttributeError) as e:
        fail(f"{sys.executable} has no transformers with Qwen2 ({e})")
    dtypes = {"bfloat16": torch.bfloat16, "float32": torch.float32}
    for name in args.dtypes.split(","):
        if name not in dtypes:
            fail(f"unknown dtype {name!r} (bfloat16 or float32)")

    start = time.perf_counter()
    model, how = load_or_make(args.model_dir, args.seed, torch, transformers)
    results = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
               "transformers": transformers.__version__,
               "attention": getattr(model.config, "_attn_implementation", None),
               "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
               "model_dir": os.path.abspath(args.model_dir), "batch": args.batch, "samples": args.samples,
               "prompt_tokens": args.prompt_tokens, "max_new_tokens": args.max_new_tokens, "runs": []}
    print(f"hf_generate: {results['gpu']}, torch {results['torch']} (CUDA {results['cuda']}), transformers "
          f"{results['transformers']}, attention {results['attention']}; model {how} in "
          f"{time.perf_counter() - start:.1f} s: {args.model_dir}", flush=True)
    for name in args.dtypes.split(","):
        tokens, seconds = time_generate(model, dtypes[name], args, torch)
        results["runs"].append({"dtype": name, "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds})
        print(f"hf_generate: {name}: batch {args.batch}, {args.samples} sequences x {args.max_new_tokens} new tokens "
              f"(prompts of {args.prompt_tokens}): {tokens} tokens in {seconds:.2f} s = {tokens / seconds:.0f} tokens/s",
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
