#include "source/pilot/document/shared_keys.h"

namespace remora::pilot {

SharedKeys& SharedKeys::instance() {
  // Never destroyed: documents may be read by other threads during exit.
  static SharedKeys* keys = new SharedKeys();
  return *keys;
}

SharedKeys::SharedKeys() : entries_(new std::string_view[kCapacity]) {}

std::optional<uint32_t> SharedKeys::intern(std::string_view key) {
  if (key.size() > kMaxLength) return std::nullopt;
  std::lock_guard lock(mutex_);
  if (auto found = ids_.find(key); found != ids_.end()) return found->second;
  if (storage_.size() >= kCapacity) return std::nullopt;
  const std::string& stored = storage_.emplace_back(key);
  auto id = static_cast<uint32_t>(storage_.size() - 1);
  entries_[id] = stored;
  ids_.emplace(stored, id);
  return id;
}

size_t SharedKeys::size() const {
  std::lock_guard lock(mutex_);
  return storage_.size();
}

}  // namespace remora::pilot
