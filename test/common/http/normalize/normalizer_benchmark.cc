// ns per request for request normalization (path and authority) in each mode, on typical
// already-clean request targets and on ones that need rewriting. Not a test: run
// `bazel run -c opt //test/common/http/normalize:normalizer_benchmark`.

#include <benchmark/benchmark.h>

#include "source/common/http/normalize/authority_normalizer.h"
#include "source/common/http/normalize/path_normalizer.h"

namespace remora::http {
namespace {

// What services in a mesh typically see.
const char* const kCleanTargets[] = {
    "/",
    "/reviews/1",
    "/api/v1/namespaces/default/pods?limit=500&resourceVersion=0",
    "/productpage?u=normal",
    "/static/js/app.8f3c2a.min.js",
    "/grpc.health.v1.Health/Check",
    "/api/v2/orders/7f1e6c3a-8b2d-4c4e-9f0a-3b5d6e7f8a9b/items?page=3&sort=desc",
    "/v1/users/12345/settings/notifications",
};
const char* const kDirtyTargets[] = {
    "/public/../admin",
    "/%61pi/v1/./users//12345",
    "/static/%7euser/a%2dfile.js?x=%2e%2e",
    "/caf%c3%a9/menu/../today",
};
const char* const kAuthorities[] = {"reviews:9080", "reviews.default.svc.cluster.local:9080",
                                    "10.96.0.12:80", "productpage"};

template <size_t N>
void run(benchmark::State& state, const char* const (&targets)[N], PathNormalization mode) {
  PathNormalizationOptions options{mode, PathNormalizationOptions::defaultAction(mode)};
  size_t i = 0;
  for (auto _ : state) {
    PathResult path = normalizePath(targets[i % N], options);
    AuthorityResult authority = normalizeAuthority(kAuthorities[i % 4]);
    benchmark::DoNotOptimize(path);
    benchmark::DoNotOptimize(authority);
    ++i;
  }
}

void cleanNone(benchmark::State& s) { run(s, kCleanTargets, PathNormalization::kNone); }
void cleanBase(benchmark::State& s) { run(s, kCleanTargets, PathNormalization::kBase); }
void cleanMerge(benchmark::State& s) { run(s, kCleanTargets, PathNormalization::kMergeSlashes); }
void cleanDecode(benchmark::State& s) {
  run(s, kCleanTargets, PathNormalization::kDecodeAndMergeSlashes);
}
void dirtyNone(benchmark::State& s) { run(s, kDirtyTargets, PathNormalization::kNone); }
void dirtyBase(benchmark::State& s) { run(s, kDirtyTargets, PathNormalization::kBase); }
void dirtyMerge(benchmark::State& s) { run(s, kDirtyTargets, PathNormalization::kMergeSlashes); }

BENCHMARK(cleanNone);
BENCHMARK(cleanBase);
BENCHMARK(cleanMerge);
BENCHMARK(cleanDecode);
BENCHMARK(dirtyNone);
BENCHMARK(dirtyBase);
BENCHMARK(dirtyMerge);

}  // namespace
}  // namespace remora::http

BENCHMARK_MAIN();
