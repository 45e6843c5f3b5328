#include "agent/config/host_info.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace roster::config {

bool is_private_ipv4(const std::string& address) {
  in_addr parsed{};
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) return false;
  const uint32_t ip = ntohl(parsed.s_addr);
  auto in = [ip](uint32_t network, int prefix) { return (ip >> (32 - prefix)) == (network >> (32 - prefix)); };
  return in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16) || in(0x64400000, 10);
}

HostInfo read_host_info() {
  HostInfo info;
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) == 0) info.hostname = name;

  ifaddrs* interfaces = nullptr;
  if (getifaddrs(&interfaces) != 0) return info;
  for (ifaddrs* entry = interfaces; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    if ((entry->ifa_flags & IFF_UP) == 0 || (entry->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    if (inet_ntop(AF_INET, &address->sin_addr, text, sizeof(text)) == nullptr) continue;
    if (is_private_ipv4(text) &&
        std::find(info.private_ipv4.begin(), info.private_ipv4.end(), text) == info.private_ipv4.end()) {
      info.private_ipv4.emplace_back(text);
    }
  }
  freeifaddrs(interfaces);
  return info;
}

}  // namespace roster::config
