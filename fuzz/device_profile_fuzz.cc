// libFuzzer target for device profiles: any text either fails to parse with a "FILE:LINE: "
// message, or yields a profile from which a payload decoder can always be built (the
// contract between config/ and decode/). The text is then decoded as a payload too, to reach
// the decoders through fuzzed specs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "app/profile_decoder.h"
#include "config/device_profile.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace runnel;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<DeviceProfile> profile = ParseDeviceProfile(text, "fuzz.toml");
  if (!profile.ok()) {
    Check(profile.status().message().starts_with("fuzz.toml:"));
    return 0;
  }
  Result<ProfileCodec> codec = BuildProfileCodec(*profile);
  Check(codec.ok());
  const std::vector<std::string_view> values(codec->topic.fields().size(), "dev");
  DecodedRecord record;
  const DecodeStatus status = codec->decoder->Decode(values, text, 7, &record);
  Check(status.ok() || !status.reason().empty());
  return 0;
}
