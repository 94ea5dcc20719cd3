#pragma once

// A protobuf message kept as its wire bytes. A parsed message costs several times its wire size
// (an object per sub-message, a heap string per string field); resources that are kept only to
// be shown (/config_dump) or read again on rare paths (a warming cluster going live) are stored
// packed and parsed when needed.

#include <string>
#include <utility>

namespace remora::config {

template <class Message>
class PackedProto {
 public:
  PackedProto() = default;
  explicit PackedProto(const Message& message) { pack(message); }
  // `bytes` must be the wire form of a Message (e.g. an Any's value after a successful unpack).
  static PackedProto fromBytes(std::string bytes) {
    PackedProto packed;
    packed.bytes_ = std::move(bytes);
    packed.bytes_.shrink_to_fit();
    return packed;
  }

  void pack(const Message& message) {
    bytes_.clear();
    message.SerializeToString(&bytes_);
    bytes_.shrink_to_fit();
  }
  // Parses the bytes again; a default message when nothing was packed.
  Message unpack() const {
    Message message;
    message.ParseFromString(bytes_);
    return message;
  }
  size_t byteSize() const { return bytes_.size(); }

 private:
  std::string bytes_;
};

}  // namespace remora::config
