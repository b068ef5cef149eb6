#include "runtime/model/decoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "runtime/common/error.h"
#include "runtime/model/safetensors.h"

namespace quorum::model {
namespace {

torch::nn::Linear linear(std::int64_t in, std::int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// (x1, x2) -> (-x2, x1) over the two halves of the last dimension: the rotary convention of
// Hugging Face's Llama and Qwen2.
torch::Tensor rotate_half(const torch::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

// Identity of the parameters a fused weight was built from: storage and version counter, so
// that an optimizer step, a load or a move to another device rebuilds it.
std::vector<std::pair<const void*, std::int64_t>> signature(const std::vector<torch::Tensor>& sources) {
  std::vector<std::pair<const void*, std::int64_t>> result;
  for (const auto& t : sources) result.emplace_back(t.data_ptr(), static_cast<std::int64_t>(t._version()));
  return result;
}

bool stale(const std::vector<std::pair<const void*, std::int64_t>>& from, const std::vector<torch::Tensor>& sources) {
  return from != signature(sources);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

torch::Tensor to_float_tensor(const TensorView& view) {
  torch::Dtype dtype;
  switch (view.dtype) {
    case DType::f32: dtype = torch::kFloat32; break;
    case DType::f16: dtype = torch::kFloat16; break;
    case DType::bf16: dtype = torch::kBFloat16; break;
    default: throw InputError(view.file, 0, "", std::string("weights must be F32, F16 or BF16, not ") + dtype_name(view.dtype));
  }
  // Copy into aligned memory: tensor data in the file need not be aligned.
  auto tensor = torch::empty(view.shape, torch::TensorOptions().dtype(dtype));
  std::memcpy(tensor.data_ptr(), view.data, view.bytes);
  return tensor.to(torch::kFloat32);
}

}  // namespace

RmsNormImpl::RmsNormImpl(std::int64_t size, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", torch::ones({size}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  const auto variance = x.pow(2).mean(-1, /*keepdim=*/true);
  return weight_ * (x * torch::rsqrt(variance + eps_));
}

AttentionImpl::AttentionImpl(const ModelConfig& config)
    : heads_(config.num_heads), kv_heads_(config.num_kv_heads), head_dim_(config.head_dim) {
  q_proj_ = register_module("q_proj", linear(config.hidden_size, heads_ * head_dim_, config.qkv_bias));
  k_proj_ = register_module("k_proj", linear(config.hidden_size, kv_heads_ * head_dim_, config.qkv_bias));
  v_proj_ = register_module("v_proj", linear(config.hidden_size, kv_heads_ * head_dim_, config.qkv_bias));
  o_proj_ = register_module("o_proj", linear(heads_ * head_dim_, config.hidden_size, false));
}

torch::Tensor AttentionImpl::forward_autograd(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                              const torch::Tensor& mask, torch::Tensor* keys, torch::Tensor* values) {
  const auto batch = x.size(0), steps = x.size(1);
  auto q = q_proj_(x).view({batch, steps, heads_, head_dim_}).transpose(1, 2);
  auto k = k_proj_(x).view({batch, steps, kv_heads_, head_dim_}).transpose(1, 2);
  auto v = v_proj_(x).view({batch, steps, kv_heads_, head_dim_}).transpose(1, 2);
  const auto c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  q = q * c + rotate_half(q) * s;
  k = k * c + rotate_half(k) * s;
  if (keys) {
    if (keys->defined()) {
      k = torch::cat({*keys, k}, 2);
      v = torch::cat({*values, v}, 2);
    }
    *keys = k;
    *values = v;
  }
  // Grouped-query attention: each key/value head serves heads / kv_heads query heads.
  if (kv_heads_ != heads_) {
    k = k.repeat_interleave(heads_ / kv_heads_, 1);
    v = v.repeat_interleave(heads_ / kv_heads_, 1);
  }
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head_dim_)) + mask;
  auto out = torch::matmul(torch::softmax(scores, -1), v);
  return o_proj_(out.transpose(1, 2).reshape({batch, steps, heads_ * head_dim_}));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& mask, KvCache* cache, std::int64_t layer) {
  if (torch::GradMode::is_enabled())
    return forward_autograd(x, cos, sin, mask, cache ? &cache->keys[layer] : nullptr,
                            cache ? &cache->values[layer] : nullptr);
  const auto batch = x.size(0), steps = x.size(1);
  const auto rep = heads_ / kv_heads_;
  std::vector<torch::Tensor> sources{q_proj_->weight, k_proj_->weight, v_proj_->weight};
  if (q_proj_->bias.defined()) sources.insert(sources.end(), {q_proj_->bias, k_proj_->bias, v_proj_->bias});
  if (stale(fused_from_, sources)) {
    fused_weight_ = torch::cat({q_proj_->weight, k_proj_->weight, v_proj_->weight}, 0);
    fused_bias_ = q_proj_->bias.defined() ? torch::cat({q_proj_->bias, k_proj_->bias, v_proj_->bias}, 0)
                                          : torch::Tensor();
    fused_from_ = signature(sources);
  }
  const auto qkv = torch::nn::functional::linear(x, fused_weight_, fused_bias_);  // [B, T, (H + 2 kv) D]
  // Rotary embedding of q and k together: [B, T, H + kv, D].
  const auto qk = qkv.narrow(-1, 0, (heads_ + kv_heads_) * head_dim_).view({batch, steps, heads_ + kv_heads_, head_dim_});
  const auto c = cos.unsqueeze(2), s = sin.unsqueeze(2);
  const auto rotated = qk * c + rotate_half(qk) * s;
  const auto q = rotated.narrow(2, 0, heads_);                                        // [B, T, H, D]
  auto k = rotated.narrow(2, heads_, kv_heads_).transpose(1, 2);                      // [B, kv, T, D]
  auto v = qkv.narrow(-1, (heads_ + kv_heads_) * head_dim_, kv_heads_ * head_dim_)
               .view({batch, steps, kv_heads_, head_dim_})
               .transpose(1, 2);
  if (cache) {
    const auto past = cache->keys[layer].defined() ? cache->keys[layer].size(2) : 0;
    const auto total = past + steps;
    auto& key_store = cache->key_store[layer];
    auto& value_store = cache->value_store[layer];
    if (!key_store.defined() || key_store.size(2) < total || key_store.size(0) != batch) {
      std::int64_t capacity = std::max(total, cache->reserve);
      if (key_store.defined()) capacity = std::max(capacity, 2 * key_store.size(2));
      auto grown_keys = torch::empty({batch, kv_heads_, capacity, head_dim_}, k.options());
      auto grown_values = torch::empty({batch, kv_heads_, capacity, head_dim_}, v.options());
      if (past > 0) {
        grown_keys.narrow(2, 0, past).copy_(cache->keys[layer]);
        grown_values.narrow(2, 0, past).copy_(cache->values[layer]);
      }
      key_store = grown_keys;
      value_store = grown_values;
    }
    key_store.narrow(2, past, steps).copy_(k);
    value_store.narrow(2, past, steps).copy_(v);
    k = cache->keys[layer] = key_store.narrow(2, 0, total);
    v = cache->values[layer] = value_store.narrow(2, 0, total);
  }
  const auto total = k.size(2);
  // Grouped-query attention without copying k/v: the rep query heads of each key/value head
  // become rows, q [B, kv, rep * T, D] against k [B, kv, S, D]. The scale goes into q.
  const auto grouped = (q.view({batch, steps, kv_heads_, rep, head_dim_}).permute({0, 2, 3, 1, 4}) *
                        (1.0 / std::sqrt(static_cast<double>(head_dim_))))
                           .reshape({batch, kv_heads_, rep * steps, head_dim_});
  auto scores = torch::matmul(grouped, k.transpose(-2, -1));  // [B, kv, rep * T, S]
  scores.view({batch, kv_heads_, rep, steps, total}).add_(mask.view({mask.size(0), 1, 1, steps, total}));
  const auto out = torch::matmul(torch::softmax(scores, -1), v);  // [B, kv, rep * T, D]
  return o_proj_(out.view({batch, kv_heads_, rep, steps, head_dim_})
                     .permute({0, 3, 1, 2, 4})
                     .reshape({batch, steps, heads_ * head_dim_}));
}

MlpImpl::MlpImpl(const ModelConfig& config) {
  gate_proj_ = register_module("gate_proj", linear(config.hidden_size, config.intermediate_size, false));
  up_proj_ = register_module("up_proj", linear(config.hidden_size, config.intermediate_size, false));
  down_proj_ = register_module("down_proj", linear(config.intermediate_size, config.hidden_size, false));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  if (torch::GradMode::is_enabled()) return down_proj_(torch::silu(gate_proj_(x)) * up_proj_(x));
  const std::vector<torch::Tensor> sources{gate_proj_->weight, up_proj_->weight};
  if (stale(fused_from_, sources)) {
    fused_weight_ = torch::cat(sources, 0);
    fused_from_ = signature(sources);
  }
  const auto both = torch::nn::functional::linear(x, fused_weight_);
  const auto size = gate_proj_->weight.size(0);
  auto h = torch::silu(both.narrow(-1, 0, size));
  h.mul_(both.narrow(-1, size, size));
  return down_proj_(h);
}

BlockImpl::BlockImpl(const ModelConfig& config) {
  self_attn_ = register_module("self_attn", Attention(config));
  mlp_ = register_module("mlp", Mlp(config));
  input_layernorm_ = register_module("input_layernorm", RmsNorm(config.hidden_size, config.rms_norm_eps));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", RmsNorm(config.hidden_size, config.rms_norm_eps));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                 const torch::Tensor& mask, KvCache* cache, std::int64_t layer) {
  const auto h = x + self_attn_(input_layernorm_(x), cos, sin, mask, cache, layer);
  return h + mlp_(post_attention_layernorm_(h));
}

BackboneImpl::BackboneImpl(const ModelConfig& config) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(config.vocab_size, config.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.num_layers; ++i) layers->push_back(Block(config));
  norm = register_module("norm", RmsNorm(config.hidden_size, config.rms_norm_eps));
}

DecoderImpl::DecoderImpl(const ModelConfig& config) : config_(config) {
  model_ = register_module("model", Backbone(config));
  if (config.lm_head && !config.tie_word_embeddings)
    lm_head_ = register_module("lm_head", linear(config.hidden_size, config.vocab_size, false));
  const auto exponents = torch::arange(0, config.head_dim, 2, torch::kInt64).to(torch::kFloat32) / config.head_dim;
  inv_freq_ = register_buffer("inv_freq", 1.0 / torch::pow(config.rope_theta, exponents));
}

torch::Tensor DecoderImpl::hidden(const torch::Tensor& ids, const torch::Tensor& positions,
                                  const torch::Tensor& valid, KvCache* cache) {
  const auto batch = ids.size(0), steps = ids.size(1);
  const std::int64_t past = cache ? cache->length() : 0;
  const std::int64_t total = past + steps;

  const auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq_.view({1, 1, -1});
  const auto angles = torch::cat({freqs, freqs}, -1);
  const auto cos = angles.cos(), sin = angles.sin();

  // Query t (at cache position past + t) sees key s when s <= past + t and s is a real token.
  const auto options = torch::TensorOptions().device(ids.device());
  const auto query_at = torch::arange(past, total, options.dtype(torch::kInt64)).view({steps, 1});
  const auto key_at = torch::arange(0, total, options.dtype(torch::kInt64)).view({1, total});
  auto allowed = (key_at <= query_at).view({1, 1, steps, total});
  if (valid.defined()) allowed = allowed & valid.to(torch::kBool).view({batch, 1, 1, total});
  const auto mask = torch::zeros(allowed.sizes(), options.dtype(torch::kFloat32))
                        .masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());

  if (cache) {
    cache->keys.resize(config_.num_layers);
    cache->values.resize(config_.num_layers);
    cache->key_store.resize(config_.num_layers);
    cache->value_store.resize(config_.num_layers);
  }
  auto x = model_->embed_tokens(ids);
  for (std::int64_t i = 0; i < config_.num_layers; ++i)
    x = model_->layers->at<BlockImpl>(i).forward(x, cos, sin, mask, cache, i);
  return model_->norm(x);
}

torch::Tensor DecoderImpl::logits(const torch::Tensor& hidden) {
  if (!config_.lm_head) throw std::logic_error("a reward model has no language-model head");
  if (lm_head_) return lm_head_(hidden);
  return torch::matmul(hidden, model_->embed_tokens->weight.t());
}

void load_parameters(torch::nn::Module& module, const std::string& directory, const std::string& prefix) {
  const CheckpointTensors checkpoint(directory);
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.named_parameters()) {
    const auto& view = checkpoint.at(prefix + parameter.key());
    const auto expected = parameter.value().sizes().vec();
    if (view.shape != expected)
      throw InputError(view.file, 0, prefix + parameter.key(),
                       "shape " + shape_text(view.shape) + " but config.json implies " + shape_text(expected));
    parameter.value().copy_(to_float_tensor(view));
  }
}

Decoder load_decoder(const std::string& directory, const torch::Device& device) {
  Decoder decoder(ModelConfig::load(directory));
  load_parameters(*decoder, directory);
  decoder->to(device);
  decoder->eval();
  return decoder;
}

void write_checkpoint(const std::string& directory, const ModelConfig& config,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  std::filesystem::create_directories(directory);
  std::vector<TensorData> data;
  for (const auto& [name, tensor] : tensors) {
    const auto value = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    TensorData item{name, DType::f32, value.sizes().vec(), {}};
    item.bytes.resize(value.numel() * sizeof(float));
    std::memcpy(item.bytes.data(), value.data_ptr<float>(), item.bytes.size());
    data.push_back(std::move(item));
  }
  write_safetensors((std::filesystem::path(directory) / "model.safetensors").string(), data, {{"format", "pt"}});
  std::ofstream(std::filesystem::path(directory) / "config.json") << config.to_json();
}

void save_decoder(Decoder& decoder, const std::string& directory) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : decoder->named_parameters()) named.emplace_back(p.key(), p.value());
  write_checkpoint(directory, decoder->config(), named);
}

}  // namespace quorum::model
