#pragma once

// The compiled parts of a policy rule: Sources, Operations and Conditions become sets of field
// matchers over attributes of an AuthorizationRequest. Values are parsed and validated once,
// at config time (CIDRs to bytes, ports to numbers, patterns to StringMatchers); matching
// does not allocate.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "remora/config/rbac/v1/rbac.pb.h"
#include "source/common/rbac/authorization_request.h"
#include "source/common/rbac/cidr.h"
#include "source/common/rbac/string_matcher.h"
#include "source/interface/config/errors.h"

namespace remora::rbac {

// The request attribute a field looks at.
enum class Attribute : uint8_t {
  // The peer's SPIFFE ID without "spiffe://".
  kPrincipal,
  // The namespace in the peer's SPIFFE ID.
  kNamespace,
  kSourceIp,
  // remote_ip, else source_ip.
  kRemoteIp,
  kDestinationIp,
  kDestinationPort,
  kSni,
  // HTTP only from here on.
  kRequestPrincipal,
  kHost,
  kMethod,
  kPath,
  kHeader,
};

// Whether the attribute exists only for HTTP requests.
constexpr bool isHttpOnly(Attribute attribute) { return attribute >= Attribute::kRequestPrincipal; }

// One Source or Operation field, or one half of a Condition: values of one attribute. A
// positive field matches when the attribute is present and any value matches it; a negated
// one (not_*) when no value matches, in particular when the attribute is absent.
class FieldMatcher {
 public:
  // Validates every value (errors under "<path>[i]"). `header` is the lowercase header name
  // for kHeader. Returns false when a value is invalid.
  bool init(Attribute attribute, bool negated,
            const google::protobuf::RepeatedPtrField<std::string>& values, const std::string& path,
            config::Errors& errors, std::string header = {});

  bool matches(const AuthorizationRequest& request) const;
  bool httpOnly() const { return isHttpOnly(attribute_); }
  Attribute attribute() const { return attribute_; }
  bool negated() const { return negated_; }

 private:
  bool anyMatches(const AuthorizationRequest& request) const;
  bool anyString(std::string_view value) const;
  bool anyCidr(const IpAddress& address) const;

  Attribute attribute_ = Attribute::kPrincipal;
  bool negated_ = false;
  std::string header_;
  // Exactly one is used, by the attribute's kind.
  std::vector<StringMatcher> strings_;
  std::vector<CidrRange> cidrs_;
  std::vector<uint16_t> ports_;
};

// Field matchers that must all match: one Source, one Operation, or a rule's conditions.
class FieldSet {
 public:
  // `skip_http_only`: match as if the HTTP-only fields were absent.
  bool matches(const AuthorizationRequest& request, bool skip_http_only) const;
  bool httpOnly() const;
  std::vector<FieldMatcher>& fields() { return fields_; }
  const std::vector<FieldMatcher>& fields() const { return fields_; }

 private:
  std::vector<FieldMatcher> fields_;
};

// Errors are reported under `path` (e.g. "policies[1].rules[0].from[0]").
FieldSet compileSource(const config::rbac::v1::Source& proto, const std::string& path,
                       config::Errors& errors);
FieldSet compileOperation(const config::rbac::v1::Operation& proto, const std::string& path,
                          config::Errors& errors);
// Adds the condition's matchers (one for values, one for not_values) to `into`.
void compileCondition(const config::rbac::v1::Condition& proto, const std::string& path,
                      config::Errors& errors, FieldSet& into);

// One rule: some `from` AND some `to` AND every `when` (empty lists match).
class RuleMatcher {
 public:
  static RuleMatcher compile(const config::rbac::v1::Rule& proto, const std::string& path,
                             config::Errors& errors);

  // For a TCP connection (request.is_http false) a rule using HTTP-only fields never matches
  // unless `conservative` (DENY and AUDIT policies), in which case it is matched as if those
  // fields were absent: Istio's translation, which narrows what ALLOW admits and widens what
  // DENY rejects, so a missing HTTP attribute never lets traffic through.
  bool matches(const AuthorizationRequest& request, bool conservative) const;
  bool httpOnly() const { return http_only_; }

 private:
  std::vector<FieldSet> from_;
  std::vector<FieldSet> to_;
  FieldSet when_;
  // Whether any field uses an HTTP-only attribute.
  bool http_only_ = false;
};

}  // namespace remora::rbac
