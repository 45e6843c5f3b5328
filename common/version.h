#pragma once

// Roster's release version, shared by the agent, the CLI and roster-deploy.

namespace roster {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace roster
