// A problem's difficulty level as problem files and interchange rows carry it (MATH's `level`):
// read the same way wherever it comes from, so that a sweep's levels and an analysed file's
// group problems alike.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace quorum {

// The level of `value` (a row's "level" field; null or absent: ""): an integer as written, or a
// short string with MATH's "Level " prefix dropped ("Level 3" -> "3"). Throws
// std::invalid_argument saying what is wrong; the caller names the file, line and field.
std::string problem_level(const nlohmann::json* value);

}  // namespace quorum
