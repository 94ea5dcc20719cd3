// The JSON text reader behind JsonValue::parse: recursive descent over the text, building
// the value in place; a friend of JsonValue so that values need no public setters.
#include "source/pilot/kubernetes/json_value.h"

#include <cstdint>

namespace remora::pilot::kubernetes {

using crypto::Error;

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  crypto::Result<JsonValue> parseDocument() {
    JsonValue value;
    skipSpace();
    if (!parseValue(value, 0)) {
      return Error{error_};
    }
    skipSpace();
    if (pos_ != text_.size()) {
      return Error{at("unexpected text after the value")};
    }
    return value;
  }

 private:
  std::string at(std::string_view what) const {
    return "JSON at byte " + std::to_string(pos_) + ": " + std::string(what);
  }
  bool fail(std::string_view what) {
    if (error_.empty()) {
      error_ = at(what);
    }
    return false;
  }
  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      return fail("unknown literal");
    }
    pos_ += word.size();
    return true;
  }

  bool parseValue(JsonValue& out, int depth) {
    if (depth > JsonValue::kMaxDepth) {
      return fail("nested too deeply");
    }
    if (pos_ >= text_.size()) {
      return fail("unexpected end of text");
    }
    switch (text_[pos_]) {
      case '{':
        return parseObject(out, depth);
      case '[':
        return parseArray(out, depth);
      case '"':
        return parseString(out.becomeText(JsonValue::Type::kString));
      case 't':
        out.becomeBool(true);
        return literal("true");
      case 'f':
        out.becomeBool(false);
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return parseNumber(out);
    }
  }

  bool parseObject(JsonValue& out, int depth) {
    JsonValue::Members& members = out.becomeObject();
    ++pos_;  // '{'
    skipSpace();
    if (consume('}')) {
      return true;
    }
    while (true) {
      skipSpace();
      std::string key;
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        return fail("expected a member name");
      }
      if (!parseString(key)) {
        return false;
      }
      skipSpace();
      if (!consume(':')) {
        return fail("expected ':'");
      }
      skipSpace();
      members.emplace_back(std::move(key), JsonValue());
      if (!parseValue(members.back().second, depth + 1)) {
        return false;
      }
      skipSpace();
      if (consume('}')) {
        members.shrink_to_fit();  // values are kept for long: no growth slack
        return true;
      }
      if (!consume(',')) {
        return fail("expected ',' or '}'");
      }
    }
  }

  bool parseArray(JsonValue& out, int depth) {
    std::vector<JsonValue>& elements = out.becomeArray();
    ++pos_;  // '['
    skipSpace();
    if (consume(']')) {
      return true;
    }
    while (true) {
      skipSpace();
      elements.emplace_back();
      if (!parseValue(elements.back(), depth + 1)) {
        return false;
      }
      skipSpace();
      if (consume(']')) {
        elements.shrink_to_fit();
        return true;
      }
      if (!consume(',')) {
        return fail("expected ',' or ']'");
      }
    }
  }

  bool parseHex4(uint32_t& code) {
    if (pos_ + 4 > text_.size()) {
      return fail("truncated \\u escape");
    }
    code = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      code <<= 4;
      if (c >= '0' && c <= '9') {
        code |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        code |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        code |= c - 'A' + 10;
      } else {
        return fail("bad \\u escape");
      }
    }
    return true;
  }

  static void appendUtf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  bool parseString(std::string& out) {
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') {
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return fail("control character in string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) {
        break;
      }
      char escape = text_[pos_++];
      switch (escape) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t code = 0;
          if (!parseHex4(code)) {
            return false;
          }
          // A high surrogate must pair with a low one; lone surrogates become U+FFFD.
          if (code >= 0xD800 && code <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
            size_t saved = pos_;
            pos_ += 2;
            uint32_t low = 0;
            if (!parseHex4(low)) {
              return false;
            }
            if (low >= 0xDC00 && low <= 0xDFFF) {
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            } else {
              pos_ = saved;
              code = 0xFFFD;
            }
          } else if (code >= 0xD800 && code <= 0xDFFF) {
            code = 0xFFFD;
          }
          appendUtf8(out, code);
          break;
        }
        default:
          return fail("bad escape in string");
      }
    }
    return fail("unterminated string");
  }

  bool parseNumber(JsonValue& out) {
    size_t start = pos_;
    consume('-');
    auto digits = [&] {
      size_t before = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        ++pos_;
      }
      return pos_ > before;
    };
    if (!digits()) {
      pos_ = start;
      return fail("expected a value");
    }
    if (consume('.') && !digits()) {
      return fail("expected digits after '.'");
    }
    if (consume('e') || consume('E')) {
      if (!consume('+')) {
        consume('-');
      }
      if (!digits()) {
        return fail("expected exponent digits");
      }
    }
    out.becomeText(JsonValue::Type::kNumber) = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

crypto::Result<JsonValue> JsonValue::parse(std::string_view text) {
  return JsonParser(text).parseDocument();
}

}  // namespace remora::pilot::kubernetes
