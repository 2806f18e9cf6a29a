// JsonKindName: "a number", "an object", ... for decode errors that say what a JSON value was
// instead of what was expected. Internal to decode/ (the only module that sees simdjson).
#pragma once

#include <simdjson.h>

#include <string_view>

namespace runnel {

inline std::string_view JsonKindName(simdjson::dom::element_type type) {
  using simdjson::dom::element_type;
  switch (type) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a bool";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

}  // namespace runnel
