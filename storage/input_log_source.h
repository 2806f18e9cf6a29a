// InputLogSource: a static source that reads one source's stored input log from a Runnel state
// database (`--replay SOURCE=var/gw/runnel.db`, SPEC §1): the same records, in the order they
// arrived, with their event times, so that a pipeline replays a live run exactly as a batch
// job. The logged fields must match the pipeline's source. Threading: engine thread only.
#pragma once

#include <memory>
#include <string>

#include "runtime/schema.h"
#include "runtime/source.h"
#include "storage/input_log.h"
#include "storage/state_database.h"

namespace runnel {

class InputLogSource final : public Source {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Opens `database_path` and finds the log of source `source`, whose fields must equal
  // `schema`'s ("name type, ..." as the log stores them).
  static Result<std::unique_ptr<InputLogSource>> Open(const std::string& database_path,
                                                      const std::string& source,
                                                      const Schema& schema);
  InputLogSource(PrivateTag, std::unique_ptr<StateDatabase> db, std::unique_ptr<InputLog> log,
                 int64_t source_id);
  ~InputLogSource() override;

  Result<PollStatus> Poll(size_t max_records) override;
  Timestamp watermark() const override { return finished_ ? kMaxTime : kMinTime; }
  bool bounded() const override { return true; }
  SourceStats stats() const override { return stats_; }

  // The log's column list for `schema`: how sources are registered in runnel_sources.
  static std::string FieldsText(const Schema& schema);
  // The inverse: Corruption for a list that this binary did not write.
  static Result<Schema> SchemaOfFields(const std::string& fields);

 private:
  std::unique_ptr<StateDatabase> db_;
  std::unique_ptr<InputLog> log_;
  int64_t source_id_;
  int64_t last_seq_ = 0;
  bool finished_ = false;
  SourceStats stats_;
};

}  // namespace runnel
