#include "app/profile_decoder.h"

#include <utility>

namespace runnel {

namespace {

PayloadFormat ToPayloadFormat(ProfileFormat format) {
  switch (format) {
    case ProfileFormat::kJson:
      return PayloadFormat::kJson;
    case ProfileFormat::kCsv:
      return PayloadFormat::kCsv;
    case ProfileFormat::kKv:
      return PayloadFormat::kKv;
    case ProfileFormat::kBinary:
      return PayloadFormat::kBinary;
  }
  return PayloadFormat::kJson;
}

Result<PayloadField> ToPayloadField(const ProfileField& f) {
  PayloadField out;
  out.name = f.name;
  out.type = f.type;
  out.path = f.path;
  if (f.wire != ProfileWireType::kNone) {
    RUNNEL_ASSIGN_OR_RETURN(out.binary, ParseBinaryTypeName(ProfileWireTypeName(f.wire)));
    out.byte_offset = static_cast<size_t>(f.byte_offset);
  }
  out.scale = f.scale;
  out.add = f.add;
  out.min = f.min;
  out.max = f.max;
  out.required = f.required;
  return out;
}

}  // namespace

Result<PayloadSpec> PayloadSpecFromProfile(const DeviceProfile& profile) {
  PayloadSpec spec;
  spec.name = profile.name;
  spec.format = ToPayloadFormat(profile.format);
  spec.topic_fields = profile.topic_fields;
  spec.time_column = profile.time.field;
  spec.time_unit = profile.time.unit;
  if (!profile.time.arrival) {
    if (const ProfileField* declared = profile.FindField(profile.time.field)) {
      RUNNEL_ASSIGN_OR_RETURN(PayloadField time, ToPayloadField(*declared));
      spec.time_field = std::move(time);
    } else {
      // Undeclared: read at the path of its own name, as whatever number (or text) it is.
      PayloadField time;
      time.name = profile.time.field;
      time.path = profile.time.field;
      time.type = profile.time.unit == TimeUnit::kIso8601 ? ValueType::kString : ValueType::kFloat;
      spec.time_field = std::move(time);
    }
  }
  for (const ProfileField& f : profile.fields) {
    if (!profile.time.arrival && f.name == profile.time.field) continue;
    RUNNEL_ASSIGN_OR_RETURN(PayloadField field, ToPayloadField(f));
    spec.fields.push_back(std::move(field));
  }
  spec.csv_columns = profile.columns;
  spec.csv_separator = profile.separator;
  spec.byte_order =
      profile.byte_order == ProfileByteOrder::kBig ? ByteOrder::kBig : ByteOrder::kLittle;
  spec.binary_length = static_cast<size_t>(profile.length);
  return spec;
}

Result<ProfileCodec> BuildProfileCodec(const DeviceProfile& profile) {
  auto topic = TopicTemplate::Parse(profile.topic, TopicUse::kSubscribe);
  if (!topic.ok()) return topic.status().WithContext(profile.topic_where.Prefix() + ": topic");
  auto spec = PayloadSpecFromProfile(profile);
  if (!spec.ok()) return spec.status().WithContext(profile.path);
  auto decoder = PayloadDecoder::Create(std::move(spec).value());
  if (!decoder.ok()) return decoder.status().WithContext(profile.path);
  return ProfileCodec{std::move(topic).value(), std::move(decoder).value()};
}

}  // namespace runnel
