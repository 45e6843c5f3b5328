#include "agent/rpc/node_facts.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace roster::rpc {

std::string pretty_name_from_os_release(std::string_view text) {
  constexpr std::string_view kKey = "PRETTY_NAME=";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    std::string_view value = line.substr(kKey.size());
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    std::string out;
    for (size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      out += value[i];
    }
    return out;
  }
  return "";
}

deploy_records::NodeFacts read_node_facts(const std::string& hostname) {
  deploy_records::NodeFacts facts;
  facts.hostname = hostname;
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    std::ifstream in(path);
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    facts.os_release = pretty_name_from_os_release(text.str());
    break;
  }
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  facts.cpus = cpus > 0 ? static_cast<int>(cpus) : 0;
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) facts.memory_bytes = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
  return facts;
}

}  // namespace roster::rpc
