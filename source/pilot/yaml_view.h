#pragma once

// Read-only, forgiving access to parsed YAML: a missing key or index gives an empty view
// instead of throwing (yaml-cpp throws when a lookup is chained through a missing key), so
// optional nested fields read as plainly as `rule["spec"]["trafficPolicy"]["loadBalancer"]`.
// Conversions (as<T>()) still throw YAML::Exception on values of the wrong kind; the
// translator reports those against the object.

#include <yaml-cpp/yaml.h>

#include <string>

namespace remora::pilot {

struct YamlEntry;

class YamlView {
 public:
  YamlView() = default;
  explicit YamlView(const YAML::Node& node) : node_(node) {}
  YamlView(const YamlView&) = default;
  // Points the view elsewhere. YAML::Node's own assignment would instead write the other
  // node's content into the document this view points into.
  YamlView& operator=(const YamlView& other) {
    node_.reset(other.node_);
    return *this;
  }

  YamlView operator[](const std::string& key) const {
    if (!node_ || !node_.IsMap()) return {};
    YAML::Node child = node_[key];
    return child ? YamlView(child) : YamlView();
  }
  YamlView operator[](const char* key) const { return (*this)[std::string(key)]; }
  YamlView operator[](size_t index) const {
    if (!node_ || !node_.IsSequence() || index >= node_.size()) return {};
    return YamlView(node_[index]);
  }

  // Present and not null.
  explicit operator bool() const { return node_ && !node_.IsNull(); }
  bool isMap() const { return node_ && node_.IsMap(); }
  bool isSequence() const { return node_ && node_.IsSequence(); }
  // Elements of a sequence or entries of a map; 0 otherwise.
  size_t size() const { return node_ && (node_.IsSequence() || node_.IsMap()) ? node_.size() : 0; }
  template <class T>
  T as() const {
    return node_.as<T>();
  }
  // A scalar's text; "" for anything else.
  std::string str() const { return node_ && node_.IsScalar() ? node_.as<std::string>() : ""; }
  const YAML::Node& node() const { return node_; }

  // Iteration: a sequence's elements, or a map's entries (first = key, second = value).
  class Iterator {
   public:
    explicit Iterator(YAML::const_iterator it) : it_(it) {}
    YamlEntry operator*() const;
    Iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return it_ != other.it_; }

   private:
    YAML::const_iterator it_;
  };
  Iterator begin() const { return Iterator(size() ? node_.begin() : YAML::const_iterator()); }
  Iterator end() const { return Iterator(size() ? node_.end() : YAML::const_iterator()); }

 private:
  YAML::Node node_{YAML::NodeType::Undefined};
};

struct YamlEntry : YamlView {
  YamlView first;
  YamlView second;
};

inline YamlEntry YamlView::Iterator::operator*() const {
  YamlEntry e;
  if (it_->first) {
    e.first = YamlView(it_->first);
    e.second = YamlView(it_->second);
  } else {
    static_cast<YamlView&>(e) = YamlView(static_cast<const YAML::Node&>(*it_));
  }
  return e;
}

}  // namespace remora::pilot
