#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace signet {
namespace {

std::mutex& SinkMutex() {
  static std::mutex mutex;
  return mutex;
}

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

void StderrSink(LogLevel level, absl::string_view message) {
  std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::fprintf(stderr, "%s %s %.*s\n", time.c_str(), std::string(LevelName(level)).c_str(),
               static_cast<int>(message.size()), message.data());
}

LogSink& Sink() {
  static auto* sink = new LogSink(StderrSink);
  return *sink;
}

std::atomic<LogLevel> min_level{LogLevel::kInfo};

}  // namespace

LogSink SetLogSink(LogSink sink) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  LogSink previous = std::move(Sink());
  Sink() = sink ? std::move(sink) : LogSink(StderrSink);
  return previous;
}

void SetMinLogLevel(LogLevel level) { min_level.store(level); }

bool LogEnabled(LogLevel level) { return level >= min_level.load(); }

void Log(LogLevel level, absl::string_view message) {
  if (!LogEnabled(level)) return;
  std::lock_guard<std::mutex> lock(SinkMutex());
  Sink()(level, message);
}

}  // namespace signet
