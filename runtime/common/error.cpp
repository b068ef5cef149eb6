#include "runtime/common/error.h"

namespace quorum {
namespace {

std::string locate(const std::string& file, std::size_t line, const std::string& field,
                   const std::string& what) {
  std::string where = file;
  if (line > 0) where += (where.empty() ? "line " : ":") + std::to_string(line);
  if (!field.empty()) where += (where.empty() ? "field '" : ": field '") + field + "'";
  return where.empty() ? what : where + ": " + what;
}

}  // namespace

InputError::InputError(std::string file, std::size_t line, std::string field,
                       const std::string& what)
    : std::runtime_error(locate(file, line, field, what)),
      file_(std::move(file)),
      line_(line),
      field_(std::move(field)) {}

}  // namespace quorum
