#include "agent/rpc/own_node_watch.h"

#include <nlohmann/json.hpp>

#include <charconv>

namespace roster::rpc {

namespace {
constexpr auto kRetryAfter = std::chrono::seconds(2);
}  // namespace

OwnNodeWatch::OwnNodeWatch(boost::asio::io_context& io, std::string node,
                           std::function<void(const http::HttpRequest&, http::Respond)> query,
                           std::function<void(catalog::TagMap)> on_tags)
    : node_(std::move(node)), query_(std::move(query)), on_tags_(std::move(on_tags)), retry_(io) {}

OwnNodeWatch::~OwnNodeWatch() {
  *alive_ = false;
  stop();
}

void OwnNodeWatch::start() {
  running_ = true;
  ask();
}

void OwnNodeWatch::stop() {
  running_ = false;
  retry_.cancel();
}

void OwnNodeWatch::ask() {
  if (!running_) return;
  http::HttpRequest request;
  request.method = "GET";
  request.path = "/v1/catalog/node/" + node_;
  request.headers["host"] = "localhost";
  request.query = {{"index", std::to_string(index_)}, {"wait", "5m"}};
  query_(request, [this, alive = std::weak_ptr<bool>(alive_)](http::HttpResponse response) {
    if (alive.expired() || !running_) return;
    if (response.status != 200) return retry_later();
    for (const auto& [name, value] : response.headers) {
      if (name != "X-Consul-Index") continue;
      uint64_t index = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), index);
      if (error == std::errc() && end == value.data() + value.size()) {
        // An index that went backwards (a restored snapshot) starts over.
        index_ = index < index_ ? 0 : index;
      }
    }
    nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    const nlohmann::json* meta = body.is_object() && body.contains("Node") && body["Node"].is_object() &&
                                         body["Node"].contains("Meta") && body["Node"]["Meta"].is_object()
                                     ? &body["Node"]["Meta"]
                                     : nullptr;
    if (meta == nullptr) return retry_later();  // not registered yet
    catalog::TagMap tags;
    for (auto it = meta->begin(); it != meta->end(); ++it) {
      if (it->is_string()) tags[it.key()] = it->get<std::string>();
    }
    on_tags_(std::move(tags));
    ask();
  });
}

void OwnNodeWatch::retry_later() {
  retry_.expires_after(kRetryAfter);
  retry_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
    if (error || alive.expired()) return;
    ask();
  });
}

}  // namespace roster::rpc
