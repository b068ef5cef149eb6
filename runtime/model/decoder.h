// The decoder of the Llama / Qwen2 family in torch::nn: token embedding, pre-norm blocks of
// grouped-query attention with rotary position embeddings and a SwiGLU MLP, RMSNorm, and an
// output head (optionally tied to the embedding). Parameter names are those of Hugging Face
// checkpoints ("model.layers.0.self_attn.q_proj.weight", ...), so a published checkpoint and
// quorum's own demo models load through the same code.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "runtime/model/config.h"

namespace quorum::model {

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(std::int64_t size, double eps);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight_;
  double eps_;
};
TORCH_MODULE(RmsNorm);

// Keys and values of every layer for the positions seen so far: [batch, kv_heads, length, head_dim].
// Without autograd the entries are views of preallocated buffers (key_store, value_store:
// [batch, kv_heads, capacity, head_dim]) written in place; reserve, when set before the first
// call, is the capacity to allocate (otherwise it grows by doubling).
struct KvCache {
  std::vector<torch::Tensor> keys, values;
  std::vector<torch::Tensor> key_store, value_store;
  std::int64_t reserve = 0;
  std::int64_t length() const { return keys.empty() ? 0 : keys.front().size(2); }
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const ModelConfig& config);
  // x [B, T, hidden]; cos/sin [B, T, head_dim]; mask [B, 1, T, S] additive; cache entries of
  // this layer are extended in place when given.
  // Without autograd, the q/k/v projections run as one GEMM over weights fused at first use
  // (refreshed when a parameter changes) and the cache is written in place.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KvCache* cache, std::int64_t layer);

 private:
  torch::Tensor forward_autograd(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                 const torch::Tensor& mask, torch::Tensor* keys, torch::Tensor* values);
  std::int64_t heads_, kv_heads_, head_dim_;
  torch::nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
  torch::Tensor fused_weight_, fused_bias_;
  std::vector<std::pair<const void*, std::int64_t>> fused_from_;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear gate_proj_{nullptr}, up_proj_{nullptr}, down_proj_{nullptr};
  torch::Tensor fused_weight_;  // [gate; up], used without autograd
  std::vector<std::pair<const void*, std::int64_t>> fused_from_;
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KvCache* cache, std::int64_t layer);

 private:
  RmsNorm input_layernorm_{nullptr}, post_attention_layernorm_{nullptr};
  Attention self_attn_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(Block);

// The backbone ("model." in checkpoint names).
class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(const ModelConfig& config);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers;
  RmsNorm norm{nullptr};
};
TORCH_MODULE(Backbone);

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const ModelConfig& config);

  // ids [B, T] (int64); positions [B, T] (int64, per sequence, so left padding works);
  // valid [B, S] (bool: which of the S = cache length + T key positions are real tokens; an
  // undefined tensor means all). Returns the final hidden states [B, T, hidden]; extends the
  // cache when given.
  torch::Tensor hidden(const torch::Tensor& ids, const torch::Tensor& positions,
                       const torch::Tensor& valid = {}, KvCache* cache = nullptr);
  // Logits [B, T, vocab] from hidden states.
  torch::Tensor logits(const torch::Tensor& hidden);

  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
  torch::Tensor inv_freq_;
  Backbone model_{nullptr};
  torch::nn::Linear lm_head_{nullptr};  // null when tied to the embedding
};
TORCH_MODULE(Decoder);

// Loads DIR/config.json and the safetensors weights (F32, F16 or BF16, converted to float32)
// onto device. Throws InputError naming the tensor for a missing tensor or a wrong shape.
Decoder load_decoder(const std::string& directory, const torch::Device& device = torch::kCPU);

// Copies the named tensors of a checkpoint into a module's parameters (float32), checking
// every shape; prefix is prepended to the module's parameter names.
void load_parameters(torch::nn::Module& module, const std::string& directory, const std::string& prefix = "");

// Writes the decoder's parameters as DIR/model.safetensors (float32) and DIR/config.json.
void save_decoder(Decoder& decoder, const std::string& directory);

// Writes named tensors as DIR/model.safetensors (float32) and config as DIR/config.json.
void write_checkpoint(const std::string& directory, const ModelConfig& config,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

}  // namespace quorum::model
