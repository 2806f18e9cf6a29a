#include "storage/input_log_source.h"

#include <utility>

#include "runtime/snapshot.h"

namespace runnel {

std::string InputLogSource::FieldsText(const Schema& schema) {
  std::string fields;
  for (const Column& c : schema.columns()) {
    fields += (fields.empty() ? "" : ", ") + c.name + " " + std::string(TypeName(c.type));
  }
  return fields;
}

Result<Schema> InputLogSource::SchemaOfFields(const std::string& fields) {
  std::vector<Column> columns;
  size_t start = 0;
  while (start < fields.size()) {
    size_t end = fields.find(", ", start);
    if (end == std::string::npos) end = fields.size();
    const std::string item = fields.substr(start, end - start);
    const size_t space = item.rfind(' ');
    auto type = space == std::string::npos ? Result<ValueType>(Status::Invalid("no type"))
                                           : ParseTypeName(item.substr(space + 1));
    if (!type.ok()) {
      return Status::Corruption("the stored field list \"" + fields + "\" is damaged (at \"" +
                                item + "\")");
    }
    columns.push_back({item.substr(0, space), *type});
    start = end + 2;
  }
  return Schema(std::move(columns));
}

Result<std::unique_ptr<InputLogSource>> InputLogSource::Open(const std::string& database_path,
                                                             const std::string& source,
                                                             const Schema& schema) {
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<StateDatabase> db,
                          StateDatabase::OpenExisting(database_path));
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<InputLog> log, InputLog::Open(db.get()));
  RUNNEL_ASSIGN_OR_RETURN(InputLog::SourceEntry entry, log->FindSource(source));
  const std::string expected = FieldsText(schema);
  if (entry.fields != expected) {
    return Status::Invalid(database_path + ": the log of source '" + source +
                           "' has other fields (" + entry.fields + ") than the pipeline's (" +
                           expected + "); export it (runnel export) and adapt the file");
  }
  return std::make_unique<InputLogSource>(PrivateTag{}, std::move(db), std::move(log), entry.id);
}

InputLogSource::InputLogSource(PrivateTag, std::unique_ptr<StateDatabase> db,
                               std::unique_ptr<InputLog> log, int64_t source_id)
    : db_(std::move(db)), log_(std::move(log)), source_id_(source_id) {}

InputLogSource::~InputLogSource() = default;

Result<PollStatus> InputLogSource::Poll(size_t max_records) {
  if (finished_) return PollStatus::kFinished;
  size_t read = 0;
  Status status = log_->ReadSource(
      source_id_, last_seq_, kMinTime, kMaxTime,
      static_cast<int64_t>(std::max<size_t>(max_records, 1)), [&](const LoggedRecord& record) {
        RUNNEL_ASSIGN_OR_RETURN(SnapshotReader reader, SnapshotReader::Open(record.record));
        Row row;
        Status decoded =
            reader.ReadRow("record " + std::to_string(record.seq), &row).WithContext(db_->path());
        if (!decoded.ok()) return decoded;
        last_seq_ = record.seq;
        ++read;
        ++stats_.records_read;
        output().Emit(row, record.time, 1);
        return Status::Ok();
      });
  RUNNEL_RETURN_IF_ERROR(status);
  if (read == 0) {
    finished_ = true;
    return PollStatus::kFinished;
  }
  return PollStatus::kProgress;
}

}  // namespace runnel
