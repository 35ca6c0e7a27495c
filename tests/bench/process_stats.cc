#include "tests/bench/process_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace signet::bench {

absl::StatusOr<ProcessStats> ReadProcessStats(pid_t pid) {
  ProcessStats stats;
  std::ifstream stat_file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat_file, line)) return absl::NotFoundError(absl::StrCat("no process ", pid));
  // The command name (field 2) may hold spaces; the fields after its ")"
  // start at field 3. utime and stime are fields 14 and 15.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  stats.cpu_seconds =
      static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status_file(absl::StrCat("/proc/", pid, "/status"));
  while (std::getline(status_file, line)) {
    if (line.rfind("VmHWM:", 0) == 0) stats.peak_rss_kib = std::stol(line.substr(6));
  }
  if (DIR* tasks = opendir(absl::StrCat("/proc/", pid, "/task").c_str())) {
    while (dirent* task = readdir(tasks)) {
      if (task->d_name[0] == '.') continue;
      std::ifstream task_status(absl::StrCat("/proc/", pid, "/task/", task->d_name, "/status"));
      while (std::getline(task_status, line)) {
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
            line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
          stats.context_switches += std::stoull(line.substr(line.find(':') + 1));
        }
      }
    }
    closedir(tasks);
  }
  return stats;
}

}  // namespace signet::bench
