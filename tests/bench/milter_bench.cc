#include "tests/bench/milter_bench.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "signet/v1/directory.grpc.pb.h"
#include "tests/bench/process_stats.h"
#include "tests/fixtures/postfix.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/smtp_client.h"
#include "tests/fixtures/smtp_sink.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::bench {
namespace {

constexpr char kSender[] = "statements@bank.example";
constexpr char kRecipient[] = "customer@example.org";
constexpr char kClearText[] = "Balance on 6 December";

// As signet_milter_test's: the milter (this process's uid, as its child)
// signs with bank-signing and encrypts, looking recipients up.
constexpr char kCallers[] = R"pb(
  callers {
    name: "milter"
    unix_uid: $UID
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { operations: [ ENCRYPT_MAIL, LOOKUP_CERTIFICATES, PUBLISH_CERTIFICATES ] }
  }
)pb";

std::string Statement(size_t bytes) {
  std::string mail =
      absl::StrCat("From: Statements <", kSender, ">\r\n", "To: <", kRecipient, ">\r\n",
                   "Subject: Your statement\r\n", "Message-ID: <statement@bank.example>\r\n",
                   "Date: Sun, 06 Dec 2026 01:00:00 +0000\r\n", "MIME-Version: 1.0\r\n",
                   "Content-Type: text/plain; charset=us-ascii\r\n", "\r\n");
  const std::string line = absl::StrCat(kClearText, ": 1,234.56 EUR. Thank you for banking.\r\n");
  while (mail.size() + line.size() <= bytes) mail += line;
  if (bytes >= mail.size() + 2) {
    mail.append(bytes - mail.size() - 2, 'x');
    mail += "\r\n";
  }
  return mail;
}

// A path through Postfix: which milter, if any, and what a delivered mail
// must look like.
struct Path {
  std::string impl;
  std::string op;
  // signet-milter's outbound action; empty: no milter.
  std::string action;
};

const std::vector<Path>& Paths() {
  static const std::vector<Path> paths = {
      {"postfix", "relay", ""},
      {"postfix+milter", "sign", "SIGN"},
      {"postfix+milter", "sign+encrypt", "SIGN_AND_ENCRYPT_IF_POSSIBLE"},
  };
  return paths;
}

absl::Status CheckDelivered(const Path& path, const std::string& data) {
  bool ok = false;
  if (path.op == "relay") {
    ok = absl::StrContains(data, kClearText) && !absl::StrContains(data, "pkcs7");
  } else if (path.op == "sign") {
    ok = absl::StrContains(data, "multipart/signed") && absl::StrContains(data, kClearText);
  } else {
    ok = absl::StrContains(data, "application/pkcs7-mime") && !absl::StrContains(data, kClearText);
  }
  if (ok) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("a mail delivered by path ", path.op,
                                          " is not what it should be; its start:\n",
                                          data.substr(0, 600)));
}

// CPU seconds of a process (utime + stime, fields 14 and 15 of
// /proc/<pid>/stat), with its reaped children's (cutime + cstime, 16 and 17).
double CpuWithReapedChildren(pid_t pid) {
  std::ifstream stat_file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat_file, line)) return 0;
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long ticks = 0;
  for (int i = 3; i <= 17 && rest >> field; ++i) {
    if (i >= 14) ticks += std::stoull(field);
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Every Postfix process of an instance: those alive, and through master's
// reaped children those that exited (master reaps its daemons).
double PostfixCpu(const fixtures::PostfixInstance& postfix) {
  double seconds = 0;
  for (pid_t pid : fixtures::LiveProcessesInGroup(postfix.pid())) {
    seconds += CpuWithReapedChildren(pid);
  }
  return seconds;
}

// Postfix's own account of where delivered mails waited: the median of
// each part of "delays=a/b/c/d" over the maillog's status=sent lines (a:
// before the queue manager, including the milter and cleanup's fsync; b:
// in the queue manager; c: connecting to the sink; d: transmission).
std::vector<double> PostfixDelayMedians(const std::string& log) {
  std::vector<std::vector<double>> parts(4);
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (!absl::StrContains(line, "status=sent")) continue;
    const size_t at = line.find("delays=");
    if (at == std::string::npos) continue;
    std::istringstream delays(line.substr(at + 7));
    for (std::vector<double>& part : parts) {
      double value = 0;
      char slash = 0;
      if (!(delays >> value)) break;
      part.push_back(value);
      delays >> slash;
    }
  }
  std::vector<double> medians;
  for (std::vector<double>& part : parts) {
    if (part.empty()) return {};
    std::nth_element(part.begin(), part.begin() + part.size() / 2, part.end());
    medians.push_back(part[part.size() / 2]);
  }
  return medians;
}

struct MachineTimes {
  double busy = 0;    // user, nice, system, irq, softirq, steal
  double iowait = 0;  // idle with I/O outstanding
};

MachineTimes ReadMachineTimes() {
  std::ifstream stat_file("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  stat_file >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {.busy = static_cast<double>(user + nice + system + irq + softirq + steal) / hz,
          .iowait = static_cast<double>(iowait) / hz};
}

double LoadAverage1m() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  file >> load;
  return load;
}

struct Milter {
  std::unique_ptr<fixtures::ChildProcess> process;
  std::string socket;
  std::string log;
};

absl::StatusOr<Milter> StartMilter(const MilterBenchOptions& options, const fixtures::TempDir& dir,
                                   const fixtures::SignetdEnv& env, const Path& path) {
  const std::string name = path.op == "sign" ? "sign" : "encrypt";
  Milter milter{.socket = dir.File(absl::StrCat("milter-", name, ".sock")),
                .log = dir.File(absl::StrCat("milter-", name, ".log"))};
  const std::string config = dir.File(absl::StrCat("milter-", name, ".textproto"));
  std::ofstream(config) << absl::StrCat(
      "listen: \"unix:", milter.socket, "\"\n", "listen_mode: 0666\n", "signetd { socket: \"",
      env.socket(), "\" }\n", "authserv_id: \"mx.bank.example\"\n",
      "local_domains: \"bank.example\"\n", "outbound {\n", "  signers { senders: \"", kSender,
      "\" key: \"bank-signing\" }\n", "  recipient_policies { domains: \"*\" action: ", path.action,
      " }\n", "}\n");
  ASSIGN_OR_RETURN(milter.process, fixtures::ChildProcess::Spawn(
                                       {options.milter_path, "--config", config}, {}, milter.log));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  struct stat info = {};
  while (stat(milter.socket.c_str(), &info) != 0) {
    if (milter.process->TryWait().has_value() || absl::Now() > deadline) {
      return absl::InternalError(absl::StrCat(
          "signet-milter (", path.op, ") did not listen: ", fixtures::ReadFile(milter.log)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return milter;
}

struct Submitted {
  uint64_t accepted = 0;
  uint64_t refused = 0;
  std::string first_error;
  LatencyHistogram latency;
};

// `clients` threads hand `stuffed` (fixtures::DotStuff's) to smtpd one session after
// another until `duration` has passed; a session begun before then still
// counts.
Submitted Submit(int port, const std::string& stuffed, int clients, Clock::duration duration) {
  const Clock::time_point end = Clock::now() + duration;
  Submitted total;
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      Submitted mine;
      while (Clock::now() < end) {
        const Clock::time_point begun = Clock::now();
        absl::StatusOr<fixtures::SmtpReply> reply =
            fixtures::SendStuffedMail(port, kSender, {kRecipient}, stuffed, absl::Minutes(2));
        const Clock::time_point done = Clock::now();
        if (reply.ok() && reply->code == 250) {
          ++mine.accepted;
          mine.latency.Record(
              std::chrono::duration_cast<std::chrono::nanoseconds>(done - begun).count());
          continue;
        }
        ++mine.refused;
        if (mine.first_error.empty()) {
          mine.first_error = reply.ok()
                                 ? absl::StrCat(reply->command, ": ", reply->code, " ", reply->text)
                                 : reply.status().ToString();
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      total.accepted += mine.accepted;
      total.refused += mine.refused;
      if (total.first_error.empty()) total.first_error = mine.first_error;
      total.latency.Merge(mine.latency);
    });
  }
  for (std::thread& thread : threads) thread.join();
  return total;
}

// Waits until the sink has received `count` more mails; returns the first.
absl::StatusOr<fixtures::SinkMessage> Drain(fixtures::SmtpSink& sink, uint64_t count) {
  fixtures::SinkMessage first;
  for (uint64_t i = 0; i < count; ++i) {
    absl::StatusOr<fixtures::SinkMessage> message = sink.WaitForMessage(absl::Seconds(120));
    if (!message.ok()) {
      return absl::DeadlineExceededError(
          absl::StrCat("the sink received ", i, " of ", count, " accepted mails"));
    }
    if (i == 0) first = std::move(*message);
  }
  return first;
}

// A delivery to the sink took some 40 ms even for 4 KiB (the transmission
// part of Postfix's "delays=", 0.04-0.05 s; why was not looked into), so
// at Postfix's default of 20 deliveries at once to one destination,
// Postfix alone delivered 4 KiB mails at about 420/s while accepting twice
// that, its queue growing and the CPUs half idle: the sink, not Postfix,
// set the rate. Up to 100 deliveries at once take it out of the way. The
// caller's lines come after, and so override these.
std::vector<std::string> MainCf(const MilterBenchOptions& options) {
  std::vector<std::string> lines = {"default_destination_concurrency_limit = 100",
                                    "initial_destination_concurrency = 100"};
  lines.insert(lines.end(), options.postfix_main_cf.begin(), options.postfix_main_cf.end());
  return lines;
}

absl::StatusOr<Point> Measure(const MilterBenchOptions& options, const fixtures::TempDir& dir,
                              const fixtures::SignetdEnv& env, const Path& path,
                              const Milter* milter, const std::string& mail) {
  const std::string name = absl::StrCat(path.op, "-", mail.size());
  ASSIGN_OR_RETURN(std::unique_ptr<fixtures::SmtpSink> sink,
                   fixtures::SmtpSink::Start(dir.File(absl::StrCat("sink-", name))));
  ASSIGN_OR_RETURN(std::unique_ptr<fixtures::PostfixInstance> postfix,
                   fixtures::PostfixInstance::Start(
                       {.relay_port = sink->port(),
                        .milters = milter == nullptr ? "" : absl::StrCat("unix:", milter->socket),
                        .extra_main_cf = MainCf(options)}));
  auto failed = [&](const std::string& what, const Submitted& submitted) {
    return absl::InternalError(absl::StrCat(
        name, ": ", what, ": ", submitted.accepted, " accepted, ", submitted.refused, " refused (",
        submitted.first_error, ")\n", milter == nullptr ? "" : fixtures::ReadFile(milter->log)));
  };

  // Warm-up: smtpd, cleanup, qmgr and smtp processes forked, the milter's
  // and signetd's connections made; everything delivered before measuring.
  const std::string stuffed = fixtures::DotStuff(mail);
  Submitted warm = Submit(postfix->smtp_port(), stuffed, options.clients, options.timing.warmup);
  if (warm.accepted == 0 || warm.refused != 0) return failed("warm-up", warm);
  RETURN_IF_ERROR(Drain(*sink, warm.accepted).status());

  const pid_t milter_pid = milter == nullptr ? 0 : milter->process->Pid();
  const double signetd_before = CpuWithReapedChildren(env.pid());
  const double milter_before = milter == nullptr ? 0 : CpuWithReapedChildren(milter_pid);
  const double postfix_before = PostfixCpu(*postfix);
  const MachineTimes machine_before = ReadMachineTimes();
  const double bench_before = CpuWithReapedChildren(getpid());
  const Clock::time_point start = Clock::now();
  Submitted measured =
      Submit(postfix->smtp_port(), stuffed, options.clients, options.timing.measure);
  const Clock::time_point submitted = Clock::now();
  if (measured.accepted == 0 || measured.refused != 0) return failed("measured", measured);
  ASSIGN_OR_RETURN(fixtures::SinkMessage first, Drain(*sink, measured.accepted));
  const Clock::time_point delivered = Clock::now();
  const double postfix_after = PostfixCpu(*postfix);
  const MachineTimes machine_after = ReadMachineTimes();
  const double bench_after = CpuWithReapedChildren(getpid());
  const double signetd_after = CpuWithReapedChildren(env.pid());
  const double milter_after = milter == nullptr ? 0 : CpuWithReapedChildren(milter_pid);
  RETURN_IF_ERROR(CheckDelivered(path, first.data));
  // postlogd writes a moment after the delivery.
  absl::SleepFor(absl::Milliseconds(300));
  const std::vector<double> delays = PostfixDelayMedians(postfix->Log());

  Point point{.impl = path.impl,
              .transport = "smtp",
              .op = path.op,
              .algorithm = milter == nullptr ? "" : "RSA-2048",
              .token = milter == nullptr ? "" : "softhsm",
              .mail_bytes = mail.size(),
              .concurrency = options.clients};
  point.load.requests = measured.accepted;
  point.load.all_completed = measured.accepted;
  point.load.seconds = std::chrono::duration<double>(delivered - start).count();
  point.load.latency = measured.latency;
  const double mails = static_cast<double>(measured.accepted);
  const double wall = point.load.seconds;
  const double window = std::chrono::duration<double>(submitted - start).count();
  point.server_cpu_seconds_per_1000 = (signetd_after - signetd_before) / mails * 1000;
  if (absl::StatusOr<ProcessStats> stats = ReadProcessStats(env.pid()); stats.ok()) {
    point.server_peak_rss_kib = stats->peak_rss_kib;
  }
  const double cpus = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  point.extra = {
      {"accepted_per_second", mails / window},
      {"submit_seconds", window},
      {"cpu_ms_per_mail_signetd", (signetd_after - signetd_before) / mails * 1000},
      {"cpu_ms_per_mail_signet_milter", (milter_after - milter_before) / mails * 1000},
      {"cpu_ms_per_mail_postfix", (postfix_after - postfix_before) / mails * 1000},
      {"cpu_ms_per_mail_bench", (bench_after - bench_before) / mails * 1000},
      {"cpu_ms_per_mail_machine", (machine_after.busy - machine_before.busy) / mails * 1000},
      {"iowait_ms_per_mail_machine", (machine_after.iowait - machine_before.iowait) / mails * 1000},
      {"machine_busy_fraction", (machine_after.busy - machine_before.busy) / (wall * cpus)},
  };
  const char* kDelayNames[] = {"before_qmgr", "in_qmgr", "connect", "transmit"};
  for (size_t i = 0; i < delays.size(); ++i) {
    point.extra[absl::StrCat("postfix_delay_p50_", kDelayNames[i], "_s")] = delays[i];
  }
  if (delays.size() == 4) {
    std::fprintf(stderr,
                 "bench: milter: %-12s %7zu B: Postfix's delays (p50, s): before qmgr %.2f, in "
                 "qmgr %.2f, connect %.2f, transmit %.2f\n",
                 path.op.c_str(), mail.size(), delays[0], delays[1], delays[2], delays[3]);
  }
  std::fprintf(stderr,
               "bench: milter: %-12s %7zu B: %llu mails, accepted %.1f/s over %.1f s, all "
               "delivered after %.1f s (%.1f/s); CPU ms per mail: signetd %.2f, signet-milter "
               "%.2f, postfix %.2f, bench's clients and sink %.2f, machine %.2f (busy %.0f%% of %g "
               "CPUs), iowait %.2f\n",
               path.op.c_str(), mail.size(), static_cast<unsigned long long>(measured.accepted),
               mails / window, window, wall, point.load.per_second(),
               point.extra["cpu_ms_per_mail_signetd"], point.extra["cpu_ms_per_mail_signet_milter"],
               point.extra["cpu_ms_per_mail_postfix"], point.extra["cpu_ms_per_mail_bench"],
               point.extra["cpu_ms_per_mail_machine"], 100 * point.extra["machine_busy_fraction"],
               cpus, point.extra["iowait_ms_per_mail_machine"]);
  postfix.reset();
  sink.reset();
  return point;
}

}  // namespace

absl::Status RunMilterComparison(const MilterBenchOptions& options, BenchResults& results) {
  if (geteuid() != 0) {
    return absl::FailedPreconditionError("--only milter needs root (a private Postfix)");
  }
  results.SetSetting("milter_load_average_1m", LoadAverage1m());
  results.SetSetting("milter_clients", options.clients);
  results.SetSetting("milter_cpus", static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)));
  ASSIGN_OR_RETURN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-milter-bench"));
  // smtpd connects to the milters' sockets as the postfix user.
  if (chmod(dir.path().c_str(), 0755) != 0) return absl::InternalError("chmod");
  ASSIGN_OR_RETURN(std::unique_ptr<fixtures::SignetdEnv> env,
                   fixtures::SignetdEnv::Start(
                       {.signetd_path = options.signetd_path,
                        .callers = kCallers,
                        .extra_config = "validation { revocation: REVOCATION_OFF }\n"
                                        "directory { store_path: \"$DIR/directory.db\" }"}));
  // The recipient's certificate, from the bank's CA (which signetd trusts
  // for recipients), in signetd's directory.
  ASSIGN_OR_RETURN(EvpPkeyPtr customer_key, fixtures::GenerateKey("RSA:2048"));
  ASSIGN_OR_RETURN(X509Ptr customer,
                   env->ca().Issue(customer_key.get(), "Customer", kRecipient,
                                   {.key_usage = "critical,digitalSignature,keyEncipherment"}));
  {
    auto directory = v1::Directory::NewStub(fixtures::UnixChannel(*env));
    grpc::ClientContext context;
    v1::PublishRequest request;
    ASSIGN_OR_RETURN(std::string der, fixtures::ToDer(customer.get()));
    request.set_certificate(der);
    v1::PublishResponse response;
    grpc::Status published = directory->Publish(&context, request, &response);
    if (!published.ok()) {
      return absl::InternalError(absl::StrCat("Publish: ", published.error_message()));
    }
  }
  std::map<std::string, Milter> milters;
  for (const Path& path : Paths()) {
    if (path.action.empty()) continue;
    ASSIGN_OR_RETURN(milters[path.op], StartMilter(options, dir, *env, path));
  }

  for (size_t bytes : options.mail_bytes) {
    const std::string mail = Statement(bytes);
    double alone = 0;
    for (const Path& path : Paths()) {
      auto it = milters.find(path.op);
      ASSIGN_OR_RETURN(Point point, Measure(options, dir, *env, path,
                                            it == milters.end() ? nullptr : &it->second, mail));
      if (path.action.empty()) {
        alone = point.load.per_second();
      } else {
        const double ratio = point.load.per_second() / alone;
        std::fprintf(stderr, "bench: milter: %s ÷ Postfix alone at %zu B: %.2f\n", path.op.c_str(),
                     mail.size(), ratio);
        results.SetSetting(absl::StrCat("milter_ratio_", path.op, "_", mail.size()), ratio);
      }
      results.Add(std::move(point));
    }
  }
  return absl::OkStatus();
}

}  // namespace signet::bench
