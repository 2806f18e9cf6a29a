// Token authentication for the dashboard: where a request may carry the token (an
// `Authorization: Bearer` header, or the `runnel_token` cookie that the server sets from a
// `token=` query parameter) and a comparison whose time does not depend on where the
// strings differ. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace runnel {

inline constexpr std::string_view kTokenCookie = "runnel_token";

bool ConstantTimeEquals(std::string_view a, std::string_view b);

// "Bearer abc" -> "abc"; nullopt for any other scheme.
std::optional<std::string_view> BearerToken(std::string_view authorization);

// The value of cookie `name` in a Cookie header ("a=1; runnel_token=x").
std::optional<std::string_view> CookieValue(std::string_view cookie_header, std::string_view name);

}  // namespace runnel
