#include "tokens/module.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/softhsm.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

TEST(ModuleTest, LoadsSoftHsmThroughGetFunctionList) {
  absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> hsm = fixtures::SoftHsm::Create();
  ASSERT_THAT(hsm, IsOk());
  absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(fixtures::SoftHsm::ModulePath());
  ASSERT_THAT(module, IsOk());
  EXPECT_FALSE((*module)->info().found_by_get_interface);
  EXPECT_EQ((*module)->info().cryptoki_version.major, 2);
  EXPECT_THAT((*module)->info().manufacturer, HasSubstr("SoftHSM"));
  EXPECT_EQ((*module)->counters().Get(P11Fn::kInitialize), 1u);
  // The same file is loaded and initialised once per process.
  absl::StatusOr<std::shared_ptr<Module>> again = Module::Load(fixtures::SoftHsm::ModulePath());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->get(), module->get());
  EXPECT_EQ((*module)->counters().Get(P11Fn::kInitialize), 1u);
}

TEST(ModuleTest, PrefersGetInterface) {
  absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> hsm = fixtures::SoftHsm::Create();
  ASSERT_THAT(hsm, IsOk());
  // The fault module exports C_GetInterface (PKCS#11 3.0) as well.
  absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(SIGNET_FAULT_PKCS11_PATH);
  ASSERT_THAT(module, IsOk());
  EXPECT_TRUE((*module)->info().found_by_get_interface);
}

TEST(ModuleTest, ClearErrorsForWhatIsNotAModule) {
  absl::Status missing = Module::Load("/nonexistent/libpkcs11.so").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("/nonexistent/libpkcs11.so"));

  absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("module-test");
  ASSERT_THAT(dir, IsOk());
  const std::string text = dir->File("not-elf.so");
  std::ofstream(text) << "this is not a shared library\n";
  absl::Status not_elf = Module::Load(text).status();
  EXPECT_EQ(not_elf.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_elf.message(), HasSubstr("cannot be loaded"));

  absl::Status not_pkcs11 = Module::Load(SIGNET_NOT_PKCS11_LIBRARY_PATH).status();
  EXPECT_EQ(not_pkcs11.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_pkcs11.message(), HasSubstr("is not a PKCS#11 module"));

  absl::Status old = Module::Load(SIGNET_OLD_VERSION_MODULE_PATH).status();
  EXPECT_EQ(old.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(old.message(), HasSubstr("Cryptoki 1.0"));

  EXPECT_EQ(Module::Load(dir->path()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace signet
