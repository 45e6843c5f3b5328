#include "tests/agent/cli/fake_agent.h"

#include <functional>
#include <mutex>
#include <thread>
#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace roster::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct FakeAgent::State {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex mutex;
  std::map<std::pair<std::string, std::string>, CannedResponse> routes;
  std::vector<RecordedRequest> requests;

  void accept();
  CannedResponse answer(const http::request<http::string_body>& request);
};

namespace {

using Handler = std::function<CannedResponse(const http::request<http::string_body>&)>;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Handler handler) : stream_(std::move(socket)), handler_(std::move(handler)) {}

  void start() {
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) return;
    CannedResponse canned = handler_(request_);
    response_.result(static_cast<unsigned>(canned.status));
    response_.version(request_.version());
    response_.set(http::field::content_type, canned.content_type);
    response_.keep_alive(false);
    response_.body() = canned.body;
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  Handler handler_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

}  // namespace

void FakeAgent::State::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    std::make_shared<Session>(std::move(socket), [this](const auto& request) { return answer(request); })->start();
    accept();
  });
}

CannedResponse FakeAgent::State::answer(const http::request<http::string_body>& request) {
  RecordedRequest recorded;
  recorded.method = std::string(request.method_string());
  recorded.target = std::string(request.target());
  const size_t question = recorded.target.find('?');
  recorded.path = recorded.target.substr(0, question);
  recorded.query = question == std::string::npos ? "" : recorded.target.substr(question + 1);
  recorded.body = request.body();
  for (const auto& field : request) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    recorded.headers[name] = std::string(field.value());
  }
  std::lock_guard lock(mutex);
  requests.push_back(recorded);
  auto route = routes.find({recorded.method, recorded.path});
  if (route == routes.end()) return CannedResponse{404, "no route", "text/plain"};
  return route->second;
}

FakeAgent::FakeAgent() : state_(std::make_unique<State>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  state_->accept();
  state_->thread = std::thread([state = state_.get()] { state->io.run(); });
}

FakeAgent::~FakeAgent() {
  state_->io.stop();
  state_->thread.join();
}

std::string FakeAgent::address() const {
  return "127.0.0.1:" + std::to_string(state_->acceptor.local_endpoint().port());
}

void FakeAgent::on(const std::string& method, const std::string& path, CannedResponse response) {
  std::lock_guard lock(state_->mutex);
  state_->routes[{method, path}] = std::move(response);
}

std::vector<RecordedRequest> FakeAgent::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

struct SilentListener::State {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
};

SilentListener::SilentListener() : state_(std::make_unique<State>()) {}
SilentListener::~SilentListener() = default;

std::string SilentListener::address() const {
  return "127.0.0.1:" + std::to_string(state_->acceptor.local_endpoint().port());
}

}  // namespace roster::testing
