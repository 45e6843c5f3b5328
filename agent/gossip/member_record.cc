#include "agent/gossip/member_record.h"

namespace roster::gossip {

std::shared_ptr<const MemberRecord> MemberRecordPool::intern(const std::string& name, const std::string& id,
                                                             const std::string& address, const TagMap& tags) {
  std::vector<std::shared_ptr<const MemberRecord>>& versions = by_name_[name];
  for (const auto& record : versions) {
    if (record->id == id && record->address == address && record->tags == tags) return record;
  }
  versions.push_back(std::make_shared<const MemberRecord>(MemberRecord{name, id, address, tags}));
  ++count_;
  return versions.back();
}

}  // namespace roster::gossip
