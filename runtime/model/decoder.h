// The decoder of the Llama / Mistral / Qwen2 / Qwen3 family in torch::nn: token embedding,
// pre-norm blocks of grouped-query attention with rotary position embeddings (optionally
// scaled, optionally a sliding window, optionally Qwen3's per-head query/key norms) and a
// SwiGLU MLP, RMSNorm, and an output head (optionally tied to the embedding).
//
// Weights are held once, in the dtype chosen at load (float32, bfloat16 or float16), with the
// q/k/v projections fused into one "qkv_proj" matrix and gate/up into one "gate_up_proj": a
// published checkpoint's separate tensors ("model.layers.0.self_attn.q_proj.weight", ...) are
// copied into row slices of the fused ones when loading and written back under their own
// names when saving, so checkpoints round-trip in the Hugging Face layout. The numerics follow
// transformers' eager implementation: RMSNorm in float32 and cast back, rotary cos/sin in
// float32 and cast to the model's dtype, softmax in float32; logits are returned as float32.
#pragma once

#include <string>
#include <vector>
#include <utility>

#include <torch/torch.h>

#include "runtime/model/config.h"

namespace quorum::model {

torch::Dtype torch_dtype(WeightDtype dtype);

// The rotary inverse frequencies [head_dim / 2] (float32), with the config's scaling, as
// transformers' ROPE_INIT_FUNCTIONS compute them.
torch::Tensor rope_inverse_frequencies(const ModelConfig& config);

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(std::int64_t size, double eps, const torch::TensorOptions& options = {});
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight_;
  double eps_;
};
TORCH_MODULE(RmsNorm);

// What torch::nn::Linear holds (weight [out, in], optional bias [out]), created directly in a
// given dtype and device so that no float32 copy is ever allocated.
class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(std::int64_t in, std::int64_t out, bool bias, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(Projection);

class TokenEmbeddingImpl : public torch::nn::Module {
 public:
  TokenEmbeddingImpl(std::int64_t vocab, std::int64_t size, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;
};
TORCH_MODULE(TokenEmbedding);

// Keys and values of every layer for the positions seen so far: [batch, kv_heads, length, head_dim].
// Without autograd the entries are views of preallocated buffers (key_store, value_store:
// [batch, kv_heads, capacity, head_dim]) written in place; reserve, when set before the first
// call, is the capacity to allocate (otherwise it grows by doubling). A sliding window does not
// shorten the cache: old keys stay and the mask hides them.
struct KvCache {
  std::vector<torch::Tensor> keys, values;
  std::vector<torch::Tensor> key_store, value_store;
  std::int64_t reserve = 0;
  std::int64_t length() const { return keys.empty() ? 0 : keys.front().size(2); }
  // Appends a layer's new keys and values [batch, kv_heads, T, head_dim]; returns all of them.
  std::pair<torch::Tensor, torch::Tensor> extend(std::int64_t layer, const torch::Tensor& k, const torch::Tensor& v);
};

// The keys and values of up to `slots` independent sequences for continuous batching: each
// slot a row of buffers [slots, kv_heads, capacity, head_dim] per layer, allocated once, with
// its own length, so one slot is refilled with a new sequence while the others keep decoding.
// A decoding step runs the first n slots (DecoderImpl::decode); a finished sequence's slot is
// reused by copying the last busy slot into it (move), which keeps the busy slots first.
struct SlotCache {
  SlotCache(const ModelConfig& config, std::int64_t slots, std::int64_t capacity, const torch::TensorOptions& options);
  std::vector<torch::Tensor> keys, values;
  std::vector<std::int64_t> lengths;  // per slot: positions held
  std::int64_t capacity() const { return keys.front().size(2); }
  // Slot becomes row `row` of a prefilled cache (a prompt's keys and values copied in).
  void assign(std::int64_t slot, const KvCache& prefilled, std::int64_t row = 0);
  // Slot `to` becomes a copy of slot `from`.
  void move(std::int64_t from, std::int64_t to);
  // A copy of the slot's keys and values as a batch-1 KvCache of its length (compact: a kept
  // search path holds only its own positions, not the slot's capacity).
  KvCache copy(std::int64_t slot) const;
  // Writes a decoding step's keys and values [n, kv_heads, 1, head_dim] of slots 0..n-1 at each
  // slot's own position (lengths, advanced by decode once every layer has written); returns
  // the slots' keys and values up to the longest one.
  std::pair<torch::Tensor, torch::Tensor> extend(std::int64_t layer, const torch::Tensor& k, const torch::Tensor& v);
  torch::Tensor step_positions;  // [n] int64 on the cache's device, set by decode for its step
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& config, const torch::TensorOptions& options);
  // x [B, T, hidden]; cos/sin [B, T, head_dim]; mask [B or 1, 1, T, S] additive, float32;
  // cache entries of this layer are extended when given (KvCache or SlotCache).
  template <class Cache>
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, Cache* cache, std::int64_t layer);

 private:
  std::int64_t heads_, kv_heads_, head_dim_;
  Projection qkv_proj_{nullptr}, o_proj_{nullptr};  // qkv_proj rows: q, then k, then v
  RmsNorm q_norm_{nullptr}, k_norm_{nullptr};       // Qwen3 only
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(const ModelConfig& config, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  Projection gate_up_proj_{nullptr}, down_proj_{nullptr};  // gate_up_proj rows: gate, then up
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ModelConfig& config, const torch::TensorOptions& options);
  template <class Cache>
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, Cache* cache, std::int64_t layer);

 private:
  RmsNorm input_layernorm_{nullptr}, post_attention_layernorm_{nullptr};
  Attention self_attn_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(Block);

// The backbone ("model." in checkpoint names).
class BackboneImpl : public torch::nn::Module {
 public:
  BackboneImpl(const ModelConfig& config, const torch::TensorOptions& options);
  TokenEmbedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RmsNorm norm{nullptr};
};
TORCH_MODULE(Backbone);

class DecoderImpl : public torch::nn::Module {
 public:
  // Weights are created zeroed (norms at one) in dtype on device; load_parameters or
  // initialize (train.h) fills them.
  explicit DecoderImpl(const ModelConfig& config, WeightDtype dtype = WeightDtype::float32,
                       const torch::Device& device = torch::kCPU);

  // ids [B, T] (int64); positions [B, T] (int64, per sequence, so left padding works);
  // valid [B, S] (bool: which of the S = cache length + T key positions are real tokens; an
  // undefined tensor means all). Returns the final hidden states [B, T, hidden] in the
  // model's dtype; extends the cache when given. The sliding window is measured in cache
  // slots, which equal token positions for the left- or right-padded batches quorum builds.
  torch::Tensor hidden(const torch::Tensor& ids, const torch::Tensor& positions,
                       const torch::Tensor& valid = {}, KvCache* cache = nullptr);
  // One decoding step of slots 0..n-1 of a slot cache: ids [n] (int64), the token of each
  // slot at that slot's next position. Returns the final hidden states [n, hidden].
  torch::Tensor decode(const torch::Tensor& ids, SlotCache& cache);
  SlotCache slot_cache(std::int64_t slots, std::int64_t capacity);
  // Logits [B, T, vocab] (float32) from hidden states.
  torch::Tensor logits(const torch::Tensor& hidden);

  const ModelConfig& config() const { return config_; }
  WeightDtype dtype() const { return dtype_; }

 private:
  // Rotary cos and sin [.., head_dim] for positions, in the model's dtype.
  std::pair<torch::Tensor, torch::Tensor> rotary(const torch::Tensor& positions) const;
  // The additive float32 masks (plain, and for windowed layers) from which keys each query may
  // see, given each query's and key's position.
  std::pair<torch::Tensor, torch::Tensor> attention_masks(const torch::Tensor& allowed, const torch::Tensor& query_at,
                                                          const torch::Tensor& key_at) const;
  template <class Cache>
  torch::Tensor run_layers(const torch::Tensor& ids, const torch::Tensor& cos, const torch::Tensor& sin,
                           const std::pair<torch::Tensor, torch::Tensor>& masks, Cache* cache);

  ModelConfig config_;
  WeightDtype dtype_;
  torch::Tensor inv_freq_;
  Backbone model_{nullptr};
  Projection lm_head_{nullptr};  // null when tied to the embedding or for a reward model
};
TORCH_MODULE(Decoder);

// Loads DIR/config.json and the safetensors weights (F32, F16 or BF16 on disk) onto device,
// held and computed in dtype. Throws InputError naming the tensor for a missing tensor or a
// wrong shape.
Decoder load_decoder(const std::string& directory, const torch::Device& device = torch::kCPU,
                     WeightDtype dtype = WeightDtype::float32);

// Copies the named tensors of a checkpoint into a module's parameters (converting to each
// parameter's dtype), checking every shape; prefix is prepended to the module's parameter
// names. A Decoder's fused parameters are filled from the checkpoint's separate tensors.
void load_parameters(torch::nn::Module& module, const std::string& directory, const std::string& prefix = "");
// The same checks without reading the data: every tensor there, with the shape config.json
// implies (the module may live on the meta device, holding no memory).
void check_parameters(torch::nn::Module& module, const std::string& directory, const std::string& prefix = "");

// Writes the decoder's parameters as DIR/model.safetensors (float32, Hugging Face names) and
// DIR/config.json.
void save_decoder(Decoder& decoder, const std::string& directory);

// Writes named tensors as DIR/model.safetensors (float32) and config as DIR/config.json. Fused
// decoder parameters ("...qkv_proj...", "...gate_up_proj...") are written as the separate
// Hugging Face tensors they stand for.
void write_checkpoint(const std::string& directory, const ModelConfig& config,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

}  // namespace quorum::model
