#pragma once

// Random (version 4) UUIDs, for node IDs and session IDs.

#include <string>
#include <string_view>

namespace roster {

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" in lower case, from /dev/urandom.
std::string generate_uuid_v4();
// True for 36 characters of hex digits with dashes at 8, 13, 18 and 23.
bool is_uuid(std::string_view text);

}  // namespace roster
