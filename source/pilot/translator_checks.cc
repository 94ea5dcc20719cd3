// The translator's validation of VirtualServices and DestinationRules: every field it uses is
// checked, and a problem is reported with the file, the object and the field.

#include <regex>

#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

bool Translator::checkVirtualService(const Object& vs) {
  Checker check{vs, errors_};
  const YamlView& spec = vs.view()["spec"];
  if (!spec["hosts"] || spec["hosts"].size() == 0) check.fail("spec.hosts", "required");
  const YamlView& http = spec["http"];
  for (size_t i = 0; i < http.size(); ++i) {
    std::string at = "spec.http[" + std::to_string(i) + "]";
    const YamlView& h = http[i];
    if (!h["route"] && !h["redirect"] && !h["directResponse"]) {
      check.fail(at, "needs route, redirect or directResponse");
    }
    uint32_t total = 0;
    for (size_t r = 0; r < h["route"].size(); ++r) {
      std::string rat = at + ".route[" + std::to_string(r) + "]";
      const YamlView& route = h["route"][r];
      if (str(route["destination"]["host"]).empty())
        check.fail(rat + ".destination.host", "required");
      if (route["weight"]) {
        int64_t weight = -1;
        try {
          weight = route["weight"].as<int64_t>();
        } catch (const YAML::Exception&) {
        }
        if (weight < 0 || weight > 100) {
          check.fail(rat + ".weight", "must be 0..100");
        } else {
          total += static_cast<uint32_t>(weight);
        }
      }
    }
    if (h["route"].size() > 1 && total != 100 && check.ok) {
      check.fail(at + ".route", "weights add up to " + std::to_string(total) + ", not 100");
    }
    for (size_t m = 0; m < h["match"].size(); ++m) {
      const YamlView& uri = h["match"][m]["uri"];
      if (uri && uri["regex"]) {
        try {
          std::regex probe(str(uri["regex"]));
        } catch (const std::regex_error&) {
          check.fail(at + ".match[" + std::to_string(m) + "].uri.regex", "not a valid regex");
        }
      }
    }
    check.duration(h["timeout"], at + ".timeout");
    check.duration(h["retries"]["perTryTimeout"], at + ".retries.perTryTimeout");
    if (h["retries"] && h["retries"]["attempts"]) {
      try {
        if (h["retries"]["attempts"].as<int64_t>() < 0)
          check.fail(at + ".retries.attempts", "must not be negative");
      } catch (const YAML::Exception&) {
        check.fail(at + ".retries.attempts", "must be a number");
      }
    }
    check.duration(h["fault"]["delay"]["fixedDelay"], at + ".fault.delay.fixedDelay");
    check.percentage(h["fault"]["delay"]["percentage"], at + ".fault.delay.percentage");
    check.percentage(h["fault"]["abort"]["percentage"], at + ".fault.abort.percentage");
    check.percentage(h["mirrorPercentage"], at + ".mirrorPercentage");
    if (h["fault"]["abort"] && h["fault"]["abort"]["httpStatus"]) {
      uint32_t status = h["fault"]["abort"]["httpStatus"].as<uint32_t>();
      if (status < 200 || status > 599)
        check.fail(at + ".fault.abort.httpStatus", "must be 200..599");
    }
  }
  return check.ok;
}

bool Translator::checkDestinationRule(const Object& dr) {
  Checker check{dr, errors_};
  const YamlView& spec = dr.view()["spec"];
  if (str(spec["host"]).empty()) check.fail("spec.host", "required");
  auto policy = [&](const YamlView& p, const std::string& at) {
    if (!p) return;
    std::string simple = str(p["loadBalancer"]["simple"]);
    if (!simple.empty() && simple != "ROUND_ROBIN" && simple != "LEAST_REQUEST" &&
        simple != "LEAST_CONN" && simple != "RANDOM" && simple != "UNSPECIFIED") {
      check.fail(at + ".loadBalancer.simple",
                 "\"" + simple + "\" is not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM)");
    }
    check.duration(p["connectionPool"]["tcp"]["connectTimeout"],
                   at + ".connectionPool.tcp.connectTimeout");
    check.duration(p["connectionPool"]["http"]["idleTimeout"],
                   at + ".connectionPool.http.idleTimeout");
    check.duration(p["outlierDetection"]["interval"], at + ".outlierDetection.interval");
    check.duration(p["outlierDetection"]["baseEjectionTime"],
                   at + ".outlierDetection.baseEjectionTime");
    check.duration(p["loadBalancer"]["consistentHash"]["httpCookie"]["ttl"],
                   at + ".loadBalancer.consistentHash.httpCookie.ttl");
    checkClientTls(check, p["tls"], at + ".tls");
  };
  policy(spec["trafficPolicy"], "spec.trafficPolicy");
  for (size_t i = 0; i < spec["subsets"].size(); ++i) {
    std::string at = "spec.subsets[" + std::to_string(i) + "]";
    if (str(spec["subsets"][i]["name"]).empty()) check.fail(at + ".name", "required");
    policy(spec["subsets"][i]["trafficPolicy"], at + ".trafficPolicy");
  }
  return check.ok;
}

}  // namespace remora::pilot
