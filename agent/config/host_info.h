#pragma once

// What the agent's defaults need to know about the machine it runs on. Read
// once by main and passed in, so the defaults themselves stay pure and testable.

#include <string>
#include <vector>

namespace roster::config {

struct HostInfo {
  std::string hostname;                       // empty if it could not be read
  std::vector<std::string> private_ipv4;      // RFC 1918 and RFC 6598 addresses of up interfaces
};

// gethostname() and getifaddrs(); never fails, missing facts are left empty.
HostInfo read_host_info();

// True for 10/8, 172.16/12, 192.168/16 and 100.64/10 (carrier-grade NAT).
bool is_private_ipv4(const std::string& address);

}  // namespace roster::config
