#include "tests/bench/directory_bench.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/directory/certificate_store.h"
#include "common/status_macros.h"
#include "tests/bench/bench_daemon.h"
#include "tests/bench/signet_runner.h"
#include "tests/fixtures/test_pki.h"

namespace signet::bench {
namespace {

using directory::CertificateStore;
using directory::PutRequest;

constexpr uint64_t kBatch = 10000;
// Lookup cycles through this many random stored addresses; EncryptMail
// through this many random stored certificates (the client holds their
// DER for the by-certificate calls) and their addresses.
constexpr size_t kLookupAddresses = 65536;
constexpr size_t kEncryptRecipients = 1024;

std::string Address(uint64_t i) { return absl::StrCat("user-", i, "@bench.example"); }

int64_t FileBytes(const std::string& path) {
  struct stat info = {};
  return stat(path.c_str(), &info) == 0 ? static_cast<int64_t>(info.st_size) : 0;
}

absl::Status NoErrors(const Point& point, const std::string& what) {
  if (point.load.errors == 0 && point.load.requests > 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " at c=", point.concurrency, ": ",
                                          point.load.requests, " done, ", point.load.errors,
                                          " failed (", point.load.first_error, ")"));
}

// Fills a new store at `path` with `count` certificates; keeps the DER of
// those whose index is in `sample` (index -> slot in `sample_ders`).
absl::Status Fill(const std::string& path, fixtures::TestCa& ca, uint64_t count,
                  const std::unordered_map<uint64_t, size_t>& sample,
                  std::vector<std::string>& sample_ders) {
  ASSIGN_OR_RETURN(std::unique_ptr<CertificateStore> store, CertificateStore::Open(path));
  ASSIGN_OR_RETURN(uint64_t existing, store->Count());
  if (existing != 0) return absl::FailedPreconditionError(absl::StrCat(path, " is not empty"));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  const int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const absl::Time started = absl::Now();
  std::vector<std::string> ders;
  for (uint64_t first = 0; first < count; first += kBatch) {
    const uint64_t n = std::min(kBatch, count - first);
    ders.assign(n, {});
    // Issuing is most of the work: every core issues, then one transaction
    // stores the batch.
    std::vector<absl::Status> statuses(static_cast<size_t>(threads));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (uint64_t j = static_cast<uint64_t>(t); j < n; j += static_cast<uint64_t>(threads)) {
          const uint64_t i = first + j;
          absl::StatusOr<X509Ptr> certificate =
              ca.Issue(key.get(), absl::StrCat("User ", i), Address(i),
                       {.validity = absl::Hours(24 * 30), .for_encryption = true});
          absl::StatusOr<std::string> der =
              certificate.ok() ? fixtures::ToDer(certificate->get()) : certificate.status();
          if (!der.ok()) {
            statuses[static_cast<size_t>(t)] = der.status();
            return;
          }
          ders[j] = std::move(*der);
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
    for (const absl::Status& status : statuses) RETURN_IF_ERROR(status);
    std::vector<PutRequest> requests;
    requests.reserve(n);
    for (uint64_t j = 0; j < n; ++j) {
      requests.push_back({.der = ders[j]});
      if (auto it = sample.find(first + j); it != sample.end()) sample_ders[it->second] = ders[j];
    }
    RETURN_IF_ERROR(store->PutAll(requests));
    if ((first / kBatch) % 10 == 9 || first + n == count) {
      std::fprintf(stderr, "bench: directory: %llu certificates stored (%.0f s)\n",
                   static_cast<unsigned long long>(first + n),
                   absl::ToDoubleSeconds(absl::Now() - started));
    }
  }
  ASSIGN_OR_RETURN(uint64_t stored, store->Count());
  if (stored != count) {
    return absl::InternalError(
        absl::StrCat("the store holds ", stored, " certificates, not ", count));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunDirectoryComparison(BenchTokens& tokens, const DirectoryBenchOptions& options,
                                    BenchResults& results) {
  if (options.certificates == 0) return absl::InvalidArgumentError("no certificates to store");
  ASSIGN_OR_RETURN(fixtures::TestCa ca, fixtures::TestCa::Create("Bench Customer CA"));
  const std::string anchors = tokens.File("directory-customer-ca.pem");
  RETURN_IF_ERROR(fixtures::WritePem(anchors, ca.certificate()));

  // Which stored certificates the loads use, drawn before filling so that
  // the fill keeps their DER.
  std::mt19937_64 random(18);
  std::set<uint64_t> drawn;
  const size_t recipients =
      static_cast<size_t>(std::min<uint64_t>(kEncryptRecipients, options.certificates));
  while (drawn.size() < recipients) drawn.insert(random() % options.certificates);
  std::vector<uint64_t> recipient_indices(drawn.begin(), drawn.end());
  std::shuffle(recipient_indices.begin(), recipient_indices.end(), random);
  std::unordered_map<uint64_t, size_t> sample;
  for (size_t slot = 0; slot < recipient_indices.size(); ++slot) {
    sample[recipient_indices[slot]] = slot;
  }
  std::vector<std::string> recipient_ders(recipient_indices.size());
  std::vector<std::string> recipient_addresses;
  for (uint64_t i : recipient_indices) recipient_addresses.push_back(Address(i));
  std::vector<std::string> lookup_addresses;
  for (size_t k = 0; k < kLookupAddresses; ++k) {
    lookup_addresses.push_back(Address(random() % options.certificates));
  }

  const std::string store_path = tokens.File("directory.sqlite");
  std::fprintf(stderr, "bench: directory: filling %s with %llu certificates...\n",
               store_path.c_str(), static_cast<unsigned long long>(options.certificates));
  const absl::Time fill_started = absl::Now();
  RETURN_IF_ERROR(Fill(store_path, ca, options.certificates, sample, recipient_ders));
  const double fill_seconds = absl::ToDoubleSeconds(absl::Now() - fill_started);
  // Closed by now: the WAL is checkpointed into the file.
  const int64_t store_bytes = FileBytes(store_path);
  const int64_t wal_bytes = FileBytes(store_path + "-wal");
  std::fprintf(stderr,
               "bench: directory: %llu certificates in %.0f s; store %.1f MiB (%.0f bytes per "
               "certificate), WAL %lld bytes\n",
               static_cast<unsigned long long>(options.certificates), fill_seconds,
               static_cast<double>(store_bytes) / (1 << 20),
               static_cast<double>(store_bytes) / static_cast<double>(options.certificates),
               static_cast<long long>(wal_bytes));

  ASSIGN_OR_RETURN(std::unique_ptr<BenchDaemon> daemon,
                   BenchDaemon::Start(tokens, {.signetd_path = options.signetd_path,
                                               .name = "directory",
                                               .trust_anchors_file = anchors,
                                               .store_path = store_path}));
  auto channels = MakeChannels(daemon->Target(), grpc::InsecureChannelCredentials(), 4);
  SignetRunner runner(daemon->pid(), channels[0], "");

  for (int c : options.concurrency) {
    Point point{.impl = "signet",
                .transport = "unix",
                .op = "Lookup",
                .algorithm = "P-256",
                .token = "directory"};
    RETURN_IF_ERROR(runner.Measure(
        channels,
        {.rpc = Rpc::kLookup, .keys = lookup_addresses, .concurrency = c, .timing = options.timing},
        point));
    RETURN_IF_ERROR(NoErrors(point, "Lookup"));
    std::fprintf(stderr, "bench: directory c=%d: Lookup %.0f/s, p50 %.0f us, p99 %.0f us\n", c,
                 point.load.per_second(), point.load.latency.PercentileMicros(0.5),
                 point.load.latency.PercentileMicros(0.99));
    results.Add(std::move(point));
  }

  for (size_t round = 0; round < options.concurrency.size(); ++round) {
    const int c = options.concurrency[round];
    const bool address_first = round % 2 == 1;
    double per_second[2] = {0, 0};
    double p50[2] = {0, 0};
    double p99[2] = {0, 0};
    for (bool by_address : {address_first, !address_first}) {
      Point point{.impl = "signet",
                  .transport = "unix",
                  .op = "EncryptMail",
                  .algorithm = "P-256",
                  .token = by_address ? "by-address" : "by-certificate",
                  .mail_bytes = options.mail.size()};
      RETURN_IF_ERROR(runner.Measure(channels,
                                     {.rpc = Rpc::kEncryptMail,
                                      .keys = by_address ? recipient_addresses : recipient_ders,
                                      .payload = options.mail,
                                      .recipients_by_address = by_address,
                                      .concurrency = c,
                                      .timing = options.timing},
                                     point));
      RETURN_IF_ERROR(
          NoErrors(point, by_address ? "EncryptMail by address" : "EncryptMail by certificate"));
      per_second[by_address] = point.load.per_second();
      p50[by_address] = point.load.latency.PercentileMicros(0.5);
      p99[by_address] = point.load.latency.PercentileMicros(0.99);
      results.Add(std::move(point));
    }
    std::fprintf(stderr,
                 "bench: directory c=%d: EncryptMail by certificate -> by address: %.0f/s -> "
                 "%.0f/s (%.2fx), p50 %.0f us -> %.0f us (%.2fx), p99 %.0f us -> %.0f us "
                 "(%.2fx)\n",
                 c, per_second[0], per_second[1], per_second[1] / per_second[0], p50[0], p50[1],
                 p50[1] / p50[0], p99[0], p99[1], p99[1] / p99[0]);
  }
  results.SetSetting("directory_certificates", static_cast<double>(options.certificates));
  results.SetSetting("directory_fill_seconds", fill_seconds);
  results.SetSetting("directory_store_bytes", static_cast<double>(store_bytes));
  results.SetSetting("directory_store_wal_bytes", static_cast<double>(wal_bytes));
  results.SetSetting("directory_lookup_addresses", static_cast<double>(lookup_addresses.size()));
  results.SetSetting("directory_encrypt_recipients",
                     static_cast<double>(recipient_addresses.size()));
  return absl::OkStatus();
}

}  // namespace signet::bench
