// Encoders that append one Value in the text forms Runnel writes: a CSV field (RFC 4180) and a
// JSON value (RFC 8259). Both are what the decoders in this module read back to the same
// Value. Pure functions; they only append to `out`, so callers reuse one buffer.
#pragma once

#include <string>
#include <string_view>

#include "runtime/value.h"

namespace runnel {

// null -> empty field; strings are quoted when they are empty (so "" reads back as the empty
// string, not null) or hold a comma, quote, CR or LF, or start or end with a space (tools
// that trim would lose it); floats in shortest round-trip form; bools true/false.
void AppendCsvField(std::string& out, const Value& value);
void AppendCsvString(std::string& out, std::string_view text);

// null, true/false, integers, floats in shortest round-trip form (non-finite floats, which a
// pipeline never holds, as null), and strings escaped per RFC 8259.
void AppendJsonValue(std::string& out, const Value& value);
// A quoted JSON string: '"' and '\' escaped, control characters as \n, \t, ... or \u00XX.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace runnel
