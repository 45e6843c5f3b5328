// User events, in Consul's shapes (agent/event_endpoint.go):
// PUT /v1/event/fire/<name> and GET /v1/event/list. Events travel by gossip,
// not through the catalog, so the list has its own index: Consul's, derived
// from the last event's ID (user_event_index), which is not monotonic. A
// blocking list therefore waits while the index equals ?index=, not while it
// is at or below it.

#include <charconv>

#include "agent/core/membership.h"
#include "agent/core/user_events.h"
#include "agent/http/api_internal.h"
#include "common/base64.h"
#include "common/uuid.h"

namespace roster::http {

namespace {

json event_json(const agent::UserEventInfo& event) {
  return json{{"ID", event.id},
              {"Name", event.name},
              {"Payload", event.payload.empty() ? json(nullptr) : json(base64_encode(event.payload))},
              {"NodeFilter", event.node_filter},
              {"ServiceFilter", event.service_filter},
              {"TagFilter", event.tag_filter},
              {"Version", event.version},
              {"LTime", event.ltime}};
}

}  // namespace

HandleResult handle_event_fire(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing name: use /v1/event/fire/<name>");
  agent::Membership* membership = context.core.membership();
  if (membership == nullptr) return respond_error(503, "gossip is not running on this agent");
  agent::UserEventInfo event;
  event.id = generate_uuid_v4();
  event.name = context.rest;
  event.payload = context.request.body;
  event.node_filter = context.request.param("node").value_or("");
  event.service_filter = context.request.param("service").value_or("");
  event.tag_filter = context.request.param("tag").value_or("");
  if (Status valid = agent::validate_user_event(event); !valid.is_ok()) return respond_status(valid);
  if (Status fired = membership->fire_user_event(event); !fired.is_ok()) {
    HandleResult result = respond_status(fired);  // too_large: 413
    result.response = HttpResponse::error(result.response.status, "Failed to fire event: " + fired.message());
    return result;
  }
  // As in Consul, the answer is the event as fired: its Lamport time is
  // assigned by the pool and shows in /v1/event/list.
  event.ltime = 0;
  return respond_json(event_json(event));
}

HandleResult handle_event_list(Context& context) {
  const std::string name = context.request.param("name").value_or("");
  const std::vector<agent::UserEventInfo> events = context.core.user_events().list(name);
  // 1 for no events, as Consul does, so a watch does not spin on index 0.
  const uint64_t index = events.empty() ? 1 : std::max<uint64_t>(agent::user_event_index(events.back().id), 1);
  if (auto wanted_text = context.request.param("index"); wanted_text && !wanted_text->empty() &&
                                                         !context.blocking.expired) {
    uint64_t wanted = 0;  // api.cc has refused anything but a number
    std::from_chars(wanted_text->data(), wanted_text->data() + wanted_text->size(), wanted);
    if (wanted > 0 && wanted == index) {
      if (Status started = start_blocking(context); !started.is_ok()) return respond_status(started);
      if (context.core.clock().now() < context.blocking.deadline) {
        return HandleResult{HttpResponse{}, BlockingWait{{agent::kUserEventWatchKey}, context.blocking.deadline}};
      }
    }
  }
  json body = json::array();
  for (const agent::UserEventInfo& event : events) body.push_back(event_json(event));
  return respond(with_index_headers(HttpResponse::json(200, dump_json(body)), index));
}

}  // namespace roster::http
