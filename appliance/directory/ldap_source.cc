#include "appliance/directory/ldap_source.h"

#include <fcntl.h>
#include <ldap.h>
#include <openssl/crypto.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "appliance/directory/email_address.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "common/secret.h"
#include "common/sigpipe_block.h"
#include "common/status_macros.h"

namespace signet::directory {
namespace {

// A connection (or one not yet made) to one server.
struct LdapUnbinder {
  void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using LdapPtr = std::unique_ptr<LDAP, LdapUnbinder>;

struct MessageFreer {
  void operator()(LDAPMessage* message) const { ldap_msgfree(message); }
};
using MessagePtr = std::unique_ptr<LDAPMessage, MessageFreer>;

struct ValuesFreer {
  void operator()(berval** values) const { ldap_value_free_len(values); }
};
using ValuesPtr = std::unique_ptr<berval*, ValuesFreer>;

struct UrlFreer {
  void operator()(LDAPURLDesc* url) const { ldap_free_urldesc(url); }
};
using UrlPtr = std::unique_ptr<LDAPURLDesc, UrlFreer>;

struct AttributeNameFreer {
  void operator()(char* name) const { ldap_memfree(name); }
};
using AttributeNamePtr = std::unique_ptr<char, AttributeNameFreer>;

struct BerFreer {
  void operator()(BerElement* ber) const { ber_free(ber, 0); }
};
using BerPtr = std::unique_ptr<BerElement, BerFreer>;

// Idle connections kept per server; more concurrent lookups open more and
// close the surplus afterwards.
constexpr size_t kMaxIdleConnections = 4;
// A userSMIMECertificate bundle may hold a chain; it is bounded by this many
// maximal certificates.
constexpr size_t kMaxCertificatesPerBundle = 8;

// What the time left allows, never zero: libldap reads a zero timeval as
// "poll once" in some calls and "no limit" in others.
timeval TimeLeft(absl::Time deadline) {
  absl::Duration left = std::max(deadline - absl::Now(), absl::Milliseconds(1));
  return absl::ToTimeval(left);
}

absl::Status CheckUrl(const std::string& url) {
  LDAPURLDesc* parsed = nullptr;
  if (ldap_url_parse(url.c_str(), &parsed) != LDAP_URL_SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat("LDAP URL \"", url, "\" does not parse"));
  }
  UrlPtr owned(parsed);
  const std::string scheme = absl::AsciiStrToLower(parsed->lud_scheme ? parsed->lud_scheme : "");
  if (scheme != "ldap" && scheme != "ldaps") {
    return absl::InvalidArgumentError(
        absl::StrCat("LDAP URL \"", url, "\" is not ldap:// or ldaps://"));
  }
  if (parsed->lud_host == nullptr || parsed->lud_host[0] == '\0') {
    return absl::InvalidArgumentError(absl::StrCat("LDAP URL \"", url, "\" names no host"));
  }
  if ((parsed->lud_dn != nullptr && parsed->lud_dn[0] != '\0') || parsed->lud_attrs != nullptr ||
      parsed->lud_filter != nullptr || parsed->lud_exts != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LDAP URL \"", url, "\" has more than a host and port (the base DN is configured apart)"));
  }
  return absl::OkStatus();
}

// The first line of the file, read without passing through buffers that are
// not wiped.
absl::StatusOr<SecretString> ReadPasswordFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("LDAP bind password file ", path, " cannot be read"));
  }
  SecretString all;
  char buffer[512];
  ssize_t got;
  constexpr size_t kMaxFile = 64 << 10;
  while ((got = read(fd, buffer, sizeof(buffer))) > 0 && all.size() < kMaxFile) {
    all.Append(std::string_view(buffer, static_cast<size_t>(got)));
  }
  OPENSSL_cleanse(buffer, sizeof(buffer));
  close(fd);
  if (got < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("LDAP bind password file ", path, " cannot be read"));
  }
  std::string_view text = all.ExposeAsText();
  SecretString line(text.substr(0, text.find('\n')));
  line.TrimTrailingNewlines();
  if (line.empty()) {
    // A simple bind with a DN and no password is an unauthenticated bind,
    // which servers treat as anonymous: a silent downgrade.
    return absl::InvalidArgumentError(
        absl::StrCat("LDAP bind password file ", path, " has an empty first line"));
  }
  return line;
}

// The attribute's name without options ("userCertificate;binary" ->
// "usercertificate"), lower-cased.
std::string BaseAttributeName(absl::string_view name) {
  return absl::AsciiStrToLower(name.substr(0, name.find(';')));
}

}  // namespace

class LdapSource::Impl {
 public:
  Impl(LdapSourceOptions options, SecretString password)
      : options_(std::move(options)), password_(std::move(password)) {
    for (const std::string& url : options_.urls) {
      servers_.push_back(std::make_unique<Server>());
      servers_.back()->url = url;
    }
  }

  // Unbinding writes to each kept connection, whose server may be gone.
  ~Impl() {
    ScopedSigpipeBlock no_sigpipe;
    servers_.clear();
  }

  absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address);
  LdapSourceCounters counters() const {
    std::lock_guard lock(mu_);
    return counters_;
  }

 private:
  struct Server {
    std::string url;
    std::mutex mu;
    // Bound connections waiting for the next lookup. libldap handles are not
    // safe to share between threads, so each is used by one lookup at a time.
    std::vector<LdapPtr> idle;
  };
  struct CacheEntry {
    std::vector<DirectoryCertificate> certificates;
    absl::Time expires;
    std::list<std::string>::iterator position;
  };
  // What one server said: the certificates, or why not.
  struct Answer {
    bool answered = false;
    std::string failure;
    std::vector<DirectoryCertificate> certificates;
    uint64_t searches = 0;
    uint64_t skipped_values = 0;
  };

  absl::StatusOr<LdapPtr> Connect(const Server& server, absl::Time deadline);
  void Ask(Server& server, const std::string& filter, absl::Time deadline, Answer& answer);
  // The search on one connection; LDAP result code, with LDAP_SUCCESS for
  // an answer (complete or cut at the size limit).
  int Search(LDAP* ld, const Server& server, const std::string& filter, absl::Time deadline,
             Answer& answer);
  void ReadEntry(LDAP* ld, LDAPMessage* entry, const std::string& source, Answer& answer);
  void AddCertificate(std::string der, const std::string& source, Answer& answer);
  std::string Describe(int rc, const char* doing) const;

  bool CacheLookup(const std::string& address, std::vector<DirectoryCertificate>& out);
  void CacheStore(const std::string& address, const std::vector<DirectoryCertificate>& found);

  const LdapSourceOptions options_;
  const SecretString password_;
  std::vector<std::unique_ptr<Server>> servers_;

  mutable std::mutex mu_;  // the cache and the counters
  LdapSourceCounters counters_;
  std::list<std::string> lru_;  // most recently used first
  std::unordered_map<std::string, CacheEntry> cache_;
};

std::string LdapSource::Impl::Describe(int rc, const char* doing) const {
  switch (rc) {
    case LDAP_TIMEOUT:
      return absl::StrCat("timed out after ", absl::FormatDuration(options_.timeout), " (", doing,
                          ")");
    case LDAP_INVALID_CREDENTIALS:
      return absl::StrCat("bind as \"", options_.bind_dn, "\" refused: ", ldap_err2string(rc));
    case LDAP_NO_SUCH_OBJECT:
      return absl::StrCat("base DN \"", options_.base_dn, "\" not found or not readable (",
                          ldap_err2string(rc), ")");
    default:
      return absl::StrCat(ldap_err2string(rc), " (", doing, ")");
  }
}

absl::StatusOr<LdapPtr> LdapSource::Impl::Connect(const Server& server, absl::Time deadline) {
  LDAP* raw = nullptr;
  int rc = ldap_initialize(&raw, server.url.c_str());
  LdapPtr ld(raw);
  if (rc != LDAP_SUCCESS) return absl::UnavailableError(Describe(rc, "initializing"));
  const int version = LDAP_VERSION3;
  ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version);
  // A referral would send the bind credentials to a server nobody
  // configured.
  ldap_set_option(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  const timeval connect_time = TimeLeft(deadline);
  ldap_set_option(ld.get(), LDAP_OPT_NETWORK_TIMEOUT, &connect_time);
  // Bounds waiting for the bind's answer (ldap_sasl_bind_s has no timeout
  // argument of its own).
  const timeval bind_time = TimeLeft(deadline);
  ldap_set_option(ld.get(), LDAP_OPT_TIMEOUT, &bind_time);
  // Binding, anonymously too, makes the connection now, inside the
  // deadline, rather than in the search.
  berval credentials{};
  if (!options_.bind_dn.empty()) {
    std::string_view password = password_.ExposeAsText();
    credentials.bv_val = const_cast<char*>(password.data());
    credentials.bv_len = password.size();
  }
  rc = ldap_sasl_bind_s(ld.get(), options_.bind_dn.empty() ? "" : options_.bind_dn.c_str(),
                        LDAP_SASL_SIMPLE, &credentials, nullptr, nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return absl::UnavailableError(Describe(rc, "connecting and binding"));
  return ld;
}

void LdapSource::Impl::AddCertificate(std::string der, const std::string& source, Answer& answer) {
  if (answer.certificates.size() >= options_.max_entries) return;
  for (const DirectoryCertificate& known : answer.certificates) {
    if (known.der == der) return;
  }
  DirectoryCertificate certificate;
  certificate.der = std::move(der);
  certificate.source = source;
  certificate.added = absl::Now();
  answer.certificates.push_back(std::move(certificate));
}

void LdapSource::Impl::ReadEntry(LDAP* ld, LDAPMessage* entry, const std::string& source,
                                 Answer& answer) {
  BerElement* raw_ber = nullptr;
  for (AttributeNamePtr name(ldap_first_attribute(ld, entry, &raw_ber)); name != nullptr;
       name.reset(ldap_next_attribute(ld, entry, raw_ber))) {
    const std::string base = BaseAttributeName(name.get());
    const bool single = base == "usercertificate";
    const bool bundle = base == "usersmimecertificate";
    if (!single && !bundle) continue;
    ValuesPtr values(ldap_get_values_len(ld, entry, name.get()));
    if (values == nullptr) continue;
    for (berval** value = values.get(); *value != nullptr; ++value) {
      const auto* data = reinterpret_cast<const unsigned char*>((*value)->bv_val);
      const size_t size = (*value)->bv_len;
      const size_t limit = single ? options_.max_certificate_bytes
                                  : options_.max_certificate_bytes * kMaxCertificatesPerBundle;
      if (size > limit) {
        ++answer.skipped_values;
        continue;
      }
      const unsigned char* p = data;
      if (single) {
        X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(size)));
        // Trailing bytes make it something else than a certificate.
        if (certificate == nullptr || p != data + size) {
          ++answer.skipped_values;
          continue;
        }
        AddCertificate(std::string(reinterpret_cast<const char*>(data), size), source, answer);
        continue;
      }
      Pkcs7Ptr pkcs7(d2i_PKCS7(nullptr, &p, static_cast<long>(size)));
      if (pkcs7 == nullptr || p != data + size || !PKCS7_type_is_signed(pkcs7.get()) ||
          pkcs7->d.sign == nullptr || pkcs7->d.sign->cert == nullptr ||
          sk_X509_num(pkcs7->d.sign->cert) == 0) {
        ++answer.skipped_values;
        continue;
      }
      for (int i = 0; i < sk_X509_num(pkcs7->d.sign->cert); ++i) {
        X509* certificate = sk_X509_value(pkcs7->d.sign->cert, i);
        std::string bytes = DerOf<X509, i2d_X509>(certificate);
        if (bytes.empty() || bytes.size() > options_.max_certificate_bytes) {
          ++answer.skipped_values;
          continue;
        }
        AddCertificate(std::move(bytes), source, answer);
      }
    }
  }
  if (raw_ber != nullptr) BerPtr ber(raw_ber);
}

int LdapSource::Impl::Search(LDAP* ld, const Server& server, const std::string& filter,
                             absl::Time deadline, Answer& answer) {
  char certificate_binary[] = "userCertificate;binary";
  char certificate[] = "userCertificate";
  char smime[] = "userSMIMECertificate";
  char* attributes[] = {certificate_binary, certificate, smime, nullptr};
  timeval search_time = TimeLeft(deadline);
  // Also for the server's own wait for the answer's parts, which
  // LDAP_OPT_TIMEOUT bounds.
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &search_time);
  LDAPMessage* raw = nullptr;
  ++answer.searches;
  int rc =
      ldap_search_ext_s(ld, options_.base_dn.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                        attributes, 0, nullptr, nullptr, &search_time,
                        static_cast<int>(std::min<size_t>(options_.max_entries, 1 << 20)), &raw);
  MessagePtr result(raw);
  // The size limit cuts the answer short; what came is an answer.
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED && rc != LDAP_ADMINLIMIT_EXCEEDED) {
    return rc;
  }
  const std::string source = absl::StrCat("ldap ", server.url);
  size_t entries = 0;
  for (LDAPMessage* entry = ldap_first_entry(ld, result.get());
       entry != nullptr && entries < options_.max_entries;
       entry = ldap_next_entry(ld, entry), ++entries) {
    ReadEntry(ld, entry, source, answer);
  }
  return LDAP_SUCCESS;
}

void LdapSource::Impl::Ask(Server& server, const std::string& filter, absl::Time deadline,
                           Answer& answer) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    LdapPtr ld;
    bool reused = false;
    {
      std::lock_guard lock(server.mu);
      if (!server.idle.empty()) {
        ld = std::move(server.idle.back());
        server.idle.pop_back();
        reused = true;
      }
    }
    if (!reused) {
      absl::StatusOr<LdapPtr> connected = Connect(server, deadline);
      if (!connected.ok()) {
        answer.failure = std::string(connected.status().message());
        return;
      }
      ld = *std::move(connected);
    }
    answer.certificates.clear();
    const int rc = Search(ld.get(), server, filter, deadline, answer);
    if (rc == LDAP_SUCCESS) {
      answer.answered = true;
      std::lock_guard lock(server.mu);
      if (server.idle.size() < kMaxIdleConnections) server.idle.push_back(std::move(ld));
      return;
    }
    // A kept connection the server has closed since (restarted, idle
    // timeout) is worth one fresh try; anything else is the server's answer
    // or its silence. Either way the connection is dropped: after a timeout
    // its state is unknown.
    if (reused && rc == LDAP_SERVER_DOWN && absl::Now() < deadline) continue;
    answer.failure = Describe(rc, "searching");
    return;
  }
}

bool LdapSource::Impl::CacheLookup(const std::string& address,
                                   std::vector<DirectoryCertificate>& out) {
  auto it = cache_.find(address);
  if (it == cache_.end()) return false;
  if (absl::Now() >= it->second.expires) {
    lru_.erase(it->second.position);
    cache_.erase(it);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second.position);
  out = it->second.certificates;
  return true;
}

void LdapSource::Impl::CacheStore(const std::string& address,
                                  const std::vector<DirectoryCertificate>& found) {
  if (options_.max_cached_addresses == 0 || options_.cache_ttl <= absl::ZeroDuration()) return;
  auto it = cache_.find(address);
  if (it != cache_.end()) {
    lru_.erase(it->second.position);
    cache_.erase(it);
  }
  while (cache_.size() >= options_.max_cached_addresses) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(address);
  cache_.emplace(address, CacheEntry{found, absl::Now() + options_.cache_ttl, lru_.begin()});
}

absl::StatusOr<std::vector<DirectoryCertificate>> LdapSource::Impl::Find(
    absl::string_view address) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeAddress(address));
  {
    std::lock_guard lock(mu_);
    ++counters_.lookups;
    std::vector<DirectoryCertificate> cached;
    if (CacheLookup(normalized, cached)) {
      ++counters_.cache_hits;
      return cached;
    }
  }
  // RFC 4515: the address's '*', '(', ')', '\' and NUL as \XX escapes, so
  // that it matches only itself. mail is a case-ignoring attribute
  // (caseIgnoreIA5Match), so the lower-cased address finds "Alice@...".
  berval in{normalized.size(), normalized.data()};
  berval escaped{};
  if (ldap_bv2escaped_filter_value(&in, &escaped) != 0) {
    return absl::InternalError("cannot escape an address for an LDAP filter");
  }
  const std::string filter =
      absl::StrCat("(mail=", absl::string_view(escaped.bv_val, escaped.bv_len), ")");
  ber_memfree(escaped.bv_val);

  ScopedSigpipeBlock no_sigpipe;
  std::vector<std::string> failures;
  for (const std::unique_ptr<Server>& server : servers_) {
    Answer answer;
    Ask(*server, filter, absl::Now() + options_.timeout, answer);
    std::lock_guard lock(mu_);
    counters_.searches += answer.searches;
    counters_.skipped_values += answer.skipped_values;
    if (answer.answered) {
      CacheStore(normalized, answer.certificates);
      return std::move(answer.certificates);
    }
    ++counters_.server_failures;
    failures.push_back(absl::StrCat(server->url, ": ", answer.failure));
  }
  return absl::UnavailableError(absl::StrCat("no LDAP server answered for ", normalized, ": ",
                                             absl::StrJoin(failures, "; ")));
}

absl::StatusOr<std::unique_ptr<LdapSource>> LdapSource::Create(LdapSourceOptions options) {
  if (options.urls.empty()) return absl::InvalidArgumentError("no LDAP server URL");
  for (const std::string& url : options.urls) RETURN_IF_ERROR(CheckUrl(url));
  if (options.base_dn.empty()) return absl::InvalidArgumentError("no LDAP base DN");
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the LDAP timeout must be positive");
  }
  if (options.max_entries == 0 || options.max_certificate_bytes == 0) {
    return absl::InvalidArgumentError("max_entries and max_certificate_bytes must be positive");
  }
  if (options.bind_dn.empty() != options.bind_password_file.empty()) {
    return absl::InvalidArgumentError(
        "an LDAP bind DN needs a bind password file and the other way round");
  }
  SecretString password;
  if (!options.bind_password_file.empty()) {
    ASSIGN_OR_RETURN(password, ReadPasswordFile(options.bind_password_file));
  }
  return std::unique_ptr<LdapSource>(
      new LdapSource(std::make_unique<Impl>(std::move(options), std::move(password))));
}

LdapSource::LdapSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LdapSource::~LdapSource() = default;

absl::StatusOr<std::vector<DirectoryCertificate>> LdapSource::Find(absl::string_view address) {
  return impl_->Find(address);
}

LdapSourceCounters LdapSource::counters() const { return impl_->counters(); }

}  // namespace signet::directory
