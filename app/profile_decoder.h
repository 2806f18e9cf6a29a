// Device profile -> payload decoding: translates a DeviceProfile (config/) into the decode
// module's PayloadSpec and TopicTemplate, so that neither module depends on the other. The
// MQTT source builds one ProfileCodec per source: Filter() to subscribe, Match() to bind the
// topic fields, Decode() for each payload. Pure functions; the codec is used by one thread.
#pragma once

#include <memory>

#include "config/device_profile.h"
#include "decode/payload_decoder.h"
#include "decode/topic_template.h"
#include "runtime/status.h"

namespace runnel {

// The decode-level description of `profile`: topic fields in template order, the time column
// right after them, then the profile's fields in written order (a declared time field moves
// to the time column).
Result<PayloadSpec> PayloadSpecFromProfile(const DeviceProfile& profile);

struct ProfileCodec {
  TopicTemplate topic;                      // the profile's subscription template
  std::unique_ptr<PayloadDecoder> decoder;  // schema(): topic fields, time, payload fields
};

// Errors (which a parsed profile should never produce) name the profile file.
Result<ProfileCodec> BuildProfileCodec(const DeviceProfile& profile);

}  // namespace runnel
