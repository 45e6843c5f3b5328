#include "common/open_files_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace roster {

Result<OpenFilesLimit> open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return Status::internal(std::string("cannot read the open-files limit: ") + std::strerror(errno));
  }
  return OpenFilesLimit{static_cast<uint64_t>(limit.rlim_cur), static_cast<uint64_t>(limit.rlim_max)};
}

Result<OpenFilesLimit> raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return Status::internal(std::string("cannot read the open-files limit: ") + std::strerror(errno));
  }
  if (limit.rlim_cur != limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      return Status::internal("cannot raise the open-files limit from " + std::to_string(limit.rlim_cur) + " to " +
                              std::to_string(limit.rlim_max) + ": " + std::strerror(errno));
    }
  }
  return open_files_limit();
}

}  // namespace roster
