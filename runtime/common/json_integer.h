// A JSON number read as an integer type, checked. nlohmann's get<T>() casts whatever number it
// finds: a float beyond T's range (1e300) is undefined behaviour, 1.5 becomes 1 and -1 a huge
// unsigned number (found by the fuzz targets, fuzz/).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

namespace quorum {

// The value as a T, or nullopt for anything but an integer within T's range (a float, 2.0
// included, is no integer here: quorum's and transformers' writers write integers as integers).
template <typename T, typename Json>
std::optional<T> json_integer(const Json& value) {
  static_assert(std::is_integral_v<T> && sizeof(T) <= 8);
  constexpr auto most = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  if (value.is_number_unsigned()) {
    const auto x = value.template get<std::uint64_t>();
    if (x > most) return std::nullopt;
    return static_cast<T>(x);
  }
  if (!value.is_number_integer()) return std::nullopt;
  const auto x = value.template get<std::int64_t>();
  if (x < 0) {
    if constexpr (std::is_unsigned_v<T>) return std::nullopt;
    else if (x < static_cast<std::int64_t>(std::numeric_limits<T>::min())) return std::nullopt;
  } else if (static_cast<std::uint64_t>(x) > most) {
    return std::nullopt;
  }
  return static_cast<T>(x);
}

}  // namespace quorum
