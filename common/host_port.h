#pragma once

// "ip:port" and "[ipv6]:port", as agents and servers address each other:
// by IP, never by name.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/ip/address.hpp>

namespace roster {

// nullopt unless `text` is an IP literal and a port in 1..65535.
std::optional<std::pair<boost::asio::ip::address, uint16_t>> split_host_port(const std::string& text);
std::string join_host_port(const boost::asio::ip::address& address, uint16_t port);

}  // namespace roster
