// The fake API server's stored objects: create, read, update with optimistic concurrency on
// resourceVersion, delete; enough of the API's write semantics for a Lease and ConfigMaps.
#include <algorithm>

#include "source/pilot/kubernetes/json_value.h"
#include "test/pilot/kubernetes/fake_api_server.h"

namespace remora::pilot::kubernetes::testing {

namespace {

std::string statusBody(int code, const std::string& reason) {
  return R"({"kind":"Status","status":"Failure","code":)" + std::to_string(code) +
         R"(,"reason":")" + reason + R"("})";
}

// `object` with metadata.resourceVersion set to `version` (other members kept in order).
std::string withResourceVersion(const JsonValue& object, const std::string& version) {
  std::string out = "{";
  bool had_metadata = false;
  for (const auto& [key, value] : object.members()) {
    out += (out.size() > 1 ? "," : "") + JsonValue::quote(key) + ":";
    if (key != "metadata") {
      out += value.serialize();
      continue;
    }
    had_metadata = true;
    out += "{";
    for (const auto& [field, field_value] : value.members()) {
      if (field != "resourceVersion") {
        out += JsonValue::quote(field) + ":" + field_value.serialize() + ",";
      }
    }
    out += R"("resourceVersion":)" + JsonValue::quote(version) + "}";
  }
  if (!had_metadata) {
    out += std::string(out.size() > 1 ? "," : "") + R"("metadata":{"resourceVersion":)" +
           JsonValue::quote(version) + "}";
  }
  return out + "}";
}

}  // namespace

std::string FakeApiServer::storeWithNextVersion(const std::string& path,
                                                const std::string& object_json) {
  auto parsed = JsonValue::parse(object_json);
  std::string version = std::to_string(++next_resource_version_);
  objects_[path] = withResourceVersion(parsed.ok() ? parsed.value() : JsonValue(), version);
  return objects_[path];
}

bool FakeApiServer::handleStored(const RecordedRequest& request, int& status, std::string& body) {
  auto stored_collection = [&](const std::string& collection) {
    return std::find(stored_collections_.begin(), stored_collections_.end(), collection) !=
           stored_collections_.end();
  };
  std::string parent = request.path.substr(0, request.path.rfind('/'));
  if (request.method == "POST" && stored_collection(request.path)) {
    auto object = JsonValue::parse(request.body);
    std::string name = object.ok() ? object.value().get("metadata").get("name").asString() : "";
    if (name.empty()) {
      status = 400;
      body = statusBody(400, "BadRequest");
    } else if (objects_.count(request.path + "/" + name)) {
      ++conflicts_;
      status = 409;
      body = statusBody(409, "AlreadyExists");
    } else {
      status = 201;
      body = storeWithNextVersion(request.path + "/" + name, request.body);
    }
    return true;
  }
  if (!stored_collection(parent)) {
    return false;
  }
  auto found = objects_.find(request.path);
  if (found == objects_.end()) {
    status = 404;
    body = statusBody(404, "NotFound");
    return true;
  }
  if (request.method == "GET") {
    status = 200;
    body = found->second;
  } else if (request.method == "DELETE") {
    objects_.erase(found);
    status = 200;
    body = statusBody(200, "");
  } else if (request.method == "PUT") {
    auto conflict =
        std::find(conflict_next_update_.begin(), conflict_next_update_.end(), request.path);
    if (conflict != conflict_next_update_.end()) {
      conflict_next_update_.erase(conflict);
      storeWithNextVersion(request.path, found->second);  // another writer got there first
    }
    auto object = JsonValue::parse(request.body);
    std::string sent =
        object.ok() ? object.value().get("metadata").get("resourceVersion").asString() : "";
    auto current = JsonValue::parse(objects_[request.path]);
    if (sent != current.value().get("metadata").get("resourceVersion").asString()) {
      ++conflicts_;
      status = 409;
      body = statusBody(409, "Conflict");
    } else {
      status = 200;
      body = storeWithNextVersion(request.path, request.body);
    }
  } else {
    status = 405;
    body = statusBody(405, "MethodNotAllowed");
  }
  return true;
}

void FakeApiServer::storeCollection(const std::string& collection) {
  std::lock_guard lock(mutex_);
  stored_collections_.push_back(collection);
}

std::string FakeApiServer::putObject(const std::string& path, const std::string& object_json) {
  std::lock_guard lock(mutex_);
  auto stored = JsonValue::parse(storeWithNextVersion(path, object_json));
  return stored.value().get("metadata").get("resourceVersion").asString();
}

std::string FakeApiServer::object(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto found = objects_.find(path);
  return found == objects_.end() ? "" : found->second;
}

void FakeApiServer::conflictNextUpdate(const std::string& path) {
  std::lock_guard lock(mutex_);
  conflict_next_update_.push_back(path);
}

size_t FakeApiServer::conflicts() const {
  std::lock_guard lock(mutex_);
  return conflicts_;
}

}  // namespace remora::pilot::kubernetes::testing
