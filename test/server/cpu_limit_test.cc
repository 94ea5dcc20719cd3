#include "source/server/cpu_limit.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace remora::server {
namespace {

namespace fs = std::filesystem;

// A fake cgroup mount and /proc/self/cgroup in a fresh temporary directory.
class CgroupTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string base = (fs::temp_directory_path() / "cpu_limit_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(base.data()), nullptr);
    dir_ = base;
    root_ = (dir_ / "sys/fs/cgroup").string();
    proc_ = (dir_ / "proc_self_cgroup").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `content` to root_/relative, creating directories.
  void write(const std::string& relative, const std::string& content) {
    fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }
  void writeProc(const std::string& content) { std::ofstream(proc_) << content; }
  std::optional<double> limit() { return cgroupCpuLimit(root_, proc_); }

  fs::path dir_;
  std::string root_;
  std::string proc_;
};

TEST_F(CgroupTreeTest, V2Limit) {
  writeProc("0::/kubepods/pod1/ctr\n");
  write("kubepods/pod1/ctr/cpu.max", "150000 100000\n");
  EXPECT_EQ(limit(), 1.5);
}

TEST_F(CgroupTreeTest, V2Max) {
  writeProc("0::/kubepods/pod1/ctr\n");
  write("kubepods/pod1/ctr/cpu.max", "max 100000\n");
  EXPECT_EQ(limit(), std::nullopt);
}

TEST_F(CgroupTreeTest, V2AncestorLimitCapsTheChild) {
  writeProc("0::/kubepods/pod1/ctr\n");
  write("kubepods/pod1/ctr/cpu.max", "max 100000\n");
  write("kubepods/pod1/cpu.max", "50000 100000\n");
  write("kubepods/cpu.max", "400000 100000\n");
  EXPECT_EQ(limit(), 0.5);
}

TEST_F(CgroupTreeTest, V2NamespacedContainerSeesItsCgroupAtTheRoot) {
  // Without a cgroup namespace, /proc may name a path the container's mount does not have.
  writeProc("0::/kubepods/pod1/ctr\n");
  write("cpu.max", "200000 100000\n");
  EXPECT_EQ(limit(), 2.0);
}

TEST_F(CgroupTreeTest, V1Quota) {
  writeProc("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n");
  write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n");
  write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit(), 2.5);
}

TEST_F(CgroupTreeTest, V1Unlimited) {
  writeProc("4:cpu,cpuacct:/docker/abc\n");
  write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
  write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit(), std::nullopt);
}

TEST_F(CgroupTreeTest, V1SeparateCpuHierarchy) {
  writeProc("2:cpuacct:/\n1:cpu:/\n0::/\n");
  write("cpu/cpu.cfs_quota_us", "20000\n");
  write("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit(), 0.2);
}

TEST_F(CgroupTreeTest, V1WinsOverV2OnHybridHosts) {
  writeProc("0::/user.slice\n3:cpu,cpuacct:/user.slice\n");
  write("user.slice/cpu.max", "100000 100000\n");
  write("cpu,cpuacct/user.slice/cpu.cfs_quota_us", "300000\n");
  write("cpu,cpuacct/user.slice/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit(), 3.0);
}

TEST_F(CgroupTreeTest, MissingFilesMeanNoLimit) {
  writeProc("0::/a/b\n");
  EXPECT_EQ(limit(), std::nullopt);
  writeProc("4:cpu,cpuacct:/docker/abc\n");
  write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "100000\n");  // period missing
  EXPECT_EQ(limit(), std::nullopt);
}

TEST_F(CgroupTreeTest, MissingOrGarbledProcFileMeansNoLimit) {
  write("cpu.max", "100000 100000\n");
  EXPECT_EQ(limit(), std::nullopt);  // proc file does not exist
  writeProc("garbage\n\n1:x\n");
  EXPECT_EQ(limit(), std::nullopt);
}

TEST_F(CgroupTreeTest, GarbledCpuMaxMeansNoLimit) {
  writeProc("0::/\n");
  write("cpu.max", "lots 100000\n");
  EXPECT_EQ(limit(), std::nullopt);
}

TEST(ConcurrencyForTest, RoundsTheLimitUp) {
  EXPECT_EQ(concurrencyFor(1.5, 64), 2u);
  EXPECT_EQ(concurrencyFor(0.2, 64), 1u);
  EXPECT_EQ(concurrencyFor(2.0, 64), 2u);
  EXPECT_EQ(concurrencyFor(200000.0 / 100000.0, 64), 2u);
  EXPECT_EQ(concurrencyFor(0.001, 64), 1u);
}

TEST(ConcurrencyForTest, NoLimitMeansUsableCores) {
  EXPECT_EQ(concurrencyFor(std::nullopt, 6), 6u);
  EXPECT_EQ(concurrencyFor(std::nullopt, 0), 1u);
}

TEST(ConcurrencyForTest, NeverMoreThanUsableCores) { EXPECT_EQ(concurrencyFor(16.0, 4), 4u); }

TEST(ConcurrencyForTest, ThisProcessGetsAtLeastOne) {
  EXPECT_GE(usableCores(), 1u);
  EXPECT_GE(defaultConcurrency(), 1u);
  EXPECT_LE(defaultConcurrency(), usableCores());
}

}  // namespace
}  // namespace remora::server
