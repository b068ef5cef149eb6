// Where in a JSON text its parser stopped: the field, named as quorum's readers name fields
// (`responses[0].scores.prm[2]`), and the byte. nlohmann reports a number it cannot hold (1e309
// overflows a double) as a bare out_of_range with no position; a reader runs the text once more
// through this to say where the number was.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace quorum {

// Follows a parse (nlohmann::json::sax_parse) and remembers where the parser stopped.
class JsonFieldLocator : public nlohmann::json::json_sax_t {
 public:
  std::string failed_field;      // set when the parser reported an error
  std::size_t failed_byte = 0;   // where it stopped (1 = the first byte)

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(nlohmann::json::number_integer_t) override { return value(); }
  bool number_unsigned(nlohmann::json::number_unsigned_t) override { return value(); }
  bool number_float(nlohmann::json::number_float_t, const nlohmann::json::string_t&) override { return value(); }
  bool string(nlohmann::json::string_t&) override { return value(); }
  bool binary(nlohmann::json::binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(false); }
  bool key(nlohmann::json::string_t& name) override {
    frames_.back().key = name;
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(true); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    failed_field = path(), failed_byte = position;
    return false;
  }

 private:
  struct Frame {
    bool array;
    std::size_t index = 0;
    std::string key;
  };
  std::vector<Frame> frames_;

  bool value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    return true;
  }
  bool open(bool array) {
    frames_.push_back({array, 0, ""});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return value();
  }
  std::string path() const {
    std::string text;
    for (const auto& frame : frames_) {
      if (frame.array) text += "[" + std::to_string(frame.index) + "]";
      else if (!frame.key.empty()) text += (text.empty() ? "" : ".") + frame.key;
    }
    return text;
  }
};

// The line (1 = the first) of text that holds byte `byte` (1 = the first byte).
inline std::size_t line_of_byte(std::string_view text, std::size_t byte) {
  std::size_t line = 1;
  for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i)
    if (text[i] == '\n') ++line;
  return line;
}

}  // namespace quorum
