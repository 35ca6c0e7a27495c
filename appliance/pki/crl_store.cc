#include "appliance/pki/crl_store.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/pki/http_fetch.h"
#include "appliance/pki/lru_eviction.h"
#include "common/asn1_time.h"
#include "common/log.h"
#include "common/openssl_error.h"
#include "common/read_file.h"
#include "common/status_macros.h"

namespace signet::pki {
namespace {

// A CRL in PEM or DER.
X509CrlPtr ParseCrl(absl::string_view data) {
  BioPtr bio = ReadBio(data);
  X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) {
    const auto* der = reinterpret_cast<const unsigned char*>(data.data());
    crl.reset(d2i_X509_CRL(nullptr, &der, static_cast<long>(data.size())));
  }
  ERR_clear_error();
  return crl;
}

// Indirect CRLs (RFC 5280 section 5.2.5) speak for certificates of other
// issuers, so they are offered for every certificate.
bool IsIndirect(X509_CRL* crl) {
  ISSUING_DIST_POINT* idp = static_cast<ISSUING_DIST_POINT*>(
      X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, nullptr, nullptr));
  const bool indirect = idp != nullptr && idp->indirectCRL > 0;
  ISSUING_DIST_POINT_free(idp);
  return indirect;
}

std::vector<SourcedCrl> One(X509_CRL* crl, const std::string& source) {
  std::vector<SourcedCrl> result;
  result.push_back({ShareCrl(crl), source});
  return result;
}

void AppendHttpUrls(X509* certificate, int nid, std::vector<std::string>* urls) {
  CRL_DIST_POINTS* points =
      static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(certificate, nid, nullptr, nullptr));
  if (points == nullptr) return;
  for (int i = 0; i < sk_DIST_POINT_num(points); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points, i);
    if (point->distpoint == nullptr || point->distpoint->type != 0) continue;
    const GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      std::string url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
      if (absl::StartsWithIgnoreCase(url, "http://") &&
          std::find(urls->begin(), urls->end(), url) == urls->end()) {
        urls->push_back(std::move(url));
      }
    }
  }
  CRL_DIST_POINTS_free(points);
}

}  // namespace

std::vector<std::string> HttpDistributionPoints(X509* certificate) {
  std::vector<std::string> urls;
  for (int nid : {NID_crl_distribution_points, NID_freshest_crl}) {
    AppendHttpUrls(certificate, nid, &urls);
  }
  return urls;
}

absl::StatusOr<std::shared_ptr<CrlStore>> CrlStore::Create(CrlStoreOptions options) {
  std::shared_ptr<CrlStore> store(new CrlStore(std::move(options)));
  RETURN_IF_ERROR(store->ReloadFiles(/*strict=*/true));
  return store;
}

std::vector<std::string> CrlStore::ListFiles(absl::Status* error) const {
  std::vector<std::string> paths = options_.files;
  if (options_.directory.empty()) return paths;
  DIR* dir = opendir(options_.directory.c_str());
  if (dir == nullptr) {
    *error = absl::InvalidArgumentError(
        absl::StrCat("cannot read the CRL directory ", options_.directory));
    return paths;
  }
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = absl::StrCat(options_.directory, "/", entry->d_name);
    struct stat info;
    if (stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode)) paths.push_back(path);
  }
  closedir(dir);
  std::sort(paths.begin(), paths.end());
  return paths;
}

absl::Status CrlStore::ReloadFiles(bool strict) {
  absl::Status list_error;
  const std::vector<std::string> paths = ListFiles(&list_error);
  if (strict && !list_error.ok()) return list_error;
  std::map<std::string, FileState> next;
  bool changed = false;
  for (const std::string& path : paths) {
    const bool configured =
        std::find(options_.files.begin(), options_.files.end(), path) != options_.files.end();
    struct stat info;
    if (stat(path.c_str(), &info) != 0) {
      if (strict && configured) {
        return absl::InvalidArgumentError(absl::StrCat("CRL file ", path, " does not exist"));
      }
      continue;
    }
    FileState state;
    state.size = info.st_size;
    state.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
    auto old = files_.find(path);
    if (old != files_.end() && old->second.size == state.size &&
        old->second.mtime_ns == state.mtime_ns) {
      next.emplace(path, std::move(old->second));
      continue;
    }
    changed = true;
    absl::StatusOr<std::string> data =
        ReadFileUpTo(path, options_.max_crl_bytes, "the limit for a CRL (max_crl_bytes)");
    X509CrlPtr crl = data.ok() ? ParseCrl(*data) : nullptr;
    if (!crl) {
      const std::string why =
          data.ok() ? "is not a CRL (PEM or DER)" : std::string(data.status().message());
      if (strict && configured) {
        return absl::InvalidArgumentError(absl::StrCat("CRL file ", path, ": ", why));
      }
      // A file being rewritten in place may be caught half-written: the
      // previous version stays until a complete one is there.
      Log(LogLevel::kWarning, absl::StrCat("CRL file ", path, " skipped: ", why));
      if (old != files_.end()) {
        state.crl = std::move(old->second.crl);
        state.indirect = old->second.indirect;
        state.mtime_ns = -1;  // read again next time
      }
      next.emplace(path, std::move(state));
      continue;
    }
    state.indirect = IsIndirect(crl.get());
    state.crl = std::move(crl);
    next.emplace(path, std::move(state));
  }
  if (next.size() != files_.size()) changed = true;
  files_ = std::move(next);
  if (changed) {
    std::lock_guard<std::mutex> lock(fetched_mutex_);
    ++counters_.file_reloads;
  }
  return absl::OkStatus();
}

std::vector<SourcedCrl> CrlStore::CrlsFor(X509* certificate, const X509_NAME* issuer) {
  std::vector<SourcedCrl> found;
  {
    std::lock_guard<std::mutex> lock(files_mutex_);
    const absl::Time now = absl::Now();
    if (now - files_checked_ >= options_.reload_interval) {
      files_checked_ = now;
      (void)ReloadFiles(/*strict=*/false);
    }
    for (const auto& [path, state] : files_) {
      if (state.crl != nullptr &&
          (state.indirect || X509_NAME_cmp(X509_CRL_get_issuer(state.crl.get()), issuer) == 0)) {
        found.push_back({ShareCrl(state.crl.get()), absl::StrCat("file ", path)});
      }
    }
  }
  if (!options_.fetch) return found;
  for (const std::string& url : HttpDistributionPoints(certificate)) {
    for (SourcedCrl& crl : FromDistributionPoint(url)) found.push_back(std::move(crl));
  }
  return found;
}

std::vector<SourcedCrl> CrlStore::FromDistributionPoint(const std::string& url) {
  std::shared_ptr<std::mutex> fetching;
  {
    // A fresh CRL is answered at once, even while the refresher fetches
    // its successor.
    std::lock_guard<std::mutex> lock(fetched_mutex_);
    Fetched& entry = fetched_[url];
    entry.last_used = ++use_clock_;
    if (entry.crl && absl::Now() < entry.expires) {
      ++counters_.cache_hits;
      return One(entry.crl.get(), url);
    }
    fetching = entry.fetching;
  }
  // One fetch per point at a time; the others wait for its result.
  std::lock_guard<std::mutex> one_fetch(*fetching);
  const absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(fetched_mutex_);
    Fetched& entry = fetched_[url];
    if (entry.crl && now < entry.expires) {
      ++counters_.cache_hits;
      return One(entry.crl.get(), url);
    }
    if (now < entry.failed_until) {
      // An expired CRL is still offered: OpenSSL reports it as expired,
      // and a certificate it lists stays revoked.
      if (entry.crl) return One(entry.crl.get(), url);
      return {};
    }
  }
  X509CrlPtr crl = Fetch(url, now, /*for_caller=*/true);
  std::lock_guard<std::mutex> lock(fetched_mutex_);
  std::vector<SourcedCrl> result;
  if (crl) result = One(crl.get(), url);
  EvictLeastRecentlyUsed(fetched_, options_.max_cached_crls);
  return result;
}

X509CrlPtr CrlStore::Fetch(const std::string& url, absl::Time now, bool for_caller) {
  {
    std::lock_guard<std::mutex> lock(fetched_mutex_);
    ++counters_.fetches;
  }
  absl::StatusOr<std::string> body = HttpTransfer({.url = url,
                                                   .timeout = options_.fetch_timeout,
                                                   .max_response_bytes = options_.max_crl_bytes});
  X509CrlPtr crl = body.ok() ? ParseCrl(*body) : nullptr;
  std::lock_guard<std::mutex> lock(fetched_mutex_);
  Fetched& entry = fetched_[url];
  if (!crl) {
    ++counters_.fetch_failures;
    entry.failure = body.ok() ? "the answer is not a CRL" : std::string(body.status().message());
    entry.failed_until = now + options_.retry_after_failure;
    if (!entry.failing_since.has_value()) entry.failing_since = now;
    if (!for_caller) entry.used_at_fetch = entry.last_used;
    Log(LogLevel::kWarning, absl::StrCat("CRL distribution point ", url, ": ", entry.failure));
    return entry.crl ? ShareCrl(entry.crl.get()) : nullptr;
  }
  const std::optional<absl::Time> this_update = TimeOf(X509_CRL_get0_lastUpdate(crl.get()));
  const std::optional<absl::Time> next_update = TimeOf(X509_CRL_get0_nextUpdate(crl.get()));
  entry.expires = next_update.value_or(now + options_.max_age_without_next_update);
  const absl::Time issued = std::min(this_update.value_or(now), now);
  entry.refresh_at = entry.expires > issued
                         ? issued + (entry.expires - issued) * options_.refresh_after_fraction
                         : entry.expires;
  // A CRL already past its nextUpdate is fetched again after the failure
  // pause, not on every call.
  if (entry.expires <= now) entry.failed_until = now + options_.retry_after_failure;
  entry.crl = std::move(crl);
  entry.failure.clear();
  entry.failing_since.reset();
  if (!for_caller) entry.used_at_fetch = entry.last_used;
  return ShareCrl(entry.crl.get());
}

int CrlStore::RefreshDue() {
  {
    std::lock_guard<std::mutex> lock(files_mutex_);
    files_checked_ = absl::Now();
    (void)ReloadFiles(/*strict=*/false);
  }
  if (!options_.fetch) return 0;
  // A point nobody asked for since its last fetch is left to expire: the
  // refresher keeps what is in use, not everything ever seen. A point that
  // never answered is tried again after its failure pause, so that the next
  // caller finds it in the cache instead of waiting for the fetch.
  auto due = [](const Fetched& entry, absl::Time now) {
    const bool in_use = entry.last_used != entry.used_at_fetch;
    const bool stale = entry.crl ? now >= entry.refresh_at : entry.failing_since.has_value();
    return in_use && stale && now >= entry.failed_until;
  };
  std::vector<std::pair<std::string, std::shared_ptr<std::mutex>>> candidates;
  {
    std::lock_guard<std::mutex> lock(fetched_mutex_);
    for (const auto& [url, entry] : fetched_) {
      if (due(entry, absl::Now())) candidates.emplace_back(url, entry.fetching);
    }
  }
  int fetched = 0;
  for (const auto& [url, fetching] : candidates) {
    std::lock_guard<std::mutex> one_fetch(*fetching);
    {
      // A caller may have fetched it meanwhile.
      std::lock_guard<std::mutex> lock(fetched_mutex_);
      auto entry = fetched_.find(url);
      if (entry == fetched_.end() || !due(entry->second, absl::Now())) continue;
    }
    (void)Fetch(url, absl::Now(), /*for_caller=*/false);
    ++fetched;
  }
  return fetched;
}

CrlStore::Counters CrlStore::counters() const {
  std::lock_guard<std::mutex> lock(fetched_mutex_);
  return counters_;
}

namespace {

// Entries of the answer memo at most: a few per certificate seen, and each
// small.
constexpr size_t kMaxRememberedAnswers = 4096;

}  // namespace

std::string CrlAnswerKey(X509* certificate, X509* issuer, const std::vector<SourcedCrl>& crls) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  std::string key;
  auto add = [&](bool hashed) {
    if (hashed) key.append(reinterpret_cast<const char*>(digest), length);
    return hashed;
  };
  if (certificate == nullptr || issuer == nullptr ||
      !add(X509_digest(certificate, EVP_sha256(), digest, &length) == 1) ||
      !add(X509_digest(issuer, EVP_sha256(), digest, &length) == 1)) {
    ERR_clear_error();
    return {};
  }
  for (const SourcedCrl& crl : crls) {
    if (!add(X509_CRL_digest(crl.crl.get(), EVP_sha1(), digest, &length) == 1)) {
      ERR_clear_error();
      return {};
    }
  }
  return key;
}

std::optional<CrlStore::GoodAnswer> CrlStore::RememberedGood(const std::string& key) {
  if (key.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(fetched_mutex_);
  auto found = remembered_.find(key);
  if (found == remembered_.end()) return std::nullopt;
  if (absl::Now() >= found->second.expires) {
    remembered_.erase(found);
    return std::nullopt;
  }
  found->second.last_used = ++use_clock_;
  ++counters_.remembered_answers;
  return found->second.answer;
}

void CrlStore::RememberGood(const std::string& key, GoodAnswer answer, absl::Time expires) {
  if (key.empty() || absl::Now() >= expires) return;
  std::lock_guard<std::mutex> lock(fetched_mutex_);
  remembered_[key] = {.answer = std::move(answer), .expires = expires, .last_used = ++use_clock_};
  EvictLeastRecentlyUsed(remembered_, kMaxRememberedAnswers);
}

std::vector<CrlSourceState> CrlStore::Sources() const {
  std::vector<CrlSourceState> sources;
  auto describe = [](X509_CRL* crl, CrlSourceState* state) {
    if (crl == nullptr) return;
    state->this_update = TimeOf(X509_CRL_get0_lastUpdate(crl));
    state->next_update = TimeOf(X509_CRL_get0_nextUpdate(crl));
  };
  {
    std::lock_guard<std::mutex> lock(files_mutex_);
    for (const auto& [path, file] : files_) {
      CrlSourceState state{.source = absl::StrCat("file ", path)};
      describe(file.crl.get(), &state);
      sources.push_back(std::move(state));
    }
  }
  std::lock_guard<std::mutex> lock(fetched_mutex_);
  for (const auto& [url, entry] : fetched_) {
    CrlSourceState state{
        .source = url, .failing_since = entry.failing_since, .failure = entry.failure};
    describe(entry.crl.get(), &state);
    sources.push_back(std::move(state));
  }
  return sources;
}

}  // namespace signet::pki
