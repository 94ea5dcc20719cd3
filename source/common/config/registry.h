#pragma once

// Process-wide registry of named factories, filled by static registration objects in each
// filter library (linked with alwayslink so the registration runs). Read-only after main()
// starts, so lookups need no lock.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace remora::config {

template <class Factory>
class Registry {
 public:
  // Adds `factory` under factory->name(). Two factories with one name is a build mistake.
  static void add(std::unique_ptr<Factory> factory) {
    std::string name = factory->name();
    auto [it, inserted] = factories().emplace(name, std::move(factory));
    if (!inserted) {
      std::fprintf(stderr, "duplicate factory registration: %s\n", name.c_str());
      std::abort();
    }
  }

  static const Factory* find(std::string_view name) {
    auto it = factories().find(std::string(name));
    return it == factories().end() ? nullptr : it->second.get();
  }

  static std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& [name, factory] : factories()) out.push_back(name);
    return out;
  }

 private:
  // Function-local static: safe to use from other translation units' static initialisers.
  static std::map<std::string, std::unique_ptr<Factory>, std::less<>>& factories() {
    static auto* map = new std::map<std::string, std::unique_ptr<Factory>, std::less<>>();
    return *map;
  }
};

// `static RegisterFactory<Impl, Base> registered;` in a filter's .cc registers it at load time.
template <class Impl, class Base>
class RegisterFactory {
 public:
  RegisterFactory() { Registry<Base>::add(std::make_unique<Impl>()); }
};

}  // namespace remora::config
