#include "runtime/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/common/error.h"
#include "runtime/common/json_depth.h"
#include "runtime/common/json_integer.h"

namespace quorum::model {
namespace {

constexpr std::uint64_t kMaxHeader = 100ull << 20;  // the format's own limit is 100 MB

DType parse_dtype(const std::string& name, const std::string& file, const std::string& tensor) {
  if (name == "F32") return DType::f32;
  if (name == "F16") return DType::f16;
  if (name == "BF16") return DType::bf16;
  if (name == "I64") return DType::i64;
  if (name == "I32") return DType::i32;
  if (name == "U8") return DType::u8;
  throw InputError(file, 0, tensor, "unsupported dtype '" + name + "' (supported: F32, F16, BF16, I64, I32, U8)");
}

}  // namespace

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: case DType::i32: return 4;
    case DType::f16: case DType::bf16: return 2;
    case DType::i64: return 8;
    case DType::u8: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
  }
  return "?";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw InputError(path, 0, "", "cannot open: " + std::string(std::strerror(errno)));
  struct stat info{};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    throw InputError(path, 0, "", "cannot stat");
  }
  size_ = static_cast<std::size_t>(info.st_size);
  if (size_ < 8) {
    ::close(fd);
    throw InputError(path, 0, "", "truncated: " + std::to_string(size_) + " bytes, not even a header length");
  }
  mapping_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw InputError(path, 0, "", "cannot map the file");
  }
  const auto* bytes = static_cast<const std::uint8_t*>(mapping_);
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > kMaxHeader || header_size > size_ - 8) {
    const auto size = size_;
    ::munmap(mapping_, size_);
    mapping_ = nullptr;
    throw InputError(path, 0, "", "bad header: it claims " + std::to_string(header_size) + " bytes of a " +
                                      std::to_string(size) + "-byte file (not safetensors, or truncated)");
  }
  const std::uint8_t* data = bytes + 8 + header_size;
  const std::size_t data_size = size_ - 8 - header_size;
  try {
    const std::string_view header_text(reinterpret_cast<const char*>(bytes + 8), header_size);
    if (const auto problem = json_depth_problem(header_text); !problem.empty())
      throw InputError(path, 0, "", "bad header: " + problem);
    const auto header = nlohmann::json::parse(header_text);
    if (!header.is_object()) throw InputError(path, 0, "", "bad header: not a JSON object");
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") {
        for (auto m = it->begin(); m != it->end(); ++m)
          if (m->is_string()) metadata_[m.key()] = m->get<std::string>();
        continue;
      }
      const auto& entry = it.value();
      if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
        throw InputError(path, 0, it.key(), "header entry needs dtype, shape and data_offsets");
      TensorView view;
      view.file = path;
      view.dtype = parse_dtype(entry["dtype"].get<std::string>(), path, it.key());
      std::size_t elements = 1;
      bool overflow = false;  // a product past 2^64 could wrap to the data's true size
      for (const auto& d : entry["shape"]) {
        const auto x = json_integer<std::int64_t>(d);
        if (!x) throw InputError(path, 0, it.key(), "a dimension must be an integer");
        const auto extent = *x;
        if (extent < 0) throw InputError(path, 0, it.key(), "negative dimension");
        view.shape.push_back(extent);
        overflow |= __builtin_mul_overflow(elements, static_cast<std::size_t>(extent), &elements);
      }
      std::size_t needed = 0;
      overflow |= __builtin_mul_overflow(elements, dtype_size(view.dtype), &needed);
      if (overflow) throw InputError(path, 0, it.key(), "its shape holds more than 2^64 bytes");
      const auto& offsets = entry["data_offsets"];
      if (!offsets.is_array() || offsets.size() != 2) throw InputError(path, 0, it.key(), "data_offsets must be [begin, end]");
      const auto first = json_integer<std::uint64_t>(offsets[0]), last = json_integer<std::uint64_t>(offsets[1]);
      if (!first || !last) throw InputError(path, 0, it.key(), "data_offsets must be non-negative integers");
      const auto begin = *first, end = *last;
      if (begin > end || end > data_size)
        throw InputError(path, 0, it.key(), "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                                "] fall outside the " + std::to_string(data_size) +
                                                " data bytes (truncated file?)");
      view.bytes = end - begin;
      if (view.bytes != needed)
        throw InputError(path, 0, it.key(), "holds " + std::to_string(view.bytes) + " bytes but its shape and dtype need " +
                                                std::to_string(needed));
      view.data = data + begin;
      tensors_.emplace(it.key(), std::move(view));
    }
  } catch (const nlohmann::json::exception& e) {
    ::munmap(mapping_, size_);
    mapping_ = nullptr;
    throw InputError(path, 0, "", std::string("bad header: ") + e.what());
  } catch (...) {
    ::munmap(mapping_, size_);
    mapping_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) ::munmap(mapping_, size_);
}

void release_pages(const TensorView& view) {
  // Whole pages only: from the page holding the first byte (the mapping starts on a page
  // boundary before it) to the last page that ends inside the tensor.
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(view.data) / page * page;
  const auto end = (reinterpret_cast<std::uintptr_t>(view.data) + view.bytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

CheckpointTensors::CheckpointTensors(const std::string& directory) : directory_(directory) {
  namespace fs = std::filesystem;
  const fs::path dir(directory);
  const fs::path single = dir / "model.safetensors";
  const fs::path index = dir / "model.safetensors.index.json";
  std::vector<std::string> shards;
  if (fs::exists(index)) {
    std::ifstream in(index);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (const auto problem = json_depth_problem(text); !problem.empty()) throw InputError(index.string(), 0, "", problem);
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(index.string(), 0, "", std::string("malformed JSON: ") + e.what());
    }
    if (!json.contains("weight_map") || !json["weight_map"].is_object())
      throw InputError(index.string(), 0, "weight_map", "missing");
    std::map<std::string, std::string> weight_map;
    for (auto it = json["weight_map"].begin(); it != json["weight_map"].end(); ++it) {
      weight_map[it.key()] = it->get<std::string>();
      if (std::find(shards.begin(), shards.end(), it->get<std::string>()) == shards.end())
        shards.push_back(it->get<std::string>());
    }
    for (const auto& shard : shards) files_.push_back(std::make_unique<SafetensorsFile>((dir / shard).string()));
    for (const auto& [name, shard] : weight_map) {
      const auto position = std::find(shards.begin(), shards.end(), shard) - shards.begin();
      const auto& tensors = files_[position]->tensors();
      auto found = tensors.find(name);
      if (found == tensors.end())
        throw InputError((dir / shard).string(), 0, name, "listed in model.safetensors.index.json but not in the shard");
      index_[name] = &found->second;
    }
  } else if (fs::exists(single)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single.string()));
    for (const auto& [name, view] : files_.front()->tensors()) index_[name] = &view;
  } else {
    throw InputError(directory, 0, "", "no model.safetensors or model.safetensors.index.json");
  }
}

const TensorView& CheckpointTensors::at(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw InputError(directory_, 0, name, "missing tensor");
  return *it->second;
}

std::vector<std::string> CheckpointTensors::names() const {
  std::vector<std::string> names;
  for (const auto& [name, view] : index_) names.push_back(name);
  return names;
}

void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text += ' ';  // keep the data 8-byte aligned
  const std::string temporary = path + ".partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    std::uint8_t length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(length), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
    if (!out) throw InputError(temporary, 0, "", "cannot write");
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace quorum::model
