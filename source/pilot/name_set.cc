#include "source/pilot/name_set.h"

#include "source/pilot/fingerprint.h"

#include <algorithm>

namespace remora::pilot {

NameSet::NameSet(std::vector<std::string> sorted_names)
    : names_(std::move(sorted_names)), hash_(hashOf(names_)) {}

bool NameSet::contains(std::string_view name) const {
  auto it = std::lower_bound(names_.begin(), names_.end(), name,
                             [](const std::string& a, std::string_view b) { return a < b; });
  return it != names_.end() && *it == name;
}

void NameSet::normalize(std::vector<std::string>& names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
}

size_t NameSet::hashOf(const std::vector<std::string>& sorted_names) {
  Fingerprint hash;
  hash.add(static_cast<uint64_t>(sorted_names.size()));
  for (const auto& name : sorted_names) hash.add(name);
  return hash.value();
}

NameSetTable::NameSetTable() : table_(std::make_shared<Table>()) {}

NameSetPtr NameSetTable::intern(std::vector<std::string> names) {
  NameSet::normalize(names);
  size_t hash = NameSet::hashOf(names);
  std::lock_guard<std::mutex> guard(table_->lock);
  auto [begin, end] = table_->sets.equal_range(hash);
  for (auto it = begin; it != end; ++it) {
    // A set whose last holder is just going (its deleter waits for this lock) is expired:
    // skipped, and a new one is made.
    if (auto set = it->second.weak.lock(); set && set->names() == names) return set;
  }
  std::weak_ptr<Table> weak_table = table_;
  NameSetPtr set(new NameSet(std::move(names)), [weak_table](const NameSet* gone) {
    if (auto table = weak_table.lock()) {
      std::lock_guard<std::mutex> guard(table->lock);
      auto [first, last] = table->sets.equal_range(gone->hash());
      // Only this set's own entry: an equal set made meanwhile has its own.
      for (auto it = first; it != last; ++it) {
        if (it->second.set == gone) {
          table->sets.erase(it);
          break;
        }
      }
    }
    delete gone;
  });
  table_->sets.emplace(hash, Table::Entry{set.get(), set});
  return set;
}

size_t NameSetTable::size() const {
  std::lock_guard<std::mutex> guard(table_->lock);
  size_t alive = 0;
  for (const auto& [hash, entry] : table_->sets) alive += entry.weak.expired() ? 0 : 1;
  return alive;
}

}  // namespace remora::pilot
