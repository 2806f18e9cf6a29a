// libFuzzer target for TopicTemplate and TopicRenderer. Input: "TEMPLATE\nTOPIC". Checks that
// matching binds exactly the template's fields as views inside the topic, that the filter of
// a valid template is itself valid, and that rendering a wildcard-free template from the
// values it matched gives back the topic (when no value needed escaping).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decode/topic_template.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace runnel;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view text = input.substr(0, newline);
  const std::string_view topic =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  Result<TopicTemplate> publish = TopicTemplate::Parse(text, TopicUse::kPublish);
  Result<TopicTemplate> subscribe = TopicTemplate::Parse(text, TopicUse::kSubscribe);
  if (!subscribe.ok()) return 0;
  Result<TopicTemplate> filter = TopicTemplate::Parse(subscribe->Filter(), TopicUse::kSubscribe);
  Check(filter.ok());
  Check(filter->fields().empty());

  std::vector<std::string_view> values;
  if (!subscribe->Match(topic, &values)) return 0;
  Check(values.size() == subscribe->fields().size());
  bool plain = topic.empty() || topic.front() != '$';
  for (std::string_view v : values) {
    Check(v.data() >= topic.data() && v.data() + v.size() <= topic.data() + topic.size());
    Check(v.find('/') == std::string_view::npos);
    if (v.find_first_of(std::string_view("%+#\0", 4)) != std::string_view::npos) plain = false;
  }
  Check(filter->Match(topic, &values));  // the filter matches whatever the template does
  if (!publish.ok()) return 0;           // has wildcards
  std::vector<Column> columns;
  Row row;
  subscribe->Match(topic, &values);
  for (size_t i = 0; i < values.size(); ++i) {
    columns.push_back({publish->fields()[i], ValueType::kString});
    row.push_back(Value::String(std::string(values[i])));
  }
  Result<TopicRenderer> renderer = TopicRenderer::Create(*publish, Schema(std::move(columns)));
  Check(renderer.ok());
  std::string rendered;
  const Status status = renderer->Render(row, &rendered);
  if (plain && !topic.empty()) {
    Check(status.ok());
    Check(rendered == topic);
  }
  return 0;
}
