#include "agent/raft/wire_codec.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <set>

#include "raft.pb.h"

namespace roster::raft {

namespace {

constexpr uint32_t kLastMessageType = static_cast<uint32_t>(MessageType::timeout_now);
constexpr uint32_t kLastEntryType = static_cast<uint32_t>(EntryType::configuration);

uint32_t read_length(std::string_view header) {
  uint32_t length = 0;
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) length = (length << 8) | static_cast<uint8_t>(header[i]);
  return length;
}

void to_proto(const Configuration& configuration, proto::RaftConfiguration* out) {
  for (const Server& server : configuration.servers) {
    proto::RaftServer* wire = out->add_servers();
    wire->set_id(server.id);
    wire->set_address(server.address);
    wire->set_voter(server.voter);
  }
}

void to_proto(const Message& message, proto::RaftMessage* out) {
  out->set_type(static_cast<uint32_t>(message.type));
  out->set_from(message.from);
  out->set_to(message.to);
  out->set_term(message.term);
  out->set_log_index(message.log_index);
  out->set_log_term(message.log_term);
  for (const Entry& entry : message.entries) {
    proto::RaftEntry* wire = out->add_entries();
    wire->set_term(entry.term);
    wire->set_index(entry.index);
    wire->set_type(static_cast<uint32_t>(entry.type));
    wire->set_data(entry.data);
  }
  out->set_leader_commit(message.leader_commit);
  out->set_leadership_transfer(message.leadership_transfer);
  out->set_success(message.success);
  out->set_match_index(message.match_index);
  out->set_conflict_index(message.conflict_index);
  out->set_conflict_term(message.conflict_term);
  out->set_read_round(message.read_round);
  const SnapshotMeta& meta = message.snapshot_meta;
  if (meta != SnapshotMeta{}) {
    proto::RaftSnapshotMeta* wire = out->mutable_snapshot_meta();
    wire->set_last_index(meta.last_index);
    wire->set_last_term(meta.last_term);
    to_proto(meta.configuration, wire->mutable_configuration());
  }
  out->set_snapshot_offset(message.snapshot_offset);
  out->set_snapshot_chunk(message.snapshot_chunk);
  out->set_snapshot_done(message.snapshot_done);
}

// Fills `out` from `wire`, or says what is wrong with it.
std::optional<std::string> from_proto(proto::RaftMessage& wire, Message* out) {
  if (wire.type() > kLastMessageType) return "unknown message type " + std::to_string(wire.type());
  out->type = static_cast<MessageType>(wire.type());
  if (wire.from() == kNoServer) return std::string("no sender");
  out->from = wire.from();
  out->to = wire.to();
  out->term = wire.term();
  out->log_index = wire.log_index();
  out->log_term = wire.log_term();
  // Entries must continue the log right after log_index; the core may rely
  // on it, so a peer cannot make it index past the end or walk terms back.
  if (static_cast<uint64_t>(wire.entries_size()) > std::numeric_limits<Index>::max() - wire.log_index()) {
    return std::string("entry indexes overflow");
  }
  out->entries.reserve(static_cast<size_t>(wire.entries_size()));
  Term previous_term = 0;
  for (int i = 0; i < wire.entries_size(); ++i) {
    proto::RaftEntry* entry = wire.mutable_entries(i);
    if (entry->type() > kLastEntryType) return "entry of unknown type " + std::to_string(entry->type());
    if (entry->index() != wire.log_index() + 1 + static_cast<uint64_t>(i)) {
      return "entry " + std::to_string(i) + " has index " + std::to_string(entry->index()) + ", expected " +
             std::to_string(wire.log_index() + 1 + static_cast<uint64_t>(i));
    }
    if (entry->term() < previous_term || entry->term() > wire.term()) {
      return "entry " + std::to_string(entry->index()) + " has term " + std::to_string(entry->term()) +
             " (previous entry's term " + std::to_string(previous_term) + ", message term " +
             std::to_string(wire.term()) + ")";
    }
    previous_term = entry->term();
    Entry& decoded = out->entries.emplace_back();
    decoded.term = entry->term();
    decoded.index = entry->index();
    decoded.type = static_cast<EntryType>(entry->type());
    decoded.data = std::move(*entry->mutable_data());
  }
  out->leader_commit = wire.leader_commit();
  out->leadership_transfer = wire.leadership_transfer();
  out->success = wire.success();
  out->match_index = wire.match_index();
  out->conflict_index = wire.conflict_index();
  out->conflict_term = wire.conflict_term();
  out->read_round = wire.read_round();
  if (wire.has_snapshot_meta()) {
    const proto::RaftSnapshotMeta& meta = wire.snapshot_meta();
    out->snapshot_meta.last_index = meta.last_index();
    out->snapshot_meta.last_term = meta.last_term();
    std::set<ServerId> seen;
    for (const proto::RaftServer& server : meta.configuration().servers()) {
      if (server.id() == kNoServer) return std::string("snapshot configuration lists a server without an ID");
      if (!seen.insert(server.id()).second) {
        return "snapshot configuration lists server " + std::to_string(server.id()) + " twice";
      }
      out->snapshot_meta.configuration.servers.push_back(Server{server.id(), server.address(), server.voter()});
    }
  }
  out->snapshot_offset = wire.snapshot_offset();
  out->snapshot_chunk = std::move(*wire.mutable_snapshot_chunk());
  out->snapshot_done = wire.snapshot_done();
  return std::nullopt;
}

// Untrusted text for a log line: bounded, control bytes escaped.
std::string printable(std::string_view text, size_t limit = 64) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : text.substr(0, limit)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  if (text.size() > limit) out += "...";
  return out;
}

DecodedFrame refuse(FrameError error, std::string detail, ServerId from = kNoServer) {
  DecodedFrame frame;
  frame.error = error;
  frame.detail = std::move(detail);
  frame.from = from;
  return frame;
}

}  // namespace

const char* frame_error_name(FrameError error) {
  switch (error) {
    case FrameError::none: return "none";
    case FrameError::oversized: return "oversized";
    case FrameError::truncated: return "truncated";
    case FrameError::malformed: return "malformed";
    case FrameError::foreign_cluster: return "foreign_cluster";
    case FrameError::unknown_kind: return "unknown_kind";
  }
  return "unknown";
}

std::string encode_frame(std::string_view cluster_id, const Message& message) {
  proto::RaftMessage body;
  to_proto(message, &body);
  proto::ServerFrame frame;
  frame.set_cluster_id(std::string(cluster_id));
  frame.set_from(message.from);
  frame.set_kind(proto::SERVER_FRAME_KIND_RAFT);
  frame.set_payload(body.SerializeAsString());
  body.Clear();

  const size_t size = frame.ByteSizeLong();
  assert(size <= std::numeric_limits<uint32_t>::max());
  const auto length = static_cast<uint32_t>(size);
  std::string out;
  out.reserve(kFrameHeaderBytes + size);
  out.push_back(static_cast<char>(length >> 24));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  frame.AppendToString(&out);
  return out;
}

DecodedFrame decode_frame_payload(std::string_view cluster_id, std::string_view payload, bool serve_rpc) {
  proto::ServerFrame frame;
  if (payload.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !frame.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return refuse(FrameError::malformed, "not a server frame");
  }
  const ServerId from = frame.from();
  if (frame.cluster_id() != cluster_id) {
    return refuse(FrameError::foreign_cluster,
                  "from cluster \"" + printable(frame.cluster_id()) + "\", this is \"" + printable(cluster_id) + "\"",
                  from);
  }
  if (serve_rpc &&
      (frame.kind() == proto::SERVER_FRAME_KIND_RPC_REQUEST || frame.kind() == proto::SERVER_FRAME_KIND_RPC_RESPONSE)) {
    DecodedFrame decoded;
    decoded.from = from;
    decoded.kind =
        frame.kind() == proto::SERVER_FRAME_KIND_RPC_REQUEST ? FrameKind::rpc_request : FrameKind::rpc_response;
    decoded.rpc_payload = std::move(*frame.mutable_payload());
    return decoded;
  }
  if (frame.kind() != proto::SERVER_FRAME_KIND_RAFT) {
    return refuse(FrameError::unknown_kind, "frame kind " + std::to_string(frame.kind()) + " is not served here",
                  from);
  }
  proto::RaftMessage body;
  if (!body.ParseFromString(frame.payload())) return refuse(FrameError::malformed, "not a Raft message", from);
  frame.Clear();
  DecodedFrame decoded;
  decoded.from = from;
  if (auto invalid = from_proto(body, &decoded.message)) {
    return refuse(FrameError::malformed, "invalid Raft message: " + *invalid, from);
  }
  if (decoded.message.from != from) {
    return refuse(FrameError::malformed,
                  "frame from server " + std::to_string(from) + " carries a message from server " +
                      std::to_string(decoded.message.from),
                  from);
  }
  return decoded;
}

FrameReader::FrameReader(std::string cluster_id, size_t max_frame_bytes, bool serve_rpc)
    : cluster_id_(std::move(cluster_id)), max_frame_bytes_(max_frame_bytes), serve_rpc_(serve_rpc) {
  assert(max_frame_bytes_ <= kMaxFrameBytes);
}

void FrameReader::check_header() {
  if (oversized_length_ || buffered() < kFrameHeaderBytes) return;
  const uint32_t length = read_length(std::string_view(buffer_).substr(consumed_));
  if (length > max_frame_bytes_) {
    oversized_length_ = length;
    buffer_.clear();
    consumed_ = 0;
  }
}

void FrameReader::feed(std::string_view bytes) {
  if (failed()) return;
  // Drop what earlier frames used before growing, so the buffer holds one
  // frame plus one read.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  // Take the header on its own first, so an oversized announcement is caught
  // before any of its body is buffered.
  if (buffered() < kFrameHeaderBytes) {
    const size_t take = std::min(bytes.size(), kFrameHeaderBytes - buffered());
    buffer_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    check_header();
    if (failed()) return;
  }
  buffer_.append(bytes);
}

std::optional<DecodedFrame> FrameReader::next() {
  if (failed()) {
    if (oversized_reported_) return std::nullopt;
    oversized_reported_ = true;
    return refuse(FrameError::oversized, "frame of " + std::to_string(*oversized_length_) +
                                             " bytes exceeds the limit of " + std::to_string(max_frame_bytes_) +
                                             " bytes");
  }
  if (buffered() < kFrameHeaderBytes) return std::nullopt;
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  const uint32_t length = read_length(pending);
  if (length > max_frame_bytes_) {
    check_header();
    return next();
  }
  if (pending.size() - kFrameHeaderBytes < length) return std::nullopt;
  DecodedFrame decoded = decode_frame_payload(cluster_id_, pending.substr(kFrameHeaderBytes, length), serve_rpc_);
  consumed_ += kFrameHeaderBytes + length;
  // The next frame's header may be here already: refuse it now if it is
  // oversized, before its body is buffered by the next feed.
  check_header();
  return decoded;
}

std::optional<DecodedFrame> FrameReader::finish() const {
  if (failed() || buffered() == 0) return std::nullopt;
  std::string detail = "the connection closed " + std::to_string(buffered()) + " bytes into a frame";
  if (buffered() >= kFrameHeaderBytes) {
    detail += " of " + std::to_string(read_length(std::string_view(buffer_).substr(consumed_))) + " bytes";
  }
  return refuse(FrameError::truncated, std::move(detail));
}

}  // namespace roster::raft
