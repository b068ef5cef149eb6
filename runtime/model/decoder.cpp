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

// (x1, x2) -> (-x2, x1) over the two halves of the last dimension: the rotary convention of
// Hugging Face's Llama, Mistral and Qwen.
torch::Tensor rotate_half(const torch::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// A checkpoint tensor as a CPU tensor of its stored dtype: the mapped bytes themselves when
// they are aligned for that dtype (no copy), else an aligned copy.
torch::Tensor file_tensor(const TensorView& view) {
  torch::Dtype dtype;
  switch (view.dtype) {
    case DType::f32: dtype = torch::kFloat32; break;
    case DType::f16: dtype = torch::kFloat16; break;
    case DType::bf16: dtype = torch::kBFloat16; break;
    default: throw InputError(view.file, 0, "", std::string("weights must be F32, F16 or BF16, not ") + dtype_name(view.dtype));
  }
  const auto options = torch::TensorOptions().dtype(dtype);
  if (reinterpret_cast<std::uintptr_t>(view.data) % dtype_size(view.dtype) == 0)
    return torch::from_blob(const_cast<std::uint8_t*>(view.data), view.shape, options);
  auto tensor = torch::empty(view.shape, options);
  std::memcpy(tensor.data_ptr(), view.data, view.bytes);
  return tensor;
}

// Rows [first, first + count) of a tensor (along its first dimension).
TensorView rows_of(const TensorView& view, std::int64_t first, std::int64_t count) {
  if (view.shape.empty()) return view;
  const auto row_bytes = view.bytes / static_cast<std::size_t>(std::max<std::int64_t>(1, view.shape[0]));
  TensorView piece = view;
  piece.shape[0] = count;
  piece.data = view.data + static_cast<std::size_t>(first) * row_bytes;
  piece.bytes = static_cast<std::size_t>(count) * row_bytes;
  return piece;
}

// The checkpoint tensors a parameter is made of, as consecutive row ranges: the fused q/k/v
// and gate/up parameters stand for two or three Hugging Face tensors, every other parameter
// for the one of its own name.
struct CheckpointPart {
  std::string name;
  std::int64_t rows;
};

std::vector<CheckpointPart> checkpoint_parts(const std::string& name, std::int64_t rows, const ModelConfig* config) {
  auto replaced = [&](const std::string& fused, const std::string& part) {
    auto result = name;
    result.replace(result.find(fused), fused.size(), part);
    return result;
  };
  const bool qkv = name.find(".self_attn.qkv_proj.") != std::string::npos;
  const bool gate_up = name.find(".mlp.gate_up_proj.") != std::string::npos;
  if (!qkv && !gate_up) return {{name, rows}};
  if (!config) throw std::logic_error("the fused parameter " + name + " is only known inside a Decoder");
  if (qkv) {
    const auto q = config->num_heads * config->head_dim, kv = config->num_kv_heads * config->head_dim;
    return {{replaced("qkv_proj", "q_proj"), q}, {replaced("qkv_proj", "k_proj"), kv}, {replaced("qkv_proj", "v_proj"), kv}};
  }
  return {{replaced("gate_up_proj", "gate_proj"), config->intermediate_size},
          {replaced("gate_up_proj", "up_proj"), config->intermediate_size}};
}

}  // namespace

torch::Dtype torch_dtype(WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::float32: return torch::kFloat32;
    case WeightDtype::bfloat16: return torch::kBFloat16;
    case WeightDtype::float16: return torch::kFloat16;
  }
  return torch::kFloat32;
}

torch::Tensor rope_inverse_frequencies(const ModelConfig& config) {
  const auto& rope = config.rope;
  const auto dim = config.head_dim;
  const auto exponents = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / dim;
  auto inv_freq = 1.0 / torch::pow(rope.theta, exponents);
  if (rope.type == RopeSettings::Type::linear) return inv_freq / rope.factor;
  if (rope.type != RopeSettings::Type::llama3) return inv_freq;
  // Llama 3: wavelengths longer than original / low_freq_factor are slowed down by factor,
  // those shorter than original / high_freq_factor kept, and those between blended smoothly.
  const double original = static_cast<double>(rope.original_max_position_embeddings);
  const double low_wavelength = original / rope.low_freq_factor;
  const double high_wavelength = original / rope.high_freq_factor;
  const auto wavelength = 2 * M_PI / inv_freq;
  const auto scaled = torch::where(wavelength > low_wavelength, inv_freq / rope.factor, inv_freq);
  const auto smooth = (original / wavelength - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor);
  const auto blended = (1 - smooth) * scaled / rope.factor + smooth * scaled;
  const auto between = (wavelength >= high_wavelength).logical_and(wavelength <= low_wavelength);
  return torch::where(between, blended, scaled);
}

RmsNormImpl::RmsNormImpl(std::int64_t size, double eps, const torch::TensorOptions& options) : eps_(eps) {
  weight_ = register_parameter("weight", torch::ones({size}, options));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  // As transformers' LlamaRMSNorm: normalised in float32, cast back, then scaled.
  const auto wide = x.to(torch::kFloat32);
  const auto variance = wide.pow(2).mean(-1, /*keepdim=*/true);
  return weight_ * (wide * torch::rsqrt(variance + eps_)).to(x.scalar_type());
}

ProjectionImpl::ProjectionImpl(std::int64_t in, std::int64_t out, bool with_bias, const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::zeros({out, in}, options));
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}, options));
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x) { return torch::nn::functional::linear(x, weight, bias); }

TokenEmbeddingImpl::TokenEmbeddingImpl(std::int64_t vocab, std::int64_t size, const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::zeros({vocab, size}, options));
}

torch::Tensor TokenEmbeddingImpl::forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

AttentionImpl::AttentionImpl(const ModelConfig& config, const torch::TensorOptions& options)
    : heads_(config.num_heads), kv_heads_(config.num_kv_heads), head_dim_(config.head_dim) {
  qkv_proj_ = register_module(
      "qkv_proj", Projection(config.hidden_size, (heads_ + 2 * kv_heads_) * head_dim_, config.qkv_bias, options));
  o_proj_ = register_module("o_proj", Projection(heads_ * head_dim_, config.hidden_size, config.o_bias, options));
  if (config.qk_norm) {
    q_norm_ = register_module("q_norm", RmsNorm(head_dim_, config.rms_norm_eps, options));
    k_norm_ = register_module("k_norm", RmsNorm(head_dim_, config.rms_norm_eps, options));
  }
}

std::pair<torch::Tensor, torch::Tensor> KvCache::extend(std::int64_t layer, const torch::Tensor& new_keys,
                                                       const torch::Tensor& new_values) {
  auto k = new_keys, v = new_values;
  if (torch::GradMode::is_enabled()) {  // out of place, for autograd
    if (keys[layer].defined()) k = torch::cat({keys[layer], k}, 2), v = torch::cat({values[layer], v}, 2);
    keys[layer] = k, values[layer] = v;
    return {k, v};
  }
  const auto batch = k.size(0), steps = k.size(2);
  const auto past = keys[layer].defined() ? keys[layer].size(2) : 0;
  const auto total = past + steps;
  auto& key_buffer = key_store[layer];
  auto& value_buffer = value_store[layer];
  if (!key_buffer.defined() || key_buffer.size(2) < total || key_buffer.size(0) != batch) {
    std::int64_t capacity = std::max(total, reserve);
    if (key_buffer.defined()) capacity = std::max(capacity, 2 * key_buffer.size(2));
    auto shape = k.sizes().vec();
    shape[2] = capacity;
    auto grown_keys = torch::empty(shape, k.options()), grown_values = torch::empty(shape, v.options());
    if (past > 0) {
      grown_keys.narrow(2, 0, past).copy_(keys[layer]);
      grown_values.narrow(2, 0, past).copy_(values[layer]);
    }
    key_buffer = grown_keys, value_buffer = grown_values;
  }
  key_buffer.narrow(2, past, steps).copy_(k);
  value_buffer.narrow(2, past, steps).copy_(v);
  keys[layer] = key_buffer.narrow(2, 0, total);
  values[layer] = value_buffer.narrow(2, 0, total);
  return {keys[layer], values[layer]};
}

SlotCache::SlotCache(const ModelConfig& config, std::int64_t slots, std::int64_t capacity,
                     const torch::TensorOptions& options)
    : lengths(static_cast<std::size_t>(slots), 0) {
  // Zeroed, not empty: a step reads every slot up to the longest one, and a masked position's
  // zero weight times a never-written NaN would still be NaN.
  for (std::int64_t layer = 0; layer < config.num_layers; ++layer) {
    keys.push_back(torch::zeros({slots, config.num_kv_heads, capacity, config.head_dim}, options));
    values.push_back(torch::zeros({slots, config.num_kv_heads, capacity, config.head_dim}, options));
  }
}

void SlotCache::assign(std::int64_t slot, const KvCache& prefilled, std::int64_t row) {
  const auto length = prefilled.length();
  if (length > capacity()) throw std::logic_error("a prompt longer than the slot cache's capacity");
  for (std::size_t layer = 0; layer < keys.size(); ++layer) {
    keys[layer][slot].narrow(1, 0, length).copy_(prefilled.keys[layer][row]);
    values[layer][slot].narrow(1, 0, length).copy_(prefilled.values[layer][row]);
  }
  lengths[slot] = length;
}

void SlotCache::move(std::int64_t from, std::int64_t to) {
  const auto length = lengths[from];
  for (std::size_t layer = 0; layer < keys.size(); ++layer) {
    keys[layer][to].narrow(1, 0, length).copy_(keys[layer][from].narrow(1, 0, length));
    values[layer][to].narrow(1, 0, length).copy_(values[layer][from].narrow(1, 0, length));
  }
  lengths[to] = length;
}

KvCache SlotCache::copy(std::int64_t slot) const {
  const auto length = lengths[slot];
  KvCache copied;
  for (std::size_t layer = 0; layer < keys.size(); ++layer) {
    copied.keys.push_back(keys[layer].narrow(0, slot, 1).narrow(2, 0, length).clone());
    copied.values.push_back(values[layer].narrow(0, slot, 1).narrow(2, 0, length).clone());
  }
  return copied;
}

std::pair<torch::Tensor, torch::Tensor> SlotCache::extend(std::int64_t layer, const torch::Tensor& k,
                                                         const torch::Tensor& v) {
  using torch::indexing::Slice;
  const auto n = k.size(0);
  const auto rows = torch::arange(n, step_positions.options());
  keys[layer].index_put_({rows, Slice(), step_positions}, k.squeeze(2));
  values[layer].index_put_({rows, Slice(), step_positions}, v.squeeze(2));
  const auto span = *std::max_element(lengths.begin(), lengths.begin() + n) + 1;
  return {keys[layer].narrow(0, 0, n).narrow(2, 0, span), values[layer].narrow(0, 0, n).narrow(2, 0, span)};
}

template <class Cache>
torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& mask, Cache* cache, std::int64_t layer) {
  // In-place updates save memory without autograd; with it, every step stays out of place.
  const bool autograd = torch::GradMode::is_enabled();
  const auto batch = x.size(0), steps = x.size(1);
  const auto rep = heads_ / kv_heads_;
  const auto qkv = qkv_proj_(x);  // [B, T, (H + 2 kv) D]
  // Query and key heads side by side, [B, T, H + kv, D], normed per head (Qwen3) and rotated together.
  auto qk = qkv.narrow(-1, 0, (heads_ + kv_heads_) * head_dim_).view({batch, steps, heads_ + kv_heads_, head_dim_});
  if (q_norm_) qk = torch::cat({q_norm_(qk.narrow(2, 0, heads_)), k_norm_(qk.narrow(2, heads_, kv_heads_))}, 2);
  const auto c = cos.unsqueeze(2), s = sin.unsqueeze(2);
  const auto rotated = qk * c + rotate_half(qk) * s;
  const auto q = rotated.narrow(2, 0, heads_);                                        // [B, T, H, D]
  auto k = rotated.narrow(2, heads_, kv_heads_).transpose(1, 2);                      // [B, kv, T, D]
  auto v = qkv.narrow(-1, (heads_ + kv_heads_) * head_dim_, kv_heads_ * head_dim_)
               .view({batch, steps, kv_heads_, head_dim_})
               .transpose(1, 2);
  if (cache) std::tie(k, v) = cache->extend(layer, k, v);
  const auto total = k.size(2);
  // Grouped-query attention without copying k/v: the rep query heads of each key/value head
  // become rows, q [B, kv, rep * T, D] against k [B, kv, S, D].
  const auto grouped = q.view({batch, steps, kv_heads_, rep, head_dim_})
                           .permute({0, 2, 3, 1, 4})
                           .reshape({batch, kv_heads_, rep * steps, head_dim_});
  auto scores = torch::matmul(grouped, k.transpose(-2, -1));  // [B, kv, rep * T, S], model dtype
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  scores = autograd ? scores * scale : scores.mul_(scale);
  // The mask is added and the softmax taken in float32 (transformers upcasts for the softmax;
  // adding the mask after the upcast keeps a float16 mask from overflowing to -inf).
  auto wide = scores.to(torch::kFloat32).view({batch, kv_heads_, rep, steps, total});
  const auto mask_view = mask.view({mask.size(0), 1, 1, steps, total});
  wide = autograd ? wide + mask_view : wide.add_(mask_view);
  const auto probabilities = torch::softmax(wide, -1).to(scores.scalar_type()).view({batch, kv_heads_, rep * steps, total});
  const auto out = torch::matmul(probabilities, v);  // [B, kv, rep * T, D]
  return o_proj_(out.view({batch, kv_heads_, rep, steps, head_dim_})
                     .permute({0, 3, 1, 2, 4})
                     .reshape({batch, steps, heads_ * head_dim_}));
}

MlpImpl::MlpImpl(const ModelConfig& config, const torch::TensorOptions& options) {
  gate_up_proj_ = register_module(
      "gate_up_proj", Projection(config.hidden_size, 2 * config.intermediate_size, config.mlp_bias, options));
  down_proj_ = register_module("down_proj", Projection(config.intermediate_size, config.hidden_size, config.mlp_bias, options));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  const auto both = gate_up_proj_(x);
  const auto size = both.size(-1) / 2;
  auto h = torch::silu(both.narrow(-1, 0, size));
  const auto up = both.narrow(-1, size, size);
  h = torch::GradMode::is_enabled() ? h * up : h.mul_(up);
  return down_proj_(h);
}

BlockImpl::BlockImpl(const ModelConfig& config, const torch::TensorOptions& options) {
  self_attn_ = register_module("self_attn", Attention(config, options));
  mlp_ = register_module("mlp", Mlp(config, options));
  input_layernorm_ = register_module("input_layernorm", RmsNorm(config.hidden_size, config.rms_norm_eps, options));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", RmsNorm(config.hidden_size, config.rms_norm_eps, options));
}

template <class Cache>
torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                 const torch::Tensor& mask, Cache* cache, std::int64_t layer) {
  const auto h = x + self_attn_->forward(input_layernorm_(x), cos, sin, mask, cache, layer);
  return h + mlp_(post_attention_layernorm_(h));
}

BackboneImpl::BackboneImpl(const ModelConfig& config, const torch::TensorOptions& options) {
  embed_tokens = register_module("embed_tokens", TokenEmbedding(config.vocab_size, config.hidden_size, options));
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.num_layers; ++i) layers->push_back(Block(config, options));
  norm = register_module("norm", RmsNorm(config.hidden_size, config.rms_norm_eps, options));
}

DecoderImpl::DecoderImpl(const ModelConfig& config, WeightDtype dtype, const torch::Device& device)
    : config_(config), dtype_(dtype) {
  const auto options = torch::TensorOptions().dtype(torch_dtype(dtype)).device(device);
  model_ = register_module("model", Backbone(config, options));
  if (config.lm_head && !config.tie_word_embeddings)
    lm_head_ = register_module("lm_head", Projection(config.hidden_size, config.vocab_size, false, options));
  inv_freq_ = register_buffer("inv_freq", rope_inverse_frequencies(config).to(device));
}

std::pair<torch::Tensor, torch::Tensor> DecoderImpl::rotary(const torch::Tensor& positions) const {
  // Angles in float32 (as transformers computes them), cos and sin cast to the model's dtype.
  const auto dtype = torch_dtype(dtype_);
  const auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq_.view({1, 1, -1});
  const auto angles = torch::cat({freqs, freqs}, -1);
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

std::pair<torch::Tensor, torch::Tensor> DecoderImpl::attention_masks(const torch::Tensor& allowed,
                                                                     const torch::Tensor& query_at,
                                                                     const torch::Tensor& key_at) const {
  auto additive = [&](const torch::Tensor& ok) {
    return torch::zeros(ok.sizes(), ok.options().dtype(torch::kFloat32))
        .masked_fill(ok.logical_not(), std::numeric_limits<float>::lowest());
  };
  torch::Tensor window_mask;
  if (config_.sliding_window > 0)
    window_mask = additive(allowed & (query_at - key_at < config_.sliding_window).view({-1, 1, allowed.size(2), allowed.size(3)}));
  return {additive(allowed), window_mask};
}

template <class Cache>
torch::Tensor DecoderImpl::run_layers(const torch::Tensor& ids, const torch::Tensor& cos, const torch::Tensor& sin,
                                      const std::pair<torch::Tensor, torch::Tensor>& masks, Cache* cache) {
  auto x = model_->embed_tokens(ids);
  for (std::int64_t i = 0; i < config_.num_layers; ++i)
    x = model_->layers->at<BlockImpl>(i).forward(x, cos, sin, config_.windowed(i) ? masks.second : masks.first, cache, i);
  return model_->norm(x);
}

torch::Tensor DecoderImpl::hidden(const torch::Tensor& ids, const torch::Tensor& positions,
                                  const torch::Tensor& valid, KvCache* cache) {
  const auto batch = ids.size(0), steps = ids.size(1);
  const std::int64_t past = cache ? cache->length() : 0;
  const std::int64_t total = past + steps;
  const auto [cos, sin] = rotary(positions);

  // Query t (at cache slot past + t) sees key s when s <= past + t and s is a real token; in a
  // windowed layer also only when past + t - s < sliding_window.
  const auto options = torch::TensorOptions().device(ids.device()).dtype(torch::kInt64);
  const auto query_at = torch::arange(past, total, options).view({steps, 1});
  const auto key_at = torch::arange(0, total, options).view({1, total});
  auto allowed = (key_at <= query_at).view({1, 1, steps, total});
  if (valid.defined()) allowed = allowed & valid.to(torch::kBool).view({batch, 1, 1, total});
  if (cache) {
    cache->keys.resize(config_.num_layers);
    cache->values.resize(config_.num_layers);
    cache->key_store.resize(config_.num_layers);
    cache->value_store.resize(config_.num_layers);
  }
  return run_layers(ids, cos, sin, attention_masks(allowed, query_at, key_at), cache);
}

torch::Tensor DecoderImpl::decode(const torch::Tensor& ids, SlotCache& cache) {
  const auto n = ids.size(0);
  if (n == 0 || n > static_cast<std::int64_t>(cache.lengths.size()))
    throw std::logic_error("a decoding step of " + std::to_string(n) + " slots");
  const std::vector<std::int64_t> lengths(cache.lengths.begin(), cache.lengths.begin() + n);
  const auto span = *std::max_element(lengths.begin(), lengths.end()) + 1;
  if (span > cache.capacity()) throw std::logic_error("a slot cache's capacity exceeded");
  const auto options = torch::TensorOptions().device(ids.device()).dtype(torch::kInt64);
  // Each slot's new token sits at its own position and sees that slot's keys up to it.
  cache.step_positions = torch::tensor(lengths, torch::kInt64).to(ids.device());
  const auto query_at = cache.step_positions.view({n, 1, 1, 1});
  const auto key_at = torch::arange(0, span, options).view({1, 1, 1, span});
  const auto [cos, sin] = rotary(cache.step_positions.view({n, 1}));
  const auto hidden = run_layers(ids.view({n, 1}), cos, sin, attention_masks(key_at <= query_at, query_at, key_at), &cache);
  for (std::int64_t slot = 0; slot < n; ++slot) ++cache.lengths[slot];
  return hidden.view({n, -1});
}

SlotCache DecoderImpl::slot_cache(std::int64_t slots, std::int64_t capacity) {
  const auto& weight = model_->embed_tokens->weight;
  return SlotCache(config_, slots, capacity, weight.options());
}

torch::Tensor DecoderImpl::logits(const torch::Tensor& hidden) {
  if (!config_.lm_head) throw std::logic_error("a reward model has no language-model head");
  const auto& weight = lm_head_ ? lm_head_->weight : model_->embed_tokens->weight;
  return torch::nn::functional::linear(hidden, weight).to(torch::kFloat32);
}

namespace {

// Every parameter's checkpoint tensors, their names and shapes checked against config.json;
// with copy, their data copied in (converted to the parameter's dtype).
void visit_parameters(torch::nn::Module& module, const std::string& directory, const std::string& prefix, bool copy) {
  const CheckpointTensors checkpoint(directory);
  const auto* decoder = dynamic_cast<const DecoderImpl*>(&module);
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.named_parameters()) {
    auto& target = parameter.value();
    const auto name = prefix + parameter.key();
    std::int64_t row = 0;
    for (const auto& part : checkpoint_parts(name, target.size(0), decoder ? &decoder->config() : nullptr)) {
      const auto& view = checkpoint.at(part.name);
      auto expected = target.sizes().vec();
      expected[0] = part.rows;
      if (view.shape != expected)
        throw InputError(view.file, 0, part.name,
                         "shape " + shape_text(view.shape) + " but config.json implies " + shape_text(expected));
      // In slices of about 16 MiB, each slice's mapped pages dropped once copied: the file's
      // pages are never resident beside the weights by more than one slice.
      const std::int64_t row_bytes = std::max<std::int64_t>(1, view.bytes / std::max<std::int64_t>(1, part.rows));
      const std::int64_t slice = std::max<std::int64_t>(1, (16 << 20) / row_bytes);
      for (std::int64_t first = 0; copy && first < part.rows; first += slice) {
        const auto rows = std::min(slice, part.rows - first);
        const auto piece = rows_of(view, first, rows);
        target.narrow(0, row + first, rows).copy_(file_tensor(piece));
        release_pages(piece);
      }
      row += part.rows;
    }
  }
}

}  // namespace

void load_parameters(torch::nn::Module& module, const std::string& directory, const std::string& prefix) {
  visit_parameters(module, directory, prefix, true);
}

void check_parameters(torch::nn::Module& module, const std::string& directory, const std::string& prefix) {
  visit_parameters(module, directory, prefix, false);
}

namespace {

// Whether this libtorch multiplies float16 matrices on the CPU (1.13 does not).
bool cpu_has_half_matmul() {
  try {
    torch::NoGradGuard no_grad;
    torch::nn::functional::linear(torch::zeros({1, 2}, torch::kFloat16), torch::zeros({2, 2}, torch::kFloat16));
    return true;
  } catch (const c10::Error&) {
    return false;
  }
}

}  // namespace

Decoder load_decoder(const std::string& directory, const torch::Device& device, WeightDtype dtype) {
  if (dtype == WeightDtype::float16 && device.is_cpu() && !cpu_has_half_matmul())
    throw InputError(directory, 0, "dtype",
                     "float16 is not computable on the CPU by this libtorch (no float16 matrix product): "
                     "use bfloat16 or float32 there");
  Decoder decoder(ModelConfig::load(directory), dtype, device);
  load_parameters(*decoder, directory);
  decoder->eval();
  return decoder;
}

void write_checkpoint(const std::string& directory, const ModelConfig& config,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  std::filesystem::create_directories(directory);
  std::vector<TensorData> data;
  for (const auto& [name, tensor] : tensors) {
    std::int64_t row = 0;
    for (const auto& part : checkpoint_parts(name, tensor.size(0), &config)) {
      const auto value = tensor.detach().narrow(0, row, part.rows).to(torch::kCPU, torch::kFloat32).contiguous();
      row += part.rows;
      TensorData item{part.name, DType::f32, value.sizes().vec(), {}};
      item.bytes.resize(value.numel() * sizeof(float));
      std::memcpy(item.bytes.data(), value.data_ptr<float>(), item.bytes.size());
      data.push_back(std::move(item));
    }
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
