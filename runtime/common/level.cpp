#include "runtime/common/level.h"

#include <stdexcept>

#include "runtime/common/text.h"

namespace quorum {

std::string problem_level(const nlohmann::json* value) {
  if (!value || value->is_null()) return "";
  if (value->is_number_integer()) return value->dump();
  if (!value->is_string()) throw std::invalid_argument("expected a string or an integer, got " + std::string(value->type_name()));
  const auto& written = value->get_ref<const std::string&>();
  auto text = trim(written);
  if (text == "Level" || text.rfind("Level ", 0) == 0) text = trim(text.substr(5));
  if (text.empty() || text.size() > 64)
    throw std::invalid_argument("expected a short label such as \"Level 3\" or 3, got '" + written.substr(0, 80) + "'");
  for (const unsigned char c : text)
    if (c < 0x20) throw std::invalid_argument("contains a control character");
  return text;
}

}  // namespace quorum
