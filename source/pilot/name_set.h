#pragma once

// Resource names a discovery stream subscribes to, shared between streams.
//
// A proxy subscribes to endpoints by name, one name per cluster: at 10,000 services that is
// some 20,000 names, and most proxies of a mesh ask for the same ones. A NameSet is one
// immutable sorted set of names; NameSetTable hands out one shared NameSet per distinct
// content, so 1,000 streams asking for the same names hold one copy. A stream whose
// subscription changes makes a new set (copy on write) and interns that; a set no stream
// holds any more is freed and leaves the table.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace remora::pilot {

class NameSet {
 public:
  // `sorted_names` must be sorted and without duplicates (NameSetTable::intern sees to it).
  explicit NameSet(std::vector<std::string> sorted_names);

  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  bool empty() const { return names_.empty(); }
  bool contains(std::string_view name) const;
  // A hash of the content (equal sets, equal hash).
  size_t hash() const { return hash_; }

  // Sorts and removes duplicates, in place.
  static void normalize(std::vector<std::string>& names);
  static size_t hashOf(const std::vector<std::string>& sorted_names);

 private:
  std::vector<std::string> names_;
  size_t hash_;
};
using NameSetPtr = std::shared_ptr<const NameSet>;

// The intern table. Safe to call from any thread; the sets it returns may outlive it.
class NameSetTable {
 public:
  NameSetTable();
  // The shared set holding exactly `names` (any order, duplicates ignored): the one already
  // handed out if some holder still has it, else a new one.
  NameSetPtr intern(std::vector<std::string> names);
  // Sets currently alive (held by someone), for tests and metrics.
  size_t size() const;

 private:
  struct Table {
    std::mutex lock;
    struct Entry {
      const NameSet* set;  // identifies the entry once `weak` has expired
      std::weak_ptr<const NameSet> weak;
    };
    // By content hash; the entries are weak: the table never keeps a set alive.
    std::unordered_multimap<size_t, Entry> sets;
  };
  // Shared with the sets' deleters, which take their entry out when the last holder goes.
  std::shared_ptr<Table> table_;
};

}  // namespace remora::pilot
