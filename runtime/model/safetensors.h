// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
// header mapping tensor names to {dtype, shape, data_offsets}, then the raw tensor bytes.
// Files are memory-mapped; nothing here depends on libtorch, so checkpoints can be validated
// and inspected without it. A sharded checkpoint (model.safetensors.index.json) is a set of
// files behind one name -> tensor lookup.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace quorum::model {

enum class DType { f32, f16, bf16, i64, i32, u8 };
std::size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "F32", "F16", ...

struct TensorView {
  DType dtype;
  std::vector<std::int64_t> shape;
  const std::uint8_t* data;  // valid while the file that holds it is open
  std::size_t bytes;
  std::string file;          // for error messages
};

// One memory-mapped safetensors file. Throws InputError (naming the file and tensor) for a
// truncated file, a bad header, unknown dtypes, or offsets outside the data.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  void* mapping_ = nullptr;
  std::size_t size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Drops a tensor's mapped pages from the process's resident set once it has been copied (the
// kernel keeps them in the page cache; a later read maps them again). Loading a model this
// way never holds the file and the weights resident at once.
void release_pages(const TensorView& view);

// All tensors of a checkpoint directory: model.safetensors, or the shards listed by
// model.safetensors.index.json.
class CheckpointTensors {
 public:
  explicit CheckpointTensors(const std::string& directory);
  // Throws InputError naming the tensor when it is absent.
  const TensorView& at(const std::string& name) const;
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  std::vector<std::string> names() const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> index_;
  std::string directory_;
};

// A tensor to write: raw little-endian bytes of the given dtype and shape.
struct TensorData {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

// Writes a safetensors file (atomically: beside its name, then renamed).
void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace quorum::model
