// Query strings of dashboard requests: parameters by name, URL-decoded ("%2F", "+").
// Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace runnel {

// The URL-decoded value of query parameter `name`, and the query without it (for redirects).
struct QueryParameter {
  std::optional<std::string> value;
  std::string rest;
};
QueryParameter TakeQueryParameter(std::string_view query, std::string_view name);

}  // namespace runnel
