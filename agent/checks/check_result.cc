#include "agent/checks/check_result.h"

namespace roster::checks {

std::string truncate_output(std::string output, size_t max_bytes) {
  if (output.size() <= max_bytes) return output;
  size_t cut = max_bytes;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so the cut lands on a
  // character boundary; the output ends up in JSON bodies.
  while (cut > 0 && (static_cast<unsigned char>(output[cut]) & 0xC0) == 0x80) --cut;
  output.resize(cut);
  return output;
}

}  // namespace roster::checks
