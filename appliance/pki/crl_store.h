// Where certificate revocation lists come from: files an operator places
// (one or more files, or a directory; read again when they change) and the
// HTTP distribution points named in certificates, fetched on first need and
// kept until the CRL's nextUpdate. Thread-safe; one store serves every
// verification. The CRLs are not trusted here: OpenSSL checks each one's
// signature, issuer, scope and time when it uses it (revocation_check.h).
#ifndef SIGNET_APPLIANCE_PKI_CRL_STORE_H_
#define SIGNET_APPLIANCE_PKI_CRL_STORE_H_

#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ossl_ptr.h"

namespace signet::pki {

struct CrlStoreOptions {
  // PEM or DER CRL files; each must exist and parse when the store is made.
  std::vector<std::string> files;
  // Every regular file in it that parses as a CRL (others are skipped, with
  // a warning); re-read when the set of files or one's size or mtime changes.
  std::string directory;
  // Fetch CRLs from the certificates' http: distribution points. Off:
  // the files only (offline mode).
  bool fetch = true;
  absl::Duration fetch_timeout = absl::Seconds(5);
  size_t max_crl_bytes = 20 << 20;
  // How many fetched CRLs are kept at most; the least recently used goes.
  size_t max_cached_crls = 256;
  // A distribution point that failed is not asked again for this long, so
  // that a responder that is down costs one caller the timeout, not every
  // caller.
  absl::Duration retry_after_failure = absl::Seconds(60);
  // A CRL without nextUpdate is kept this long.
  absl::Duration max_age_without_next_update = absl::Hours(1);
  // How often the files are checked for changes.
  absl::Duration reload_interval = absl::Seconds(1);
  // RefreshDue() fetches a cached CRL again once this fraction of its
  // lifetime (thisUpdate to nextUpdate) has passed, so that callers keep
  // meeting a fresh CRL in the cache instead of waiting for a fetch when the
  // old one expires.
  double refresh_after_fraction = 0.8;
};

// What the store holds for one source, for health and the operator.
struct CrlSourceState {
  std::string source;  // "file <path>" or the distribution point's URL
  // Of the CRL held; absent when the source has none (never answered).
  std::optional<absl::Time> this_update;
  std::optional<absl::Time> next_update;
  // Since when fetching from this point fails (absent: its last fetch
  // worked), and why.
  std::optional<absl::Time> failing_since;
  std::string failure;
};

// A CRL and where it came from ("file /etc/signet/crl/ca.crl",
// "http://crl.bank.example/ca.crl").
struct SourcedCrl {
  X509CrlPtr crl;
  std::string source;
};

class CrlStore {
 public:
  // InvalidArgument when a configured file is missing or is not a CRL, or
  // the directory cannot be read.
  static absl::StatusOr<std::shared_ptr<CrlStore>> Create(CrlStoreOptions options);

  CrlStore(const CrlStore&) = delete;
  CrlStore& operator=(const CrlStore&) = delete;

  // The CRLs that may speak for `certificate`: the files' CRLs issued by
  // `issuer`, the files' indirect CRLs, and what its http: distribution
  // points serve (fetched now when not cached; may block for the fetch
  // timeout).
  std::vector<SourcedCrl> CrlsFor(X509* certificate, const X509_NAME* issuer);

  struct Counters {
    uint64_t fetches = 0;             // HTTP requests made
    uint64_t fetch_failures = 0;      // of which failed
    uint64_t cache_hits = 0;          // distribution points answered from the cache
    uint64_t file_reloads = 0;        // times the files were read again
    uint64_t remembered_answers = 0;  // certificates answered from the memo
  };
  Counters counters() const;

  // A memo of what OpenSSL concluded from this store's CRLs: "certificate
  // C, issued by the certificate I, is on none of the CRLs L that speak for
  // it". With it a repeated verification skips the CRL checks, whose cost is
  // mostly one signature verification per CRL per call (OpenSSL keeps no
  // record that a CRL's signature was checked). The key names C, I and each
  // CRL of L by digest (CrlAnswerKey), so a CRL replaced on disk or fetched
  // anew is a different key; an answer is kept until the earliest
  // nextUpdate of L.
  struct GoodAnswer {
    std::string sources;
    std::optional<absl::Time> this_update;
  };
  std::optional<GoodAnswer> RememberedGood(const std::string& key);
  void RememberGood(const std::string& key, GoodAnswer answer, absl::Time expires);

  // Every source the store holds or has tried, by name.
  std::vector<CrlSourceState> Sources() const;

  // The background refresher's step (crl_refresher.h): reads the files
  // again if they changed, and fetches again each cached CRL that callers
  // still use and that is past refresh_after_fraction of its lifetime (or
  // past nextUpdate, once its failure pause is over). Callers meanwhile get
  // the CRL already held. Returns the number of fetches made.
  int RefreshDue();

 private:
  explicit CrlStore(CrlStoreOptions options) : options_(std::move(options)) {}

  // One file, and the CRL it held when last read (null: none yet).
  struct FileState {
    int64_t size = -1;
    int64_t mtime_ns = -1;
    X509CrlPtr crl;
    // Decided when the file is read, not on every lookup.
    bool indirect = false;
  };
  struct Fetched {
    X509CrlPtr crl;
    absl::Time expires;
    absl::Time failed_until;
    std::string failure;
    std::optional<absl::Time> failing_since;
    // When to fetch again ahead of `expires`.
    absl::Time refresh_at = absl::InfiniteFuture();
    uint64_t last_used = 0;
    // last_used when the refresher last fetched it: unchanged means nobody
    // asked since.
    uint64_t used_at_fetch = 0;
    // Held during the fetch, so that callers needing the same point wait
    // for one request instead of each making their own.
    std::shared_ptr<std::mutex> fetching = std::make_shared<std::mutex>();
  };

  absl::Status ReloadFiles(bool strict);
  std::vector<std::string> ListFiles(absl::Status* error) const;
  std::vector<SourcedCrl> FromDistributionPoint(const std::string& url);
  // Fetches `url` and stores the answer (the caller holds the point's
  // fetching mutex, not fetched_mutex_). A fetch for a caller counts as a
  // use of the point; the refresher's own does not.
  X509CrlPtr Fetch(const std::string& url, absl::Time now, bool for_caller);

  const CrlStoreOptions options_;

  mutable std::mutex files_mutex_;
  absl::Time files_checked_ = absl::InfinitePast();
  std::map<std::string, FileState> files_;

  mutable std::mutex fetched_mutex_;
  std::map<std::string, Fetched> fetched_;
  uint64_t use_clock_ = 0;
  Counters counters_;
  // Guarded by fetched_mutex_ too.
  struct Remembered {
    GoodAnswer answer;
    absl::Time expires;
    uint64_t last_used = 0;
  };
  std::map<std::string, Remembered> remembered_;
};

// The memo's key for `certificate` issued by `issuer` judged by `crls`:
// both certificates' SHA-256 and each CRL's SHA-1 (the one OpenSSL keeps
// from decoding it), in order. Empty when one cannot be hashed: nothing is
// then remembered.
std::string CrlAnswerKey(X509* certificate, X509* issuer, const std::vector<SourcedCrl>& crls);

// The http: URLs in a certificate's cRLDistributionPoints, then in its
// freshestCRL (where delta CRLs are): full names only, in order.
std::vector<std::string> HttpDistributionPoints(X509* certificate);

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_CRL_STORE_H_
