#include "decode/topic_template.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace runnel {
namespace {

using Strings = std::vector<std::string>;

TopicTemplate Parse(std::string_view text, TopicUse use = TopicUse::kSubscribe) {
  Result<TopicTemplate> t = TopicTemplate::Parse(text, use);
  if (!t.ok()) FAIL(t.status().message());
  return std::move(t).value();
}

std::string ErrorOf(std::string_view text, TopicUse use = TopicUse::kSubscribe) {
  Result<TopicTemplate> t = TopicTemplate::Parse(text, use);
  if (t.ok()) FAIL("parsed, but an error was expected");
  return t.status().message();
}

// "no match", or the bound values joined with '|'.
std::string MatchOf(const TopicTemplate& t, std::string_view topic) {
  std::vector<std::string_view> values;
  if (!t.Match(topic, &values)) return "no match";
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i > 0 ? "|" : "") + std::string(values[i]);
  return out;
}

TEST_CASE("A topic template turns {field} levels into '+' for the subscription filter") {
  const TopicTemplate t = Parse("sensors/{device}/env");
  CHECK(t.Filter() == "sensors/+/env");
  CHECK(t.fields() == Strings{"device"});
  CHECK(Parse("meters/{site}/{device}/csv").Filter() == "meters/+/+/csv");
  CHECK(Parse("meters/{site}/{device}/csv").fields() == Strings{"site", "device"});
  CHECK(Parse("a/+/{id}/#").Filter() == "a/+/+/#");
  CHECK(Parse("a/+/{id}/#").fields() == Strings{"id"});
  CHECK(Parse("plain/topic").Filter() == "plain/topic");
  CHECK(Parse("plain/topic").fields().empty());
  CHECK(Parse("/leading//empty/").Filter() == "/leading//empty/");
}

TEST_CASE("Matching binds each field from its level of a concrete topic") {
  const TopicTemplate t = Parse("sensors/{device}/env");
  CHECK(MatchOf(t, "sensors/esp32-a1/env") == "esp32-a1");
  CHECK(MatchOf(t, "sensors//env") == "");  // '+' matches an empty level
  CHECK(MatchOf(t, "sensors/a/b/env") == "no match");
  CHECK(MatchOf(t, "sensors/a") == "no match");
  CHECK(MatchOf(t, "sensors/a/env/x") == "no match");
  CHECK(MatchOf(t, "sensors/a/Env") == "no match");  // topics are case-sensitive
  CHECK(MatchOf(t, "other/a/env") == "no match");
  CHECK(MatchOf(Parse("meters/{site}/{device}/csv"), "meters/plant-1/em-07/csv") ==
        "plant-1|em-07");
  // Values are taken verbatim: firmware does not escape.
  CHECK(MatchOf(t, "sensors/a%2Fb/env") == "a%2Fb");
}

TEST_CASE("'#' matches any number of levels, including none, and only at the end") {
  const TopicTemplate t = Parse("site/{room}/#");
  CHECK(MatchOf(t, "site/kitchen/temp") == "kitchen");
  CHECK(MatchOf(t, "site/kitchen/a/b/c") == "kitchen");
  CHECK(MatchOf(t, "site/kitchen") == "kitchen");  // the parent level itself
  CHECK(MatchOf(t, "site") == "no match");
  CHECK(MatchOf(Parse("#"), "anything/at/all") == "");
  CHECK(MatchOf(Parse("a/+"), "a/x") == "");
  CHECK(MatchOf(Parse("a/+"), "a") == "no match");
}

TEST_CASE("Topics starting with '$' are not matched by a leading wildcard or field") {
  CHECK(MatchOf(Parse("{device}/status"), "$SYS/status") == "no match");
  CHECK(MatchOf(Parse("#"), "$SYS/broker/uptime") == "no match");
  CHECK(MatchOf(Parse("+/status"), "$SYS/status") == "no match");
  CHECK(MatchOf(Parse("$SYS/{what}"), "$SYS/uptime") == "uptime");
}

TEST_CASE("Invalid templates are refused with the level and the rule") {
  CHECK(ErrorOf("") == "the topic is empty (write e.g. \"sensors/{device}/env\")");
  CHECK(ErrorOf("a/#/b") ==
        "level \"#\" of \"a/#/b\": '#' must be the last level (e.g. "
        "\"sensors/#\")");
  CHECK(ErrorOf("a/dev{id}/b") ==
        "level \"dev{id}\" of \"a/dev{id}/b\" is not valid (a level is text without + # { }, +, "
        "# at the end, or a whole-level {field}, e.g. \"sensors/{device}/env\")");
  CHECK(ErrorOf("a/x+/b") ==
        "level \"x+\" of \"a/x+/b\" is not valid (a level is text without + # { }, +, # at the "
        "end, or a whole-level {field}, e.g. \"sensors/{device}/env\")");
  CHECK(ErrorOf("a/{1x}") ==
        "level \"{1x}\" of \"a/{1x}\": \"1x\" is not a field name (use "
        "letters, digits and '_', not starting with a digit)");
  CHECK(ErrorOf("a/{}") ==
        "level \"{}\" of \"a/{}\": \"\" is not a field name (use letters, "
        "digits and '_', not starting with a digit)");
  CHECK(ErrorOf("{id}/x/{id}") ==
        "level \"{id}\" of \"{id}/x/{id}\": field 'id' is bound twice (give each level its own "
        "name)");
  CHECK(ErrorOf(std::string("a/\0b", 4)) ==
        "the topic contains a NUL character, which MQTT "
        "forbids");
  CHECK(ErrorOf(std::string(65536, 'a')) ==
        "the topic is longer than MQTT's limit of 65535 "
        "bytes");
}

TEST_CASE("Publish templates refuse wildcards and may repeat a field") {
  CHECK(ErrorOf("alerts/+", TopicUse::kPublish) ==
        "level \"+\" of \"alerts/+\": a wildcard cannot be published to (write text or a "
        "{field} level)");
  CHECK(ErrorOf("alerts/#", TopicUse::kPublish) ==
        "level \"#\" of \"alerts/#\": a wildcard cannot be published to (write text or a "
        "{field} level)");
  CHECK(Parse("{site}/alerts/{site}", TopicUse::kPublish).fields() == Strings{"site", "site"});
}

std::string Render(std::string_view text, const Schema& schema, const Row& row) {
  Result<TopicRenderer> renderer = TopicRenderer::Create(Parse(text, TopicUse::kPublish), schema);
  if (!renderer.ok()) return "create error: " + renderer.status().message();
  std::string out = "stale";
  Status status = renderer->Render(row, &out);
  if (!status.ok()) return "error: " + status.message();
  return out;
}

TEST_CASE("Rendering fills {field} levels from a row, escaping '/', '+', '#' and '%'") {
  const Schema schema({{"device", ValueType::kString},
                       {"n", ValueType::kInt},
                       {"x", ValueType::kFloat},
                       {"on", ValueType::kBool}});
  const Row row{Value::String("esp-1"), Value::Int(-42), Value::Float(0.1), Value::Bool(true)};
  CHECK(Render("alerts/{device}", schema, row) == "alerts/esp-1");
  CHECK(Render("a/{n}/{x}/{on}", schema, row) == "a/-42/0.1/true");
  CHECK(Render("{device}", schema, row) == "esp-1");
  CHECK(Render("alerts/{device}/x", schema,
               {Value::String("a/b+c#d%e"), Value(), Value(), Value()}) ==
        "alerts/a%2Fb%2Bc%23d%25e/x");
  CHECK(Render("alerts/{device}", schema,
               {Value::String(std::string("a\0b", 3)), Value(), Value(), Value()}) ==
        "alerts/a%00b");
  // Only a '$' starting the topic is encoded: it would name a broker-internal topic.
  CHECK(Render("{device}/x", schema, {Value::String("$SYS"), Value(), Value(), Value()}) ==
        "%24SYS/x");
  CHECK(Render("a/{device}", schema, {Value::String("$x"), Value(), Value(), Value()}) == "a/$x");
  // An empty value is an empty level, as MQTT allows.
  CHECK(Render("a/{device}/b", schema, {Value::String(""), Value(), Value(), Value()}) == "a//b");
}

TEST_CASE("Rendering refuses null values, unknown fields, empty and oversized topics") {
  const Schema schema({{"device", ValueType::kString}});
  CHECK(Render("alerts/{device}", schema, {Value()}) == "error: topic field 'device' is null");
  CHECK(Render("alerts/{site}", schema, {Value::String("a")}) ==
        "create error: topic \"alerts/{site}\": field 'site' is not a column of the published "
        "rows (columns: device)");
  CHECK(Render("{device}", schema, {Value::String("")}) ==
        "error: topic is empty (a field value is empty)");
  CHECK(Render("a/{device}", schema, {Value::String(std::string(70000, 'x'))}) ==
        "error: topic is longer than MQTT's limit of 65535 bytes (field values too long)");
}

}  // namespace
}  // namespace runnel
