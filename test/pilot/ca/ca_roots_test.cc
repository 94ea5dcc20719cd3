#include "source/pilot/ca/ca_roots.h"

#include <sys/stat.h>

#include <cstdio>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_info.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/root_certificate.h"
#include "test/pilot/ca/test_util.h"

namespace remora::pilot::ca {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using std::chrono::system_clock;

constexpr char kSpiffeId[] = "spiffe://cluster.local/ns/shop/sa/cart";

mode_t modeOf(const std::string& path) {
  struct stat info {};
  ::stat(path.c_str(), &info);
  return info.st_mode & 0777;
}

crypto::RootCertificatePem makeRoot(const std::string& name) {
  auto root = crypto::createRootCertificate({"remora", name, 24h * 365});
  EXPECT_TRUE(root.ok()) << root.error();
  return *root;
}

// Replaces the pair in `dir` the way an operator would: each file renamed into place.
void installRoot(const std::string& dir, const crypto::RootCertificatePem& root) {
  test::writeFile(dir + "/tmp-cert", root.cert_pem);
  test::writeFile(dir + "/tmp-key", root.key_pem);
  ASSERT_EQ(std::rename((dir + "/tmp-cert").c_str(), (dir + "/ca-cert.pem").c_str()), 0);
  ASSERT_EQ(std::rename((dir + "/tmp-key").c_str(), (dir + "/ca-key.pem").c_str()), 0);
}

std::string signLeaf(const CaRoots& roots) {
  auto key = crypto::KeyPair::generate();
  auto csr = crypto::createCsr(*key, kSpiffeId);
  auto leaf = roots.authority().sign(*csr, kSpiffeId, 1h);
  EXPECT_TRUE(leaf.ok()) << leaf.error();
  return *leaf;
}

class CaRootsTest : public ::testing::Test {
 protected:
  std::string dir_ = test::makeTempDir();
  std::string ca_dir_ = dir_ + "/cacerts";
  std::string bundle_path_ = dir_ + "/root-cert.pem";
  const system_clock::time_point now_ = system_clock::now();
};

TEST_F(CaRootsTest, GeneratesAndKeepsARootInAnEmptyDir) {
  auto roots = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_TRUE(roots.ok()) << roots.error();
  EXPECT_EQ(modeOf(ca_dir_ + "/ca-key.pem"), 0600u);
  EXPECT_EQ(modeOf(ca_dir_), 0700u);
  const std::string root = (*roots)->authority().signingRootPem();
  EXPECT_EQ(test::readFile(ca_dir_ + "/ca-cert.pem"), root);
  EXPECT_EQ(test::readFile(bundle_path_), root);
  auto info = crypto::parseCertificateChain(root);
  ASSERT_TRUE(info.ok());
  EXPECT_GT(info->front().not_after - now_, 24h * 3650);

  // A restart signs with the same root.
  roots->reset();
  auto again = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ((*again)->authority().signingRootPem(), root);
  EXPECT_EQ((*again)->authority().trustedRootCount(), 1u);
}

TEST_F(CaRootsTest, UsesAPlugInRootAndRefusesHalfOfOne) {
  ASSERT_EQ(::mkdir(ca_dir_.c_str(), 0700), 0);
  const crypto::RootCertificatePem plugged = makeRoot("plug-in root");
  test::writeFile(ca_dir_ + "/ca-cert.pem", plugged.cert_pem);
  auto half = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.error(), EndsWith("holds ca-cert.pem but not ca-key.pem (a plug-in root needs "
                                     "both)"));

  test::writeFile(ca_dir_ + "/ca-key.pem", makeRoot("other").key_pem);
  auto mismatched = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(mismatched.error(), HasSubstr("private key does not match certificate"));

  test::writeFile(ca_dir_ + "/ca-key.pem", plugged.key_pem);
  auto roots = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_TRUE(roots.ok()) << roots.error();
  EXPECT_TRUE(crypto::verifyChain(signLeaf(**roots), plugged.cert_pem).ok());
}

TEST_F(CaRootsTest, RotatesToANewRootAndDropsTheOldOneAfterTheOverlap) {
  auto opened = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_TRUE(opened.ok()) << opened.error();
  CaRoots& roots = **opened;
  const std::string first = roots.authority().signingRootPem();
  const std::string old_leaf = signLeaf(roots);
  EXPECT_FALSE(roots.poll(now_ + 1s));  // nothing changed

  const crypto::RootCertificatePem second = makeRoot("second root");
  installRoot(ca_dir_, second);
  // Seen once: waits to read the same pair again (the two files may still be changing).
  EXPECT_FALSE(roots.poll(now_ + 2s));
  EXPECT_TRUE(roots.poll(now_ + 3s));
  EXPECT_EQ(roots.authority().trustedRootCount(), 2u);
  EXPECT_EQ(test::countCertificates(test::readFile(bundle_path_)), 2);
  EXPECT_EQ(test::readFile(bundle_path_), roots.authority().rootsPem());
  // New leaves chain to the new root alone; old leaves still verify with the bundle.
  EXPECT_TRUE(crypto::verifyChain(signLeaf(roots), second.cert_pem).ok());
  EXPECT_TRUE(crypto::verifyChain(old_leaf, test::readFile(bundle_path_)).ok());

  EXPECT_FALSE(roots.poll(now_ + 3s + 48h - 1s));
  EXPECT_EQ(roots.authority().trustedRootCount(), 2u);
  EXPECT_TRUE(roots.poll(now_ + 3s + 48h));
  EXPECT_EQ(roots.authority().trustedRootCount(), 1u);
  EXPECT_EQ(test::readFile(bundle_path_), roots.authority().signingRootPem());
  EXPECT_EQ(test::readFile(bundle_path_).find(first), std::string::npos);
}

TEST_F(CaRootsTest, KeepsTheRootWhenTheNewOneCannotSign) {
  auto opened = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_TRUE(opened.ok()) << opened.error();
  CaRoots& roots = **opened;
  const std::string first = roots.authority().signingRootPem();
  // A certificate with another root's key: reported and ignored.
  installRoot(ca_dir_, {makeRoot("a").cert_pem, makeRoot("b").key_pem});
  EXPECT_FALSE(roots.poll(now_ + 1s));
  EXPECT_FALSE(roots.poll(now_ + 2s));
  EXPECT_EQ(roots.authority().signingRootPem(), first);
  // Removed files: still signing.
  std::remove((ca_dir_ + "/ca-key.pem").c_str());
  EXPECT_FALSE(roots.poll(now_ + 3s));
  EXPECT_EQ(roots.authority().signingRootPem(), first);
  EXPECT_EQ(test::readFile(bundle_path_), first);
}

TEST_F(CaRootsTest, RollingBackToARootInItsOverlapKeepsItForGood) {
  auto opened = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_TRUE(opened.ok()) << opened.error();
  CaRoots& roots = **opened;
  const crypto::RootCertificatePem first{test::readFile(ca_dir_ + "/ca-cert.pem"),
                                         test::readFile(ca_dir_ + "/ca-key.pem")};
  installRoot(ca_dir_, makeRoot("second root"));
  roots.poll(now_ + 1s);
  ASSERT_TRUE(roots.poll(now_ + 2s));
  installRoot(ca_dir_, first);
  roots.poll(now_ + 3s);
  ASSERT_TRUE(roots.poll(now_ + 4s));
  EXPECT_EQ(roots.authority().signingRootPem(), first.cert_pem);
  // The second root's overlap ends; the first, signing again, is never dropped.
  EXPECT_TRUE(roots.poll(now_ + 4s + 48h));
  EXPECT_EQ(roots.authority().rootsPem(), first.cert_pem);
}

TEST_F(CaRootsTest, ARestartDuringTheOverlapStillTrustsTheReplacedRoot) {
  auto opened = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_);
  ASSERT_TRUE(opened.ok()) << opened.error();
  const std::string first = (*opened)->authority().signingRootPem();
  installRoot(ca_dir_, makeRoot("second root"));
  (*opened)->poll(now_ + 1s);
  ASSERT_TRUE((*opened)->poll(now_ + 2s));
  opened->reset();

  auto restarted = CaRoots::open({ca_dir_, bundle_path_, 48h}, now_ + 1h);
  ASSERT_TRUE(restarted.ok()) << restarted.error();
  EXPECT_EQ((*restarted)->authority().trustedRootCount(), 2u);
  EXPECT_NE((*restarted)->authority().rootsPem().find(first), std::string::npos);
  EXPECT_TRUE((*restarted)->poll(now_ + 1h + 48h));
  EXPECT_EQ((*restarted)->authority().trustedRootCount(), 1u);
}

TEST_F(CaRootsTest, InMemoryRootWritesTheBundle) {
  auto roots = CaRoots::open({"", bundle_path_, 48h}, now_);
  ASSERT_TRUE(roots.ok()) << roots.error();
  EXPECT_EQ(test::readFile(bundle_path_), (*roots)->authority().rootsPem());
  EXPECT_EQ(trustBundle((*roots)->authority()).size(), 1u);
  EXPECT_FALSE((*roots)->poll(now_ + 1s));

  auto unwritable = CaRoots::open({"", dir_ + "/missing/dir/root.pem", 48h}, now_);
  ASSERT_FALSE(unwritable.ok());
  EXPECT_THAT(unwritable.error(), HasSubstr("cannot write --root-cert-out"));
}

}  // namespace
}  // namespace remora::pilot::ca
