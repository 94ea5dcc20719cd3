#pragma once

// Base64url without padding (RFC 4648 section 5, as JWS uses it).

#include <optional>
#include <string>
#include <string_view>

namespace remora::pilot::ca {

std::string base64UrlEncode(std::string_view bytes);

// The bytes `text` encodes, or nullopt when it is not unpadded base64url: a character outside
// [A-Za-z0-9_-] (padding '=' included), or a length that no encoding has (4n+1).
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace remora::pilot::ca
