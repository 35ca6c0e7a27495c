// directory_store_bench: CertificateStore::Find on a large store (issue #18
// asks for a million certificates). Builds the store (distinct Ed25519
// certificates, one address each, signed by one CA key and put in
// transactions of 10,000 through PutAll), reports its size on disk, then
// measures Find for an address that is there, from 1 and 2 threads, and for
// one that is not. Built with -DSIGNET_BENCH=ON; never run by ctest.
//
//   directory_store_bench [--certificates 1000000] [--dir DIR] [--keep 1]
//                         [--warmup-ms 500] [--measure-ms 3000]
// Without --dir the store goes in a fresh directory under $TMPDIR (or
// /tmp), removed at the end unless --keep 1. With --dir, a store already
// there holding the asked-for count is measured as it is.
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "appliance/directory/certificate_store.h"
#include "common/ossl_ptr.h"
#include "tests/bench/latency_histogram.h"

namespace signet::bench {
namespace {

using directory::CertificateStore;
using directory::PutRequest;

struct Flags {
  uint64_t certificates = 1000000;
  std::string dir;
  bool keep = false;
  int warmup_ms = 500;
  int measure_ms = 3000;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    if (name == "--certificates") {
      flags.certificates = std::strtoull(value, nullptr, 10);
    } else if (name == "--dir") {
      flags.dir = value;
    } else if (name == "--keep") {
      flags.keep = std::atoi(value) != 0;
    } else if (name == "--warmup-ms") {
      flags.warmup_ms = std::atoi(value);
    } else if (name == "--measure-ms") {
      flags.measure_ms = std::atoi(value);
    } else {
      std::fprintf(stderr, "directory_store_bench: unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "directory_store_bench: flag %s without a value\n", argv[argc - 1]);
    std::exit(2);
  }
  return flags;
}

std::string Address(uint64_t i) { return absl::StrCat("user-", i, "@bench.example"); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "directory_store_bench: %s\n", what.c_str());
  std::exit(1);
}

// The i-th certificate: serial i + 1, one rfc822Name, a notBefore spread
// over a year so that Find's ordering has work to do for shared addresses.
std::string MakeCertificate(uint64_t i, EVP_PKEY* key, X509_NAME* issuer) {
  X509Ptr certificate(X509_new());
  X509_set_version(certificate.get(), X509_VERSION_3);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(certificate.get()), i + 1);
  X509_set_issuer_name(certificate.get(), issuer);
  X509NamePtr subject(X509_NAME_new());
  const std::string cn = absl::StrCat("User ", i);
  X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_subject_name(certificate.get(), subject.get());
  time_t now = time(nullptr);
  X509_time_adj_ex(X509_getm_notBefore(certificate.get()), -static_cast<long>(i % 365), 0, &now);
  X509_time_adj_ex(X509_getm_notAfter(certificate.get()), 365, 0, &now);
  X509_set_pubkey(certificate.get(), key);
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* email = ASN1_IA5STRING_new();
  const std::string address = Address(i);
  ASN1_STRING_set(email, address.data(), static_cast<int>(address.size()));
  GENERAL_NAME_set0_value(name, GEN_EMAIL, email);
  sk_GENERAL_NAME_push(names, name);
  X509_add1_ext_i2d(certificate.get(), NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);
  GENERAL_NAMES_free(names);
  if (X509_sign(certificate.get(), key, nullptr) <= 0) Die("X509_sign failed");
  unsigned char* der = nullptr;
  const int length = i2d_X509(certificate.get(), &der);
  if (length <= 0) Die("i2d_X509 failed");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

void Build(CertificateStore& store, uint64_t count) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) Die("cannot make an Ed25519 key");
  X509NamePtr issuer(X509_NAME_new());
  X509_NAME_add_entry_by_txt(issuer.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Bench Directory CA"), -1, -1,
                             0);
  constexpr uint64_t kBatch = 10000;
  const absl::Time started = absl::Now();
  absl::Duration putting;
  std::vector<std::string> ders;
  for (uint64_t first = 0; first < count; first += kBatch) {
    const uint64_t n = std::min(kBatch, count - first);
    ders.assign(n, {});
    // Signing is most of the work: both cores make certificates, then one
    // transaction stores them.
    std::thread helper([&] {
      for (uint64_t j = 1; j < n; j += 2)
        ders[j] = MakeCertificate(first + j, key.get(), issuer.get());
    });
    for (uint64_t j = 0; j < n; j += 2)
      ders[j] = MakeCertificate(first + j, key.get(), issuer.get());
    helper.join();
    std::vector<PutRequest> requests;
    requests.reserve(n);
    for (const std::string& der : ders) requests.push_back({.der = der});
    const absl::Time put_started = absl::Now();
    if (absl::Status status = store.PutAll(requests); !status.ok()) Die(status.ToString());
    putting += absl::Now() - put_started;
    if ((first / kBatch) % 10 == 9) {
      std::fprintf(stderr, "bench: %llu certificates stored (%.0f s)\n",
                   static_cast<unsigned long long>(first + n),
                   absl::ToDoubleSeconds(absl::Now() - started));
    }
  }
  std::printf("build: %llu certificates in %.1f s, of which PutAll %.1f s (%.0f certificates/s)\n",
              static_cast<unsigned long long>(count), absl::ToDoubleSeconds(absl::Now() - started),
              absl::ToDoubleSeconds(putting),
              static_cast<double>(count) / absl::ToDoubleSeconds(putting));
}

int64_t FileSize(const std::string& path) {
  struct stat info = {};
  return stat(path.c_str(), &info) == 0 ? static_cast<int64_t>(info.st_size) : 0;
}

struct Measured {
  LatencyHistogram histogram;
  uint64_t lookups = 0;
  uint64_t wrong = 0;
  double seconds = 0;
};

// `threads` callers each Find a random address, one that is there or (miss)
// one that is not, for the warm-up and then the measured time.
Measured Measure(CertificateStore& store, uint64_t count, int threads, bool miss,
                 const Flags& flags) {
  std::atomic<int> phase = 0;  // 0 warm-up, 1 measuring, 2 done
  std::vector<Measured> per_thread(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 random(static_cast<uint64_t>(t) * 7919 + 1);
      Measured& mine = per_thread[static_cast<size_t>(t)];
      while (phase.load(std::memory_order_relaxed) < 2) {
        const uint64_t i = random() % count;
        const std::string address =
            miss ? absl::StrCat("nobody-", i, "@bench.example") : Address(i);
        const auto begin = std::chrono::steady_clock::now();
        absl::StatusOr<std::vector<directory::DirectoryCertificate>> found = store.Find(address);
        const auto end = std::chrono::steady_clock::now();
        if (phase.load(std::memory_order_relaxed) != 1) continue;
        mine.histogram.Record(
            std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin).count());
        ++mine.lookups;
        if (!found.ok() || found->size() != (miss ? 0u : 1u)) ++mine.wrong;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(flags.warmup_ms));
  const auto begin = std::chrono::steady_clock::now();
  phase = 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(flags.measure_ms));
  phase = 2;
  const auto end = std::chrono::steady_clock::now();
  for (std::thread& worker : workers) worker.join();
  Measured total;
  for (const Measured& one : per_thread) {
    total.histogram.Merge(one.histogram);
    total.lookups += one.lookups;
    total.wrong += one.wrong;
  }
  total.seconds = std::chrono::duration<double>(end - begin).count();
  return total;
}

int Run(const Flags& flags) {
  std::string dir = flags.dir;
  bool made_dir = false;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/store-bench-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp failed");
    dir = pattern;
    made_dir = true;
  }
  const std::string path = absl::StrCat(dir, "/directory.sqlite");
  {
    absl::StatusOr<std::unique_ptr<CertificateStore>> store = CertificateStore::Open(path);
    if (!store.ok()) Die(store.status().ToString());
    absl::StatusOr<uint64_t> existing = (*store)->Count();
    if (!existing.ok()) Die(existing.status().ToString());
    if (*existing != flags.certificates) {
      if (*existing != 0)
        Die(absl::StrCat(path, " holds ", *existing, " certificates, not ", flags.certificates));
      Build(**store, flags.certificates);
    }
  }  // closed: the WAL is checkpointed into the file
  std::printf("size: %s %.1f MiB (%.0f bytes per certificate), WAL %lld bytes\n", path.c_str(),
              static_cast<double>(FileSize(path)) / (1 << 20),
              static_cast<double>(FileSize(path)) / static_cast<double>(flags.certificates),
              static_cast<long long>(FileSize(path + "-wal")));

  absl::StatusOr<std::unique_ptr<CertificateStore>> store = CertificateStore::Open(path);
  if (!store.ok()) Die(store.status().ToString());
  int failures = 0;
  for (const auto& [threads, miss] :
       std::vector<std::pair<int, bool>>{{1, false}, {2, false}, {1, true}}) {
    const Measured m = Measure(**store, flags.certificates, threads, miss, flags);
    std::printf(
        "find %-4s threads=%d: %.0f lookups/s, p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f "
        "us (%llu lookups, %llu wrong)\n",
        miss ? "miss" : "hit", threads, static_cast<double>(m.lookups) / m.seconds,
        m.histogram.PercentileMicros(0.5), m.histogram.PercentileMicros(0.99),
        m.histogram.PercentileMicros(0.999), m.histogram.MaxMicros(),
        static_cast<unsigned long long>(m.lookups), static_cast<unsigned long long>(m.wrong));
    if (m.wrong != 0) ++failures;
  }
  std::fflush(stdout);
  store->reset();
  if (made_dir && !flags.keep) {
    for (const char* suffix : {"", "-wal", "-shm"}) unlink(absl::StrCat(path, suffix).c_str());
    rmdir(dir.c_str());
  } else {
    std::printf("kept: %s\n", path.c_str());
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) {
  return signet::bench::Run(signet::bench::ParseFlags(argc, argv));
}
