#include "sim/fleet_simulator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <utility>

namespace runnel {

namespace {

struct UnitRange {
  std::string_view unit;
  double lo, hi;
};

// What a healthy device of each unit typically reports (indoors, mains, a charged battery).
constexpr UnitRange kUnitRanges[] = {
    {"degC", 18, 26}, {"%", 35, 65},      {"hPa", 995, 1025}, {"Pa", 99'500, 102'500},
    {"V", 226, 234},  {"mV", 3300, 4100}, {"A", 0.2, 6},      {"mA", 200, 6000},
    {"W", 40, 1400},  {"lx", 100, 800},   {"ppm", 400, 900},  {"dB", 35, 60},
};

bool IsCounterUnit(std::string_view unit) { return unit == "kWh" || unit == "Wh"; }

}  // namespace

struct FleetSimulator::Field {
  enum class Kind { kLevel, kCounter, kFlag, kText };
  Kind kind = Kind::kLevel;
  size_t column = 0;
  double lo = 0, hi = 100;  // plausible range (kLevel), start range (kCounter)
  std::optional<double> min, max;
  bool integer = false;
  double divisor = 0;  // quantum 1/divisor, when the raw value is an integer with scale 1/N
  double scale = 0;    // quantum `scale` for other scales of integer raw values
  double step = 0.05;  // counters: largest increase per reading
};

struct FleetSimulator::Device {
  std::vector<std::string> topic_values;
  Timestamp clock_offset = 0;
  std::vector<double> base, drift;  // per field
  std::vector<bool> flag;
  std::string last_topic, last_payload;  // the last well-formed message, for redelivery
  bool has_last = false;
};

std::string_view MessageKindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kNormal:
      return "normal";
    case MessageKind::kLate:
      return "late";
    case MessageKind::kDuplicate:
      return "duplicate";
    case MessageKind::kMalformed:
      return "malformed";
  }
  return "?";
}

FleetSimulator::FleetSimulator(PrivateTag, FleetOptions options, PayloadSpec spec,
                               TopicRenderer topic, std::unique_ptr<PayloadEncoder> encoder,
                               std::vector<Field> fields)
    : options_(options),
      spec_(std::move(spec)),
      topic_(std::move(topic)),
      encoder_(std::move(encoder)),
      fields_(std::move(fields)),
      rng_(options.seed),
      counts_(kMessageKinds, 0) {
  const size_t n = static_cast<size_t>(options_.devices);
  devices_.resize(n);
  for (size_t d = 0; d < n; ++d) {
    Device& device = devices_[d];
    for (const std::string& name : spec_.topic_fields) {
      char id[32];
      if (name == "device") {
        std::snprintf(id, sizeof(id), "sim-%04zu", d + 1);
      } else {
        std::snprintf(id, sizeof(id), "-%zu", d % 3 + 1);
      }
      device.topic_values.push_back(name == "device" ? std::string(id) : name + id);
    }
    const double skew = static_cast<double>(options_.clock_skew);
    device.clock_offset = std::llround((Uniform() * 2 - 1) * skew);
    for (const Field& f : fields_) {
      device.base.push_back(f.lo + Uniform() * (f.hi - f.lo));
      device.drift.push_back(0);
      device.flag.push_back(Uniform() < 0.5);
    }
  }
  row_.resize(spec_.topic_fields.size() + 1 + spec_.fields.size());
}

FleetSimulator::~FleetSimulator() = default;

Result<std::unique_ptr<FleetSimulator>> FleetSimulator::Create(
    const PayloadSpec& spec, std::string_view topic,
    const std::map<std::string, std::string>& units, const FleetOptions& options) {
  if (options.devices < 1 || options.devices > 1'000'000) {
    return Status::Invalid("--devices must be between 1 and 1000000");
  }
  if (!(options.rate > 0) || !std::isfinite(options.rate) || options.rate > 1e7) {
    return Status::Invalid("--rate must be a number of messages per second above 0");
  }
  for (double f : {options.late_fraction, options.duplicate_fraction, options.malformed_fraction}) {
    if (!(f >= 0 && f <= 1)) return Status::Invalid("fractions must be between 0 and 1");
  }
  if (options.late_fraction + options.duplicate_fraction + options.malformed_fraction > 1) {
    return Status::Invalid(
        "--late-fraction, --duplicate-fraction and --malformed-fraction add up to more than 1");
  }
  if (options.disorder < 0 || options.clock_skew < 0) {
    return Status::Invalid("--disorder and --clock-skew cannot be negative");
  }
  if (!spec.time_field && (options.late_fraction > 0 || options.disorder > 0)) {
    return Status::Invalid("profile \"" + spec.name +
                           "\" stamps records with their arrival time, so its payloads carry no "
                           "time to be late or out of order (drop --late-fraction and "
                           "--disorder)");
  }
  auto parsed = TopicTemplate::Parse(topic, TopicUse::kPublish);
  if (!parsed.ok()) {
    return parsed.status().WithContext("profile \"" + spec.name +
                                       "\": its topic cannot be published to");
  }
  std::vector<Column> columns;
  for (const std::string& name : spec.topic_fields) columns.push_back({name, ValueType::kString});
  columns.push_back({spec.time_column, ValueType::kInt});
  for (const PayloadField& f : spec.fields) columns.push_back({f.name, f.OutputType()});
  RUNNEL_ASSIGN_OR_RETURN(TopicRenderer renderer,
                          TopicRenderer::Create(*parsed, Schema(std::move(columns))));
  RUNNEL_ASSIGN_OR_RETURN(std::unique_ptr<PayloadEncoder> encoder, PayloadEncoder::Create(spec));

  std::vector<Field> fields;
  for (size_t i = 0; i < spec.fields.size(); ++i) {
    const PayloadField& pf = spec.fields[i];
    Field f;
    f.column = spec.topic_fields.size() + 1 + i;
    f.min = pf.min;
    f.max = pf.max;
    const ValueType type = pf.OutputType();
    f.integer = type == ValueType::kInt;
    const bool raw_integer = pf.binary != BinaryType::kNone
                                 ? pf.binary != BinaryType::kF32 && pf.binary != BinaryType::kF64
                                 : pf.type == ValueType::kInt;
    if (raw_integer && pf.scale) {
      f.divisor = ScaleDivisor(pf.scale);
      f.scale = *pf.scale;
    }
    const auto unit = units.find(pf.name);
    const std::string_view u = unit == units.end() ? std::string_view() : unit->second;
    if (type == ValueType::kBool) {
      f.kind = Field::Kind::kFlag;
    } else if (type == ValueType::kString) {
      f.kind = Field::Kind::kText;
    } else if (IsCounterUnit(u)) {
      f.kind = Field::Kind::kCounter;
      f.lo = pf.min.value_or(0) + 100;
      f.hi = f.lo + 20'000;
      f.step = u == "Wh" ? 50 : 0.05;
    } else {
      // The unit's typical range within min/max; else the middle half of min/max.
      double lo = pf.min.value_or(-1e300), hi = pf.max.value_or(1e300);
      bool found = false;
      for (const UnitRange& r : kUnitRanges) {
        if (r.unit == u && std::max(lo, r.lo) < std::min(hi, r.hi)) {
          lo = std::max(lo, r.lo);
          hi = std::min(hi, r.hi);
          found = true;
        }
      }
      if (!found) {
        if (pf.min && pf.max) {
          const double quarter = (*pf.max - *pf.min) / 4;
          lo = *pf.min + quarter;
          hi = *pf.max - quarter;
        } else if (pf.min) {
          hi = lo + 100;
        } else if (pf.max) {
          lo = hi - 100;
        } else {
          lo = 0;
          hi = 100;
        }
      }
      f.lo = lo;
      f.hi = hi;
    }
    fields.push_back(f);
  }
  return std::make_unique<FleetSimulator>(PrivateTag(), options, spec, std::move(renderer),
                                          std::move(encoder), std::move(fields));
}

double FleetSimulator::Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

double FleetSimulator::Normal() {
  // Box-Muller on our own uniforms: the same numbers with every standard library.
  const double u1 = 1.0 - Uniform();
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
}

void FleetSimulator::Read(Device& device, Row* row) {
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Field& f = fields_[i];
    Value& out = (*row)[f.column];
    switch (f.kind) {
      case Field::Kind::kFlag:
        if (Uniform() < 0.05) device.flag[i] = !device.flag[i];
        out = Value::Bool(device.flag[i]);
        continue;
      case Field::Kind::kText:
        out = Value::String("ok");
        continue;
      case Field::Kind::kCounter:
        device.base[i] += Uniform() * f.step;
        break;
      case Field::Kind::kLevel: {
        const double span = f.hi - f.lo;
        double& drift = device.drift[i];
        drift += Normal() * 0.01 * span;
        // Reflect at the range's ends, so a level wanders but stays plausible.
        const double level = device.base[i] + drift;
        if (level > f.hi) drift -= 2 * (level - f.hi);
        if (level < f.lo) drift += 2 * (f.lo - level);
        break;
      }
    }
    double v = device.base[i] + device.drift[i];
    if (f.kind == Field::Kind::kLevel) v += Normal() * 0.003 * (f.hi - f.lo);
    if (f.min) v = std::max(v, *f.min);
    if (f.max) v = std::min(v, *f.max);
    if (f.integer) {
      out = Value::Int(std::llround(v));
      continue;
    }
    // On the raw value's grid, so that what the decoder reads back is exactly this value.
    if (f.divisor != 0) {
      v = std::round(v * f.divisor) / f.divisor;
    } else if (f.scale != 0) {
      v = std::round(v / f.scale) * f.scale;
    } else {
      v = std::round(v * 100) / 100;
    }
    if (f.min && v < *f.min) v = *f.min;
    if (f.max && v > *f.max) v = *f.max;
    out = Value::Float(v);
  }
}

void FleetSimulator::Break(std::string* payload) const {
  switch (spec_.format) {
    case PayloadFormat::kJson:
      payload->pop_back();  // the closing brace
      return;
    case PayloadFormat::kCsv: {
      const size_t last = payload->rfind(spec_.csv_separator);
      if (last == std::string::npos) {
        payload->push_back(spec_.csv_separator);  // one column too many
      } else {
        payload->resize(last);  // one column too few
      }
      return;
    }
    case PayloadFormat::kKv: {
      const size_t eq = payload->find('=');
      if (eq == std::string::npos) {
        *payload = "garbled";
      } else {
        (*payload)[eq] = ':';  // a token that is no key=value pair
      }
      return;
    }
    case PayloadFormat::kBinary:
      payload->pop_back();  // a short frame
      return;
  }
}

Status FleetSimulator::Next(SimulatedMessage* out) {
  const uint64_t k = next_++;
  Device& device = devices_[k % devices_.size()];
  out->due = options_.start +
             static_cast<Timestamp>(std::floor(static_cast<double>(k) * 1000.0 / options_.rate));
  const double u = Uniform();
  const double dup = options_.duplicate_fraction;
  const double malformed = dup + options_.malformed_fraction;
  const double late = malformed + options_.late_fraction;
  MessageKind kind = MessageKind::kNormal;
  if (u < dup && device.has_last) {
    kind = MessageKind::kDuplicate;
  } else if (u >= dup && u < malformed) {
    kind = MessageKind::kMalformed;
  } else if (u >= malformed && u < late) {
    kind = MessageKind::kLate;
  }
  out->kind = kind;
  ++counts_[static_cast<size_t>(kind)];
  if (kind == MessageKind::kDuplicate) {
    out->topic = device.last_topic;
    out->payload = device.last_payload;
    return Status::Ok();
  }

  Timestamp t = out->due + device.clock_offset;
  if (kind == MessageKind::kLate) {
    t -= options_.disorder + kLateAge +
         static_cast<Timestamp>(Uniform() * static_cast<double>(kLateAge));
  } else {
    t -= static_cast<Timestamp>(Uniform() * static_cast<double>(options_.disorder));
  }
  const int64_t resolution = encoder_->time_resolution();
  t = FloorDiv(t, resolution) * resolution;
  for (size_t i = 0; i < device.topic_values.size(); ++i) {
    row_[i] = Value::String(device.topic_values[i]);
  }
  row_[spec_.topic_fields.size()] = Value::Int(t);
  Read(device, &row_);
  RUNNEL_RETURN_IF_ERROR(topic_.Render(row_, &out->topic));
  RUNNEL_RETURN_IF_ERROR(encoder_->Encode(row_, &out->payload));
  if (kind == MessageKind::kMalformed) {
    Break(&out->payload);
    return Status::Ok();
  }
  device.last_topic = out->topic;
  device.last_payload = out->payload;
  device.has_last = true;
  return Status::Ok();
}

}  // namespace runnel
