#include "mqtt/mqtt_sink.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "storage/outbox_table.h"
#include "storage/state_database.h"
#include "tests/io/temp_dir.h"

namespace runnel {
namespace {

// Nothing listens on port 1: every connection attempt is refused at once, so these tests see
// the outbox of a sink whose broker is down, without a broker.
constexpr const char* kDeadBroker = "tcp://127.0.0.1:1";

const Schema kSchema({{"device", ValueType::kString},
                      {"n", ValueType::kInt},
                      {"avg", ValueType::kFloat}});

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<StateDatabase> db;
  ManualClock clock{1'000'000};
  CapturingLogger logger;

  Fixture() {
    auto opened = StateDatabase::Open(dir.Path("state"), false);
    REQUIRE(opened.ok());
    db = std::move(opened).value();
  }

  std::unique_ptr<MqttSink> Sink(int64_t limit = 100) {
    MqttSinkSpec spec;
    spec.name = "sink from 'v'";
    spec.topic = "alerts/{device}";
    spec.qos = 1;
    spec.outbox_limit = limit;
    spec.close_timeout = std::chrono::milliseconds(2000);
    auto outbox = OutboxTable::Create(db.get(), "v -> alerts/{device}");
    REQUIRE(outbox.ok());
    BrokerOptions broker;
    broker.uri = kDeadBroker;
    broker.client_id = "runnel-test-sink";
    auto uplink = Uplink::Create(broker, spec.name, &clock, &logger);
    REQUIRE(uplink.ok());
    auto sink = MqttSink::Create(spec, kSchema, std::move(outbox).value(),
                                 std::move(uplink).value(), &clock, &logger);
    if (!sink.ok()) FAIL(sink.status().message());
    return std::move(sink).value();
  }

  // One engine step: the changes, Advance, the commit, then the sink's step listener.
  void Step(MqttSink& sink, const std::vector<std::pair<Row, Diff>>& changes) {
    for (const auto& [row, diff] : changes) sink.OnChange(0, row, 0, diff);
    const std::vector<Timestamp> watermarks = {kMaxTime};
    Timestamp out = kMinTime;
    REQUIRE(sink.Advance(watermarks, &out).ok());
    REQUIRE(db->CommitStep().ok());
    REQUIRE(sink.OnStepCommitted().ok());
  }

  // "topic payload" per stored message, in delivery order.
  std::vector<std::string> Stored() {
    auto outbox = OutboxTable::Create(db.get(), "v -> alerts/{device}");
    REQUIRE(outbox.ok());
    auto messages = (*outbox)->Load();
    REQUIRE(messages.ok());
    std::vector<std::string> out;
    for (const OutboxMessage& m : *messages) {
      out.push_back(m.topic + " " + m.payload + (m.qos == 1 && !m.retain ? "" : " (flags?)"));
    }
    return out;
  }
};

Row R(std::string device, int64_t n, double avg) {
  return {Value::String(std::move(device)), Value::Int(n), Value::Float(avg)};
}

TEST_CASE("an MQTT sink stores each step's changes in its outbox as JSON objects on their topics") {
  Fixture f;
  std::unique_ptr<MqttSink> sink = f.Sink();
  f.Step(*sink, {{R("a", 2, 1.5), 1},
                 {{Value::String("b/x"), Value::Int(1), Value()}, 1},
                 {{Value(), Value::Int(1), Value::Float(2)}, 1},
                 {R("a", 2, 1.5), -1}});
  CHECK(f.Stored() == std::vector<std::string>{
                          R"(alerts/a {"device":"a","n":2,"avg":1.5,"diff":1})",
                          R"(alerts/b%2Fx {"device":"b/x","n":1,"avg":null,"diff":1})",
                          R"(alerts/a {"device":"a","n":2,"avg":1.5,"diff":-1})",
                      });
  OperatorStats stats = sink->stats();
  CHECK(stats.rows_written == 3);
  CHECK(stats.outbox_depth == 3);
  CHECK(stats.messages_delivered == 0);
  CHECK(stats.messages_unpublishable == 1);
  CHECK(f.logger.messages().at(0) ==
        "warning: sink from 'v': a change cannot be published: topic field 'device' is null (1 so "
        "far; filter such rows out with `where` in the view)");

  REQUIRE(sink->Close().ok());
  CHECK(f.Stored().size() == 3);  // the broker never took them: they stay for the next run
}

TEST_CASE("a full outbox drops its oldest messages, counts them and says so once a minute") {
  Fixture f;
  std::unique_ptr<MqttSink> sink = f.Sink(/*limit=*/3);
  f.Step(*sink, {{R("a", 1, 0), 1}, {R("a", 2, 0), 1}});
  f.Step(*sink, {{R("a", 3, 0), 1}, {R("a", 4, 0), 1}, {R("a", 5, 0), 1}});
  CHECK(f.Stored() == std::vector<std::string>{
                          R"(alerts/a {"device":"a","n":3,"avg":0,"diff":1})",
                          R"(alerts/a {"device":"a","n":4,"avg":0,"diff":1})",
                          R"(alerts/a {"device":"a","n":5,"avg":0,"diff":1})",
                      });
  CHECK(sink->stats().outbox_overflow == 2);
  // More than the limit in one step: the step's own oldest never reach the table.
  f.Step(*sink, {{R("b", 1, 0), 1}, {R("b", 2, 0), 1}, {R("b", 3, 0), 1}, {R("b", 4, 0), 1}});
  CHECK(f.Stored() == std::vector<std::string>{
                          R"(alerts/b {"device":"b","n":2,"avg":0,"diff":1})",
                          R"(alerts/b {"device":"b","n":3,"avg":0,"diff":1})",
                          R"(alerts/b {"device":"b","n":4,"avg":0,"diff":1})",
                      });
  CHECK(sink->stats().outbox_overflow == 6);
  CHECK(sink->stats().outbox_depth == 3);
  CHECK(sink->stats().rows_written == 8);

  int overflow_lines = 0;
  for (const std::string& m : f.logger.messages()) {
    if (m.find("the outbox is full") != std::string::npos) ++overflow_lines;
  }
  CHECK(overflow_lines == 1);
  f.clock.Advance(60'000);
  f.Step(*sink, {{R("c", 1, 0), 1}});
  bool reported = false;
  for (const std::string& m : f.logger.messages()) {
    reported = reported || m == "warning: sink from 'v': the outbox is full (outbox_limit = 3) "
                                "while tcp://127.0.0.1:1 as client runnel-test-sink does not "
                                "take messages: dropped the oldest, 7 so far (raise "
                                "outbox_limit or restore the uplink)";
  }
  CHECK(reported);
  REQUIRE(sink->Close().ok());
}

TEST_CASE("what an earlier run left in the outbox is queued first after a restart") {
  Fixture f;
  {
    std::unique_ptr<MqttSink> sink = f.Sink();
    f.Step(*sink, {{R("a", 1, 0), 1}, {R("a", 2, 0), 1}});
    REQUIRE(sink->Close().ok());
  }
  std::unique_ptr<MqttSink> sink = f.Sink();
  CHECK(sink->stats().outbox_depth == 2);
  f.Step(*sink, {{R("a", 3, 0), 1}});
  CHECK(f.Stored() == std::vector<std::string>{
                          R"(alerts/a {"device":"a","n":1,"avg":0,"diff":1})",
                          R"(alerts/a {"device":"a","n":2,"avg":0,"diff":1})",
                          R"(alerts/a {"device":"a","n":3,"avg":0,"diff":1})",
                      });
  CHECK(sink->stats().outbox_depth == 3);
  bool told = false;
  for (const std::string& m : f.logger.messages()) {
    told = told || m == "sink from 'v': 2 messages of an earlier run wait in the outbox; they go "
                        "out first";
  }
  CHECK(told);
  REQUIRE(sink->Close().ok());
}

TEST_CASE("a step that never committed leaves nothing in the outbox and sends nothing") {
  Fixture f;
  std::unique_ptr<MqttSink> sink = f.Sink();
  sink->OnChange(0, R("a", 1, 0), 0, 1);
  const std::vector<Timestamp> watermarks = {kMaxTime};
  Timestamp out = kMinTime;
  REQUIRE(sink->Advance(watermarks, &out).ok());
  // The run fails before the commit: Close must not commit the open step.
  REQUIRE(sink->Close().ok());
  f.db.reset();
  auto reopened = StateDatabase::Open(f.dir.Path("state"), false);
  REQUIRE(reopened.ok());
  f.db = std::move(reopened).value();
  CHECK(f.Stored().empty());
}

TEST_CASE("an MQTT sink's topic may only name columns of its view") {
  MqttSinkSpec spec;
  spec.topic = "alerts/{devce}";
  CHECK(MqttSink::Validate(spec, kSchema).message() ==
        "topic \"alerts/{devce}\": field 'devce' is not a column of the published rows "
        "(columns: device, n, avg)");
  spec.topic = "alerts/+";
  CHECK(!MqttSink::Validate(spec, kSchema).ok());
  spec.topic = "alerts/{device}/{n}";
  CHECK(MqttSink::Validate(spec, kSchema).ok());
}

}  // namespace
}  // namespace runnel
