// VerifyMail and certificate policies (RFC 5280 section 6.1), in the manner
// of a path-validation conformance suite: for each case a root, an
// intermediate and a signer with the policy extensions of the case, the
// verifier's initial settings, and the answer RFC 5280 gives, which
// `openssl verify` with the same settings must give too.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/verifier.h"
#include "appliance/pki/validation_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

constexpr char kP1[] = "1.3.6.1.4.1.99999.1.1";
constexpr char kP2[] = "1.3.6.1.4.1.99999.1.2";
constexpr char kAnyPolicy[] = "2.5.29.32.0";

struct PolicyCase {
  const char* name;
  // The intermediate CA's extensions.
  std::string ca_policies;
  std::string ca_mappings;
  std::string ca_constraints;
  std::string ca_inhibit_any;
  // The signer's certificatePolicies (empty: the extension is absent).
  std::string signer_policies;
  // The verifier's initial values.
  std::vector<std::string> acceptable;
  bool require_explicit = false;
  bool inhibit_any = false;
  bool inhibit_mapping = false;
  // What RFC 5280 section 6.1 decides.
  bool valid = false;
};

std::string Both(const char* a, const char* b) { return absl::StrCat(a, ", ", b); }

const PolicyCase kCases[] = {
    {.name = "OnePolicyThroughout", .ca_policies = kP1, .signer_policies = kP1, .valid = true},
    {.name = "ExplicitPolicyRequiredAndAsserted",
     .ca_policies = kP1,
     .signer_policies = kP1,
     .acceptable = {kP1},
     .require_explicit = true,
     .valid = true},
    {.name = "ExplicitPolicyRequiredButOnlyAnotherAcceptable",
     .ca_policies = kP1,
     .signer_policies = kP1,
     .acceptable = {kP2},
     .require_explicit = true,
     .valid = false},
    // Section 6.1.5: with no explicit policy required, an empty valid
    // policy tree does not fail the path.
    {.name = "DisjointPoliciesWithoutExplicitPolicy",
     .ca_policies = kP1,
     .signer_policies = kP2,
     .valid = true},
    {.name = "DisjointPoliciesWithExplicitPolicy",
     .ca_policies = kP1,
     .signer_policies = kP2,
     .require_explicit = true,
     .valid = false},
    {.name = "SignerWithoutPoliciesUnderExplicitPolicy",
     .ca_policies = kP1,
     .require_explicit = true,
     .valid = false},
    // The CA's own policyConstraints demand it, whatever the verifier asks.
    {.name = "CaRequiresExplicitPolicyAndSignerHasNone",
     .ca_policies = kP1,
     .ca_constraints = "requireExplicitPolicy:0",
     .valid = false},
    {.name = "CaRequiresExplicitPolicyAndSignerAssertsIt",
     .ca_policies = kP1,
     .ca_constraints = "requireExplicitPolicy:0",
     .signer_policies = kP1,
     .valid = true},
    {.name = "CaRequiresExplicitPolicyAndSignerAssertsAnother",
     .ca_policies = kP1,
     .ca_constraints = "requireExplicitPolicy:0",
     .signer_policies = kP2,
     .valid = false},
    {.name = "AnyPolicyInTheCaCoversTheSigners",
     .ca_policies = kAnyPolicy,
     .signer_policies = kP1,
     .acceptable = {kP1},
     .require_explicit = true,
     .valid = true},
    {.name = "AnyPolicyInTheCaInhibitedByTheVerifier",
     .ca_policies = kAnyPolicy,
     .signer_policies = kP1,
     .require_explicit = true,
     .inhibit_any = true,
     .valid = false},
    {.name = "AnyPolicyInTheSignerInhibitedByTheCa",
     .ca_policies = kP1,
     .ca_inhibit_any = "0",
     .signer_policies = kAnyPolicy,
     .require_explicit = true,
     .valid = false},
    {.name = "AnyPolicyInTheSignerAllowed",
     .ca_policies = kP1,
     .signer_policies = kAnyPolicy,
     .acceptable = {kP1},
     .require_explicit = true,
     .valid = true},
    // The CA maps its P1 to the signer's P2.
    {.name = "MappedPolicyIsAccepted",
     .ca_policies = kP1,
     .ca_mappings = absl::StrCat(kP1, ":", kP2),
     .signer_policies = kP2,
     .acceptable = {kP1},
     .require_explicit = true,
     .valid = true},
    {.name = "MappingInhibitedByTheVerifier",
     .ca_policies = kP1,
     .ca_mappings = absl::StrCat(kP1, ":", kP2),
     .signer_policies = kP2,
     .acceptable = {kP1},
     .require_explicit = true,
     .inhibit_mapping = true,
     .valid = false},
    {.name = "ExplicitPolicyRequiredWithAnyPolicyAcceptable",
     .ca_policies = kP1,
     .signer_policies = kP1,
     .require_explicit = true,
     .valid = true},
    {.name = "TwoPoliciesOneAcceptable",
     .ca_policies = Both(kP1, kP2),
     .signer_policies = Both(kP1, kP2),
     .acceptable = {kP2},
     .require_explicit = true,
     .valid = true},
};

std::string CaseName(const ::testing::TestParamInfo<PolicyCase>& param_info) {
  return param_info.param.name;
}

class PolicyTest : public ::testing::TestWithParam<PolicyCase> {
 protected:
  void SetUp() override {
    const PolicyCase& c = GetParam();
    ASSERT_OK_AND_ASSIGN(dir_, fixtures::TempDir::Create("signet-policy"));
    ASSERT_OK_AND_ASSIGN(root_, fixtures::TestCa::Create("Signet Policy Root"));
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr ca_key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(X509Ptr ca_certificate,
                         root_->Issue(ca_key.get(), "Signet Policy CA", "",
                                      {.ca = true,
                                       .certificate_policies = c.ca_policies,
                                       .policy_mappings = c.ca_mappings,
                                       .policy_constraints = c.ca_constraints,
                                       .inhibit_any_policy = c.ca_inhibit_any}));
    ca_ = fixtures::TestCa::Adopt(std::move(ca_certificate), std::move(ca_key));
    ASSERT_OK_AND_ASSIGN(signer_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(signer_,
                         ca_->Issue(signer_key_.get(), "Statements", "statements@bank.example",
                                    {.certificate_policies = c.signer_policies}));
    ASSERT_OK_AND_ASSIGN(TrustStore trust, TrustStore::FromCertificates({root_->certificate()}));
    trust_ = std::make_unique<TrustStore>(std::move(trust));
    ASSERT_OK_AND_ASSIGN(mail_, SignMail({}, fixtures::TestMail{}.Text(),
                                         {.key = signer_key_.get(),
                                          .certificate = signer_.get(),
                                          .chain = {ca_->certificate()}},
                                         {}));
  }

  pki::ValidationPolicy Policy() const {
    const PolicyCase& c = GetParam();
    pki::ValidationPolicy policy;
    policy.policies = {.acceptable = c.acceptable,
                       .require_explicit = c.require_explicit,
                       .inhibit_any = c.inhibit_any,
                       .inhibit_mapping = c.inhibit_mapping};
    return policy;
  }

  // `openssl verify` with the case's initial values: true when it accepts.
  absl::StatusOr<bool> OpensslAccepts() {
    const PolicyCase& c = GetParam();
    const std::string root = dir_->path() + "/root.pem";
    const std::string ca = dir_->path() + "/ca.pem";
    const std::string signer = dir_->path() + "/signer.pem";
    RETURN_IF_ERROR(fixtures::WritePem(root, root_->certificate()));
    RETURN_IF_ERROR(fixtures::WritePem(ca, ca_->certificate()));
    RETURN_IF_ERROR(fixtures::WritePem(signer, signer_.get()));
    std::vector<std::string> argv = {"openssl", "verify",     "-purpose", "smimesign",    "-CAfile",
                                     root,      "-untrusted", ca,         "-policy_check"};
    // No acceptable policies is RFC 5280's any-policy, which openssl must
    // be told: without -policy it takes an empty set, and refuses a chain
    // that must have an explicit policy even when it asserts one
    // (OpensslWithoutAPolicySetRefusesWhatRfc5280Accepts below).
    for (const std::string& oid :
         c.acceptable.empty() ? std::vector<std::string>{kAnyPolicy} : c.acceptable) {
      argv.push_back("-policy");
      argv.push_back(oid);
    }
    if (c.require_explicit) argv.push_back("-explicit_policy");
    if (c.inhibit_any) argv.push_back("-inhibit_any");
    if (c.inhibit_mapping) argv.push_back("-inhibit_map");
    argv.push_back(signer);
    ASSIGN_OR_RETURN(fixtures::CommandResult result, fixtures::RunCommand(argv));
    return result.exit_code == 0;
  }

  std::optional<fixtures::TempDir> dir_;
  std::optional<fixtures::TestCa> root_;
  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr signer_key_;
  X509Ptr signer_;
  std::unique_ptr<TrustStore> trust_;
  std::string mail_;
};

TEST_P(PolicyTest, DecidedAsRfc5280AndOpensslVerify) {
  const PolicyCase& c = GetParam();
  const pki::ValidationPolicy policy = Policy();
  absl::StatusOr<VerifiedMail> verified =
      VerifyMail({}, mail_, *trust_, {.require_trusted_chain = true, .validation = &policy});
  EXPECT_THAT(OpensslAccepts(), matchers::IsOkAndHolds(c.valid));
  if (c.valid) {
    ASSERT_THAT(verified, IsOk());
    EXPECT_EQ(verified->signers[0].chain_status, ChainStatus::kTrusted);
  } else {
    ASSERT_THAT(verified, Not(IsOk()));
    EXPECT_EQ(VerifyFailureOf(verified.status()), VerifyFailure::kPolicy) << verified.status();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PolicyTest, ::testing::ValuesIn(kCases), CaseName);

// Where `openssl verify` departs from RFC 5280 and Signet does not: a CA
// demands an explicit policy and the chain asserts one, but no policy set
// is given. The RFC's default set is any-policy, so the path is valid;
// openssl without -policy starts from an empty set and refuses it.
using OpensslPolicyTest = PolicyTest;

TEST_P(OpensslPolicyTest, OpensslWithoutAPolicySetRefusesWhatRfc5280Accepts) {
  const pki::ValidationPolicy policy = Policy();
  EXPECT_THAT(
      VerifyMail({}, mail_, *trust_, {.require_trusted_chain = true, .validation = &policy}),
      IsOk());
  // With the RFC's any-policy said explicitly, openssl agrees (and the
  // files are written).
  EXPECT_THAT(OpensslAccepts(), matchers::IsOkAndHolds(true));
  ASSERT_OK_AND_ASSIGN(
      fixtures::CommandResult openssl,
      fixtures::RunCommand({"openssl", "verify", "-purpose", "smimesign", "-CAfile",
                            dir_->path() + "/root.pem", "-untrusted", dir_->path() + "/ca.pem",
                            "-policy_check", dir_->path() + "/signer.pem"}));
  EXPECT_NE(openssl.exit_code, 0);
  EXPECT_THAT(openssl.out + openssl.err, ::testing::HasSubstr("no explicit policy"));
}

INSTANTIATE_TEST_SUITE_P(CaDemandsExplicitPolicy, OpensslPolicyTest, ::testing::Values(kCases[7]),
                         CaseName);

// Chains to one anchor judged by that anchor's own policies (the anchor is
// known only once OpenSSL has built the chain).
using AnchorPolicyTest = PolicyTest;

TEST_P(AnchorPolicyTest, AnAnchorsOwnPoliciesReplaceTheDefaults) {
  const pki::CertificatePolicies strict = {.acceptable = {kP2}, .require_explicit = true};
  const std::string anchor = pki::Sha256Fingerprint(root_->certificate());
  ASSERT_EQ(anchor.size(), 64u);
  auto verify = [&](const pki::ValidationPolicy& policy) {
    return VerifyMail({}, mail_, *trust_, {.require_trusted_chain = true, .validation = &policy});
  };

  // Lenient by default, strict for this anchor: refused.
  pki::ValidationPolicy strict_anchor;
  strict_anchor.anchor_policies[anchor] = strict;
  absl::StatusOr<VerifiedMail> refused = verify(strict_anchor);
  ASSERT_THAT(refused, Not(IsOk()));
  EXPECT_EQ(VerifyFailureOf(refused.status()), VerifyFailure::kPolicy);

  // The same strict policy for another anchor leaves this one lenient.
  pki::ValidationPolicy other_anchor;
  other_anchor.anchor_policies[std::string(64, 'a')] = strict;
  EXPECT_THAT(verify(other_anchor), IsOk());

  // Strict by default, lenient for this anchor: trusted.
  pki::ValidationPolicy lenient_anchor;
  lenient_anchor.policies = strict;
  lenient_anchor.anchor_policies[anchor] = {};
  EXPECT_THAT(verify(lenient_anchor), IsOk());
  lenient_anchor.anchor_policies.clear();
  EXPECT_THAT(verify(lenient_anchor), Not(IsOk()));
}

INSTANTIATE_TEST_SUITE_P(OnePolicy, AnchorPolicyTest, ::testing::Values(kCases[0]), CaseName);

}  // namespace
}  // namespace signet::cms
