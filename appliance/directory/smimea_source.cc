#include "appliance/directory/smimea_source.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <poll.h>
#include <unbound.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/directory/email_address.h"
#include "common/log.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"

namespace signet::directory {
namespace {

// RFC 8162 section 4: the SMIMEA RR type; class IN.
constexpr int kTypeSmimea = 53;
constexpr int kClassIn = 1;
constexpr int kRcodeNoError = 0;
constexpr int kRcodeNxDomain = 3;

struct UbCtxDeleter {
  void operator()(ub_ctx* ctx) const { ub_ctx_delete(ctx); }
};
using UbCtxPtr = std::unique_ptr<ub_ctx, UbCtxDeleter>;

struct UbResultDeleter {
  void operator()(ub_result* result) const { ub_resolve_free(result); }
};
using UbResultPtr = std::unique_ptr<ub_result, UbResultDeleter>;

class Pipe {
 public:
  ~Pipe() {
    if (fds_[0] >= 0) close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  bool Open() { return pipe2(fds_, O_CLOEXEC | O_NONBLOCK) == 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }

 private:
  int fds_[2] = {-1, -1};
};

// One query in flight. Shared between the Find that waits for it and the
// callback, which may still run after a Find that timed out has returned
// (ub_cancel fails once the answer is being delivered).
struct Pending {
  std::mutex mu;
  std::condition_variable answered;
  bool done = false;
  int error = 0;
  UbResultPtr result;
};

void OnAnswer(void* data, int error, ub_result* result) {
  std::unique_ptr<std::shared_ptr<Pending>> owner(static_cast<std::shared_ptr<Pending>*>(data));
  Pending& pending = **owner;
  std::lock_guard<std::mutex> lock(pending.mu);
  pending.done = true;
  pending.error = error;
  pending.result.reset(result);
  pending.answered.notify_all();
}

absl::Status UbError(absl::string_view what, int error) {
  return absl::InvalidArgumentError(
      absl::StrCat("SMIMEA resolver: ", what, ": ", ub_strerror(error)));
}

}  // namespace

class SmimeaSource::Impl {
 public:
  Impl(UbCtxPtr ctx, std::unique_ptr<Pipe> wake, absl::Duration timeout)
      : ctx_(std::move(ctx)), wake_(std::move(wake)), timeout_(timeout) {
    processor_ = std::thread([this] { DeliverAnswers(); });
  }

  ~Impl() {
    const char stop = 1;
    while (write(wake_->write_end(), &stop, 1) < 0 && errno == EINTR) {
    }
    processor_.join();
    // ctx_ goes last: cancelled queries may still be running in unbound's
    // thread, which ub_ctx_delete stops.
  }

  absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address);

  SmimeaCounters counters() const {
    return SmimeaCounters{.secure = secure_.load(),
                          .insecure = insecure_.load(),
                          .bogus = bogus_.load(),
                          .nxdomain = nxdomain_.load(),
                          .nodata = nodata_.load(),
                          .unavailable = unavailable_.load()};
  }

 private:
  // Hands unbound's answers to their callbacks until the destructor writes
  // to the wake pipe. ub_process does not block.
  void DeliverAnswers() {
    pollfd fds[2] = {{ub_fd(ctx_.get()), POLLIN, 0}, {wake_->read_end(), POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        Log(LogLevel::kError, absl::StrCat("SMIMEA resolver: poll failed: ", strerror(errno)));
        return;
      }
      if (fds[1].revents != 0) return;
      if (fds[0].revents != 0) {
        if (const int error = ub_process(ctx_.get()); error != 0) {
          Log(LogLevel::kError, absl::StrCat("SMIMEA resolver: ub_process: ", ub_strerror(error)));
        }
      }
    }
  }

  absl::Status Unavailable(std::string message) {
    ++unavailable_;
    Log(LogLevel::kWarning, message);
    return absl::UnavailableError(std::move(message));
  }

  UbCtxPtr ctx_;
  std::unique_ptr<Pipe> wake_;
  absl::Duration timeout_;
  std::thread processor_;
  std::atomic<uint64_t> secure_{0}, insecure_{0}, bogus_{0}, nxdomain_{0}, nodata_{0},
      unavailable_{0};
};

absl::StatusOr<std::vector<DirectoryCertificate>> SmimeaSource::Impl::Find(
    absl::string_view address) {
  ASSIGN_OR_RETURN(const std::string normalized, NormalizeAddress(address));
  const std::string owner = SmimeaOwnerName(normalized);
  const absl::Time deadline = absl::Now() + timeout_;

  auto pending = std::make_shared<Pending>();
  auto callback_data = std::make_unique<std::shared_ptr<Pending>>(pending);
  int id = 0;
  if (const int error = ub_resolve_async(ctx_.get(), owner.c_str(), kTypeSmimea, kClassIn,
                                         callback_data.get(), OnAnswer, &id);
      error != 0) {
    return Unavailable(
        absl::StrCat("SMIMEA lookup for ", normalized, " failed: ", ub_strerror(error)));
  }
  // From here the callback owns it, unless the query is cancelled.
  std::shared_ptr<Pending>* const in_flight = callback_data.release();

  std::unique_lock<std::mutex> lock(pending->mu);
  if (!pending->answered.wait_until(lock, absl::ToChronoTime(deadline),
                                    [&] { return pending->done; })) {
    lock.unlock();
    if (ub_cancel(ctx_.get(), id) == 0) delete in_flight;
    return Unavailable(absl::StrCat("SMIMEA lookup for ", normalized, " timed out after ",
                                    absl::FormatDuration(timeout_)));
  }
  if (pending->error != 0) {
    return Unavailable(
        absl::StrCat("SMIMEA lookup for ", normalized, " failed: ", ub_strerror(pending->error)));
  }
  const ub_result& result = *pending->result;
  if (result.bogus) {
    ++bogus_;
    Log(LogLevel::kWarning,
        absl::StrCat("SMIMEA answer for ", normalized, " (", owner,
                     ") failed DNSSEC validation and is ignored: ",
                     result.why_bogus != nullptr ? result.why_bogus : "no reason given"));
    return std::vector<DirectoryCertificate>();
  }
  if (result.rcode != kRcodeNoError && result.rcode != kRcodeNxDomain) {
    return Unavailable(absl::StrCat("SMIMEA lookup for ", normalized, " (", owner,
                                    ") answered with DNS rcode ", result.rcode));
  }
  if (!result.secure) {
    ++insecure_;
    Log(LogLevel::kInfo, absl::StrCat("SMIMEA answer for ", normalized, " (", owner,
                                      ") is not DNSSEC-signed and is ignored"));
    return std::vector<DirectoryCertificate>();
  }
  if (result.nxdomain) {
    ++nxdomain_;
    return std::vector<DirectoryCertificate>();
  }
  if (!result.havedata) {
    ++nodata_;
    return std::vector<DirectoryCertificate>();
  }
  ++secure_;

  std::vector<DirectoryCertificate> found;
  const absl::Time now = absl::Now();
  for (int i = 0; result.data[i] != nullptr; ++i) {
    const auto* rdata = reinterpret_cast<const unsigned char*>(result.data[i]);
    const int length = result.len[i];
    if (length < 4) {
      Log(LogLevel::kWarning,
          absl::StrCat("SMIMEA record for ", normalized, " too short (", length, " bytes)"));
      continue;
    }
    const int usage = rdata[0];
    const int selector = rdata[1];
    const int matching = rdata[2];
    // Only a whole certificate can be encrypted to; a key or a hash only
    // matches one found elsewhere, which the directory does not do.
    if (selector != 0 || matching != 0) {
      Log(LogLevel::kInfo,
          absl::StrCat("SMIMEA record for ", normalized, " with selector ", selector,
                       ", matching type ", matching, " carries no certificate; skipped"));
      continue;
    }
    const unsigned char* p = rdata + 3;
    const unsigned char* const end = rdata + length;
    X509Ptr certificate(d2i_X509(nullptr, &p, end - p));
    if (certificate == nullptr || p != end) {
      Log(LogLevel::kWarning,
          absl::StrCat("SMIMEA record for ", normalized,
                       certificate == nullptr ? " holds no DER certificate"
                                              : " has bytes after its certificate",
                       "; skipped"));
      continue;
    }
    found.push_back(DirectoryCertificate{
        .der = std::string(reinterpret_cast<const char*>(rdata + 3), length - 3),
        .source = "smimea",
        .added = now,
        .dane_usage = usage,
    });
  }
  return found;
}

absl::StatusOr<std::unique_ptr<SmimeaSource>> SmimeaSource::Create(SmimeaSourceOptions options) {
  if (options.trust_anchor_file.empty()) {
    return absl::InvalidArgumentError("SMIMEA needs a DNSSEC trust anchor file");
  }
  if (std::ifstream probe(options.trust_anchor_file); !probe.is_open()) {
    return absl::InvalidArgumentError(
        absl::StrCat("SMIMEA trust anchor file ", options.trust_anchor_file, " cannot be read"));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("SMIMEA timeout must be positive");
  }
  UbCtxPtr ctx(ub_ctx_create());
  if (ctx == nullptr) return absl::InternalError("SMIMEA resolver: ub_ctx_create failed");
  // A thread, not a forked process (see the header).
  if (const int error = ub_ctx_async(ctx.get(), 1); error != 0) {
    return UbError("ub_ctx_async", error);
  }
  if (const int error = ub_ctx_add_ta_file(ctx.get(), options.trust_anchor_file.c_str());
      error != 0) {
    return UbError(absl::StrCat("trust anchor file ", options.trust_anchor_file), error);
  }
  // Servers on loopback are the normal case here (a local resolver, or the
  // bank's own DNS in tests); unbound refuses them by default.
  if (const int error = ub_ctx_set_option(ctx.get(), "do-not-query-localhost:", "no"); error != 0) {
    return UbError("do-not-query-localhost", error);
  }
  if (!options.authoritative_server.empty()) {
    // Forwarded to, not a stub zone for ".": unbound treats a stub for the
    // root as root hints and primes it with ". NS", which a server
    // authoritative for the bank's zones only refuses. An authoritative
    // server ignores the RD bit of forwarded queries and answers from its
    // zones; the validator checks them as it would a resolver's. And with
    // one server for every name there is no delegation to minimise
    // queries along.
    if (const int error = ub_ctx_set_option(ctx.get(), "qname-minimisation:", "no"); error != 0) {
      return UbError("qname-minimisation", error);
    }
    if (const int error = ub_ctx_set_fwd(ctx.get(), options.authoritative_server.c_str());
        error != 0) {
      return UbError(absl::StrCat("authoritative server ", options.authoritative_server), error);
    }
  } else if (!options.forwarders.empty()) {
    for (const std::string& forwarder : options.forwarders) {
      if (const int error = ub_ctx_set_fwd(ctx.get(), forwarder.c_str()); error != 0) {
        return UbError(absl::StrCat("forwarder ", forwarder), error);
      }
    }
  } else if (const int error = ub_ctx_resolvconf(ctx.get(), nullptr); error != 0) {
    return UbError("/etc/resolv.conf", error);
  }
  // why_bogus is only filled in from validation level 2 on.
  if (const int error = ub_ctx_set_option(ctx.get(), "val-log-level:", "2"); error != 0) {
    return UbError("val-log-level", error);
  }

  // localhost is a local zone: answered without the network, and the first
  // query sets the context up, reading the trust anchors, so that a bad file
  // is reported now rather than at every Find.
  ub_result* probe_result = nullptr;
  if (const int error = ub_resolve(ctx.get(), "localhost.", 1, kClassIn, &probe_result);
      error != 0) {
    return UbError(absl::StrCat("setting up with trust anchor file ", options.trust_anchor_file),
                   error);
  }
  ub_resolve_free(probe_result);

  auto wake = std::make_unique<Pipe>();
  if (!wake->Open()) return absl::InternalError("SMIMEA resolver: pipe2 failed");
  return std::unique_ptr<SmimeaSource>(
      new SmimeaSource(std::make_unique<Impl>(std::move(ctx), std::move(wake), options.timeout)));
}

SmimeaSource::SmimeaSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SmimeaSource::~SmimeaSource() = default;

absl::StatusOr<std::vector<DirectoryCertificate>> SmimeaSource::Find(absl::string_view address) {
  return impl_->Find(address);
}

SmimeaCounters SmimeaSource::counters() const { return impl_->counters(); }

}  // namespace signet::directory
