"""C++ protobuf libraries built with the system protoc (Debian's protobuf-compiler).

Bazel's own proto rules would download protobuf; this macro runs /usr/bin/protoc in a genrule
instead and links the system libprotobuf. Proto imports resolve against the `api/` folder and
/usr/include (for google/protobuf/*.proto).
"""

def remora_cc_proto_library(name, srcs, deps = [], visibility = None):
    hdrs = [s[:-len(".proto")] + ".pb.h" for s in srcs]
    ccs = [s[:-len(".proto")] + ".pb.cc" for s in srcs]
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [f for f in native.glob(["remora/**/*.proto"]) if f not in srcs],
        outs = hdrs + ccs,
        cmd = "protoc -I$$(dirname $(location {first}) | sed 's#/remora/.*##') -I/usr/include --cpp_out=$(@D) {files}".format(
            first = srcs[0],
            files = " ".join(["$(location " + s + ")" for s in srcs]),
        ),
    )
    native.cc_library(
        name = name,
        srcs = ccs,
        hdrs = hdrs,
        includes = ["."],
        copts = ["-Wno-unused-parameter"],
        linkopts = ["-l:libprotobuf.a", "-lz", "-lpthread"],
        # No .so of this library: the archive it links is not position-independent.
        linkstatic = True,
        deps = deps,
        visibility = visibility,
    )
