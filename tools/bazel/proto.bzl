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

    # The same generated code against the shared libprotobuf, for binaries that also link
    # Debian's gRPC (which links the shared library: one program must not carry both).
    native.cc_library(
        name = name + "_shared",
        srcs = ccs,
        hdrs = hdrs,
        includes = ["."],
        copts = ["-Wno-unused-parameter"],
        linkopts = ["-lprotobuf", "-lpthread"],
        deps = [d + "_shared" for d in deps],
        visibility = visibility,
    )

def remora_cc_grpc_library(name, src, deps):
    """gRPC C++ service code for one proto (Debian's grpc_cpp_plugin), on the shared protobuf.

    `deps` are remora_cc_proto_library targets; their _shared variants are linked.
    """
    base = src[:-len(".proto")]
    native.genrule(
        name = name + "_gen",
        srcs = [src] + [f for f in native.glob(["remora/**/*.proto"]) if f != src],
        outs = [base + ".grpc.pb.h", base + ".grpc.pb.cc"],
        cmd = "protoc -I$$(dirname $(location {src}) | sed 's#/remora/.*##') -I/usr/include --grpc_out=$(@D) --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin $(location {src})".format(src = src),
    )
    native.cc_library(
        name = name,
        srcs = [base + ".grpc.pb.cc"],
        hdrs = [base + ".grpc.pb.h"],
        includes = ["."],
        copts = ["-Wno-unused-parameter"],
        linkopts = ["-lgrpc++", "-lgrpc", "-lgpr", "-labsl_synchronization", "-lprotobuf", "-lpthread"],
        deps = [d + "_shared" for d in deps],
        visibility = ["//visibility:public"],
    )
