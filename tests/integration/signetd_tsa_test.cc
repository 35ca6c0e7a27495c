// signetd as a time-stamping authority (issue #17): a TSA key on the test's
// SoftHSM token with a certificate from the bank CA (critical
// extendedKeyUsage timeStamping). `openssl ts -query` makes the requests,
// they go to signetd's RFC 3161 HTTP listener and to the gRPC Timestamp
// call, and `openssl ts -verify` (a tool apart from Signet) judges the
// replies. Refusals carry the right failure info, the grant is required,
// each stamp is one TIMESTAMP audit record with its serial, and serials stay
// unique across a crash (SIGKILL) and restart.
#include <grpcpp/grpcpp.h>
#include <openssl/sha.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "appliance/audit/entry_json.h"
#include "appliance/http/http_testing.h"
#include "appliance/tsa/clock_sync.h"
#include "appliance/tsa/tsa_testing.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/timestamp.grpc.pb.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;

constexpr char kPolicy[] = "1.3.6.1.4.1.99999.17.1";
constexpr char kData[] = "Statement for November: 3 transfers.\n";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream data;
  data << in.rdbuf();
  return data.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::string Sha256(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof digest);
}

// The caller may stamp (or, without `timestamp`, only read keys).
std::string Callers(bool timestamp) {
  return absl::StrCat("callers { name: \"tsa-client\" unix_uid: $UID",
                      timestamp ? " grants { operations: TIMESTAMP }" : "",
                      " grants { keys: \"*\" operations: READ_KEYS } }\n");
}

std::string TsaConfig(int port, bool allow_unsynchronized_clock) {
  return absl::StrCat(
      "timestamp_authority { key: \"tsa\" http_address: \"127.0.0.1:", port, "\" policies: \"",
      kPolicy,
      "\" policies: \"1.3.6.1.4.1.99999.17.2\" accuracy_seconds: 1 include_tsa_name: true "
      "serial_file: \"$DIR/tsa.serial\"",
      allow_unsynchronized_clock ? " allow_unsynchronized_clock: true" : "", " }\n");
}

// A signetd with a TSA; `port` is its HTTP listener's.
struct TsaDaemon {
  std::unique_ptr<fixtures::SignetdEnv> env;
  int port = 0;
};

absl::StatusOr<TsaDaemon> StartTsa(bool grant, bool allow_unsynchronized_clock) {
  ASSIGN_OR_RETURN(int port, fixtures::FreePort());
  ASSIGN_OR_RETURN(
      std::unique_ptr<fixtures::SignetdEnv> env,
      fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                   .callers = Callers(grant),
                                   .extra_config = TsaConfig(port, allow_unsynchronized_clock),
                                   .tsa_key = true}));
  WriteAll(env->File("data.txt"), kData);
  return TsaDaemon{std::move(env), port};
}

// The TIMESTAMP records of the audit log, in order.
std::vector<audit::v1::Record> TimestampRecords(const fixtures::SignetdEnv& env) {
  std::vector<audit::v1::Record> records;
  for (absl::string_view line : absl::StrSplit(ReadAll(env.AuditLogPath()), '\n')) {
    if (line.empty()) continue;
    absl::StatusOr<audit::v1::Entry> entry = audit::ParseEntryJson(line);
    EXPECT_THAT(entry, IsOk()) << line;
    if (entry.ok() && entry->has_record() && entry->record().operation() == "TIMESTAMP") {
      records.push_back(entry->record());
    }
  }
  return records;
}

uint64_t SerialOf(const std::string& reply) {
  TsRespPtr parsed = tsa::testing::ParseReply(reply);
  return parsed ? tsa::testing::Serial(parsed.get()) : 0;
}

// A record's timestamp_serial_hex as a number; 0 when there is none.
uint64_t RecordedSerial(const audit::v1::Record& record) {
  if (record.timestamp_serial_hex().empty()) return 0;
  return std::stoull(record.timestamp_serial_hex(), nullptr, 16);
}

class SignetdTsaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TsaDaemon> started = StartTsa(/*grant=*/true, /*allow=*/true);
    ASSERT_THAT(started, IsOk());
    tsa_ = new TsaDaemon(std::move(*started));
  }
  static void TearDownTestSuite() {
    delete tsa_;
    tsa_ = nullptr;
  }
  void SetUp() override {
    if (tsa_ == nullptr) GTEST_SKIP() << "signetd did not start";
  }

  static fixtures::SignetdEnv& Env() { return *tsa_->env; }
  static std::string File(const std::string& name) { return Env().File(name); }

  // `openssl ts -query -data data.txt <options>`, the DER request.
  static std::string Query(const std::vector<std::string>& options) {
    std::vector<std::string> argv = {"openssl", "ts", "-query", "-data", File("data.txt")};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"-out", File("query.tsq")});
    EXPECT_THAT(fixtures::RunCommandOk(argv), IsOk());
    return ReadAll(File("query.tsq"));
  }

  // POSTs the request to signetd's TSA listener; the reply's body, also in
  // reply.tsr.
  static std::string Post(int port, const std::string& query) {
    absl::StatusOr<http::testing::HttpReply> reply = http::testing::RawHttp(
        port, http::testing::PostRequest("/", "application/timestamp-query", query));
    EXPECT_THAT(reply, IsOk());
    if (!reply.ok()) return {};
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->content_type, "application/timestamp-reply");
    WriteAll(File("reply.tsr"), reply->body);
    return reply->body;
  }

  static grpc::Status Call(fixtures::SignetdEnv& env, const std::string& query,
                           v1::TimestampResponse* response) {
    auto stub = v1::Timestamps::NewStub(fixtures::UnixChannel(env));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::TimestampRequest request;
    request.set_query(query);
    return stub->Timestamp(&context, request, response);
  }

  // `openssl ts -verify -data data.txt -in reply.tsr -CAfile ca.pem`.
  static fixtures::CommandResult Verify(const std::string& reply) {
    WriteAll(File("reply.tsr"), reply);
    absl::StatusOr<fixtures::CommandResult> result =
        fixtures::RunCommand({"openssl", "ts", "-verify", "-data", File("data.txt"), "-in",
                              File("reply.tsr"), "-CAfile", File("ca.pem")});
    EXPECT_THAT(result, IsOk());
    return result.value_or(fixtures::CommandResult{});
  }

  // The audit record of the stamp `reply`, checked against its request.
  static void ExpectRecorded(const std::string& query, const std::string& reply,
                             const std::string& caller) {
    const uint64_t serial = SerialOf(reply);
    ASSERT_NE(serial, 0u);
    int found = 0;
    for (const audit::v1::Record& record : TimestampRecords(Env())) {
      if (RecordedSerial(record) != serial) continue;
      ++found;
      EXPECT_EQ(record.caller(), caller);
      EXPECT_EQ(record.key(), "tsa");
      EXPECT_EQ(record.result(), "OK");
      EXPECT_EQ(record.input_sha256(), Sha256(query));
      EXPECT_THAT(record.timestamp_tsa(), HasSubstr("Bank tsa"));
    }
    EXPECT_EQ(found, 1) << "serial " << serial;
  }

  static TsaDaemon* tsa_;
};

TsaDaemon* SignetdTsaTest::tsa_ = nullptr;

TEST_F(SignetdTsaTest, HttpStampsOfEveryDigestVerify) {
  for (const char* digest : {"-sha256", "-sha384", "-sha512"}) {
    SCOPED_TRACE(digest);
    const std::string query = Query({digest, "-cert"});
    const std::string reply = Post(tsa_->port, query);
    fixtures::CommandResult verified = Verify(reply);
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    EXPECT_THAT(verified.out, HasSubstr("Verification: OK"));
    ExpectRecorded(query, reply, "(http)");
  }
  // Other data does not verify: the check has teeth.
  WriteAll(File("other.txt"), "Statement for December.\n");
  absl::StatusOr<fixtures::CommandResult> other =
      fixtures::RunCommand({"openssl", "ts", "-verify", "-data", File("other.txt"), "-in",
                            File("reply.tsr"), "-CAfile", File("ca.pem")});
  ASSERT_THAT(other, IsOk());
  EXPECT_NE(other->exit_code, 0);
}

TEST_F(SignetdTsaTest, GrpcStampsVerify) {
  for (const char* digest : {"-sha256", "-sha384", "-sha512"}) {
    SCOPED_TRACE(digest);
    const std::string query = Query({digest, "-cert", "-tspolicy", kPolicy});
    v1::TimestampResponse response;
    grpc::Status status = Call(Env(), query, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.status(), 0);
    EXPECT_EQ(response.failure(), "");
    fixtures::CommandResult verified = Verify(response.reply());
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    ExpectRecorded(query, response.reply(), "tsa-client");
  }
}

TEST_F(SignetdTsaTest, AnUnknownPolicyIsRejected) {
  const std::string query = Query({"-sha256", "-tspolicy", "1.3.6.1.4.1.99999.17.9"});
  v1::TimestampResponse response;
  grpc::Status status = Call(Env(), query, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), 2);
  EXPECT_EQ(response.failure(), "unacceptedPolicy");
  const std::string reply = Post(tsa_->port, query);
  TsRespPtr parsed = tsa::testing::ParseReply(reply);
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(tsa::testing::ReplyStatus(parsed.get()), 2);
  EXPECT_EQ(tsa::testing::FailureBits(parsed.get()), std::set<int>{TS_INFO_UNACCEPTED_POLICY});
  // Both refusals are recorded, with their reason and no serial.
  int refused = 0;
  for (const audit::v1::Record& record : TimestampRecords(Env())) {
    if (record.input_sha256() != Sha256(query)) continue;
    ++refused;
    EXPECT_EQ(record.result(), "INVALID_ARGUMENT");
    EXPECT_THAT(record.reason(), HasSubstr("unacceptedPolicy"));
    EXPECT_EQ(record.timestamp_serial_hex(), "");
  }
  EXPECT_EQ(refused, 2);
}

TEST_F(SignetdTsaTest, AnUnsupportedDigestIsRejected) {
  const std::string query = Query({"-sha1"});
  v1::TimestampResponse response;
  grpc::Status status = Call(Env(), query, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), 2);
  EXPECT_EQ(response.failure(), "badAlg");
  TsRespPtr parsed = tsa::testing::ParseReply(Post(tsa_->port, query));
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(tsa::testing::FailureBits(parsed.get()), std::set<int>{TS_INFO_BAD_ALG});
}

// Declared last: it restarts the shared daemon. Four clients keep asking
// while signetd is killed (SIGKILL) and started again: no serial is ever
// issued twice, every stamp a client received has its audit record (the
// reply waits for it), and the stamps after the restart come after the
// lost rest of the reserved block.
TEST_F(SignetdTsaTest, SerialsAreUniqueAcrossACrashUnderLoad) {
  const std::string query = Query({"-sha256"});
  const int port = tsa_->port;
  std::mutex mutex;
  std::condition_variable received_more;
  std::vector<uint64_t> serials;
  std::atomic<bool> stop{false};
  auto load = [&] {
    while (!stop) {
      absl::StatusOr<http::testing::HttpReply> reply = http::testing::RawHttp(
          port, http::testing::PostRequest("/", "application/timestamp-query", query));
      // Refused or cut off while signetd is down: asked again.
      if (!reply.ok() || reply->status != 200) continue;
      TsRespPtr parsed = tsa::testing::ParseReply(reply->body);
      if (parsed == nullptr || tsa::testing::ReplyStatus(parsed.get()) != 0) continue;
      std::lock_guard<std::mutex> lock(mutex);
      serials.push_back(tsa::testing::Serial(parsed.get()));
      received_more.notify_all();
    }
  };
  auto wait_for = [&](size_t count) {
    std::unique_lock<std::mutex> lock(mutex);
    return received_more.wait_for(lock, std::chrono::seconds(60),
                                  [&] { return serials.size() >= count; });
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) clients.emplace_back(load);
  ASSERT_TRUE(wait_for(40));
  uint64_t before = 0;
  size_t count_before = 0;
  {
    std::lock_guard<std::mutex> lock(mutex);
    count_before = serials.size();
  }
  const absl::Status restarted = Env().Restart(SIGKILL);
  size_t count_after_restart = 0;
  {
    std::lock_guard<std::mutex> lock(mutex);
    // Replies received before the kill began.
    before = *std::max_element(serials.begin(), serials.begin() + count_before);
    count_after_restart = serials.size();
  }
  const bool more = restarted.ok() && wait_for(count_after_restart + 40);
  stop = true;
  for (std::thread& client : clients) client.join();
  ASSERT_THAT(restarted, IsOk());
  ASSERT_TRUE(more);

  const std::set<uint64_t> unique(serials.begin(), serials.end());
  EXPECT_EQ(unique.size(), serials.size()) << "a serial was issued twice";
  EXPECT_GT(*unique.rbegin(), before);
  std::set<uint64_t> recorded;
  for (const audit::v1::Record& record : TimestampRecords(Env())) {
    recorded.insert(RecordedSerial(record));
  }
  for (uint64_t serial : serials) EXPECT_TRUE(recorded.contains(serial)) << serial;
}

// Without allow_unsynchronized_clock, and a caller without the grant.
TEST(SignetdTsaStrictTest, UnsynchronizedClockAndNoGrant) {
  absl::StatusOr<TsaDaemon> tsa = StartTsa(/*grant=*/false, /*allow=*/false);
  ASSERT_THAT(tsa, IsOk());
  fixtures::SignetdEnv& env = *tsa->env;
  ASSERT_THAT(fixtures::RunCommandOk({"openssl", "ts", "-query", "-data", env.File("data.txt"),
                                      "-sha256", "-out", env.File("query.tsq")}),
              IsOk());
  const std::string query = ReadAll(env.File("query.tsq"));

  v1::TimestampResponse response;
  auto stub = v1::Timestamps::NewStub(fixtures::UnixChannel(env));
  grpc::ClientContext context;
  v1::TimestampRequest request;
  request.set_query(query);
  grpc::Status status = stub->Timestamp(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();

  absl::StatusOr<bool> synchronized = tsa::KernelClockSynchronized();
  if (synchronized.ok() && *synchronized) {
    GTEST_SKIP() << "this machine's clock is synchronised: timeNotAvailable cannot be seen";
  }
  absl::StatusOr<http::testing::HttpReply> reply = http::testing::RawHttp(
      tsa->port, http::testing::PostRequest("/", "application/timestamp-query", query));
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->status, 200);
  TsRespPtr parsed = tsa::testing::ParseReply(reply->body);
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(tsa::testing::ReplyStatus(parsed.get()), 2);
  EXPECT_EQ(tsa::testing::FailureBits(parsed.get()), std::set<int>{TS_INFO_TIME_NOT_AVAILABLE});
  std::vector<audit::v1::Record> records = TimestampRecords(env);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].result(), "UNAVAILABLE");
  EXPECT_THAT(records[0].reason(), HasSubstr("timeNotAvailable"));
}

// The Timestamps service without timestamp_authority.
TEST(SignetdTsaAbsentTest, NoTsaIsFailedPrecondition) {
  absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
      {.signetd_path = SIGNETD_PATH, .callers = Callers(/*timestamp=*/true)});
  ASSERT_THAT(env, IsOk());
  auto stub = v1::Timestamps::NewStub(fixtures::UnixChannel(**env));
  grpc::ClientContext context;
  v1::TimestampRequest request;
  request.set_query(tsa::testing::MakeRequest({}));
  v1::TimestampResponse response;
  grpc::Status status = stub->Timestamp(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
}

// A key whose certificate is not a TSA's, and a serial file in a directory
// that does not exist, stop the start with an error that names the field.
TEST(SignetdTsaStartTest, AKeyWithoutTimeStampingStopsTheStart) {
  absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
      {.signetd_path = SIGNETD_PATH,
       .callers = Callers(/*timestamp=*/true),
       // other-signing's certificate is for e-mail protection.
       .extra_config = "timestamp_authority { key: \"other-signing\" policies: \"1.2.3.4\" "
                       "serial_file: \"$DIR/tsa.serial\" }\n"});
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.status().message(), HasSubstr("timestamp_authority.key 'other-signing'"));
  EXPECT_THAT(env.status().message(), HasSubstr("timeStamping"));
}

TEST(SignetdTsaStartTest, ASerialFileWithoutItsDirectoryStopsTheStart) {
  absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
      {.signetd_path = SIGNETD_PATH,
       .callers = Callers(/*timestamp=*/true),
       .extra_config = "timestamp_authority { key: \"tsa\" policies: \"1.2.3.4\" "
                       "serial_file: \"$DIR/missing/tsa.serial\" }\n",
       .tsa_key = true});
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.status().message(), HasSubstr("timestamp_authority.serial_file: the directory"));
}

}  // namespace
}  // namespace signet
